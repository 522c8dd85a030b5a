package gctune

import (
	"io/fs"
	"testing"
)

func TestChoose(t *testing.T) {
	const gib = int64(1) << 30
	tests := []struct {
		name      string
		env       map[string]string
		files     map[string]string
		wantGC    bool
		wantLimit int64
		wantFrom  string
	}{
		{name: "no cgroup limit", wantGC: true},
		{name: "cgroup v2 limit", files: map[string]string{"/sys/fs/cgroup/memory.max": "1073741824\n"},
			wantGC: true, wantLimit: gib / 100 * LimitPercent, wantFrom: "/sys/fs/cgroup/memory.max"},
		{name: "cgroup v2 unlimited", files: map[string]string{"/sys/fs/cgroup/memory.max": "max\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824"}, wantGC: true},
		{name: "cgroup v1 limit", files: map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912\n"},
			wantGC: true, wantLimit: gib / 2 / 100 * LimitPercent, wantFrom: "/sys/fs/cgroup/memory/memory.limit_in_bytes"},
		{name: "cgroup v1 unlimited", files: map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712"}, wantGC: true},
		{name: "garbage", files: map[string]string{"/sys/fs/cgroup/memory.max": "lots"}, wantGC: true},
		{name: "GOGC set", env: map[string]string{"GOGC": "100"}},
		{name: "GOMEMLIMIT set", env: map[string]string{"GOMEMLIMIT": "100MiB"},
			files: map[string]string{"/sys/fs/cgroup/memory.max": "1073741824"}, wantGC: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			read := func(name string) ([]byte, error) {
				if v, ok := tt.files[name]; ok {
					return []byte(v), nil
				}
				return nil, fs.ErrNotExist
			}
			s := Choose(lookup, read)
			if s.SetGC != tt.wantGC || (s.SetGC && s.GCPercent != DefaultGCPercent) {
				t.Errorf("GC: set %v percent %d, want set %v", s.SetGC, s.GCPercent, tt.wantGC)
			}
			if s.MemoryLimit != tt.wantLimit || s.LimitSource != tt.wantFrom {
				t.Errorf("limit %d from %q, want %d from %q", s.MemoryLimit, s.LimitSource, tt.wantLimit, tt.wantFrom)
			}
			if s.String() == "" {
				t.Error("empty description")
			}
		})
	}
}

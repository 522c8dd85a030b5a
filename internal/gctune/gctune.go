// Package gctune sets the garbage collector for a decision server: a higher
// GOGC than Go's default, so a steady stream of small decisions triggers
// fewer collections competing with the requests for the CPU, bounded by a
// soft memory limit taken from the container's cgroup when there is one.
// Explicit GOGC and GOMEMLIMIT environment variables always win.
package gctune

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// DefaultGCPercent is the GOGC Gatehouse runs with unless GOGC is set: half
// as many collections as GOGC=100. Measured under load (docs/benchmarks.md,
// 2026-12-07), 400 saved ~5 µs of CPU per decision over 200 but took the RSS
// peak from 63 to 77 MiB, against a budget of 80.
const DefaultGCPercent = 200

// LimitPercent is the share of the cgroup's memory limit used as the soft
// memory limit: the rest is headroom for stacks, the runtime and the page
// cache the kernel charges to the container.
const LimitPercent = 90

// Cgroup memory limit files: v2 (unified) first, then v1.
var limitFiles = []string{
	"/sys/fs/cgroup/memory.max",
	"/sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// Settings are what Choose decided, for the start-up log.
type Settings struct {
	// GCPercent is the GOGC to set; SetGC is false when GOGC is in the
	// environment (the runtime already applied it).
	GCPercent int
	SetGC     bool
	// MemoryLimit is the soft limit in bytes to set; 0 leaves the runtime's
	// (GOMEMLIMIT or none). LimitSource names where it came from.
	MemoryLimit int64
	LimitSource string
}

// Choose decides the settings from the environment (lookup) and the cgroup
// limit files read through readFile.
func Choose(lookup func(string) (string, bool), readFile func(string) ([]byte, error)) Settings {
	var s Settings
	if _, ok := lookup("GOGC"); !ok {
		s.GCPercent, s.SetGC = DefaultGCPercent, true
	}
	if _, ok := lookup("GOMEMLIMIT"); ok {
		return s
	}
	for _, f := range limitFiles {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		if limit, ok := parseLimit(b); ok {
			s.MemoryLimit = limit / 100 * LimitPercent
			s.LimitSource = f
		}
		break
	}
	return s
}

// parseLimit reads a cgroup memory limit: a byte count, or "max" (v2) / a
// page-rounded huge number (v1) for none.
func parseLimit(b []byte) (int64, bool) {
	v := strings.TrimSpace(string(b))
	if v == "" || v == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n >= math.MaxInt64/2 {
		return 0, false
	}
	return n, true
}

// Apply chooses the settings from the environment (os.LookupEnv in a real
// process) and this machine's cgroup, and sets them for the process.
func Apply(lookup func(string) (string, bool)) Settings {
	s := Choose(lookup, os.ReadFile)
	if s.SetGC {
		debug.SetGCPercent(s.GCPercent)
	}
	if s.MemoryLimit > 0 {
		debug.SetMemoryLimit(s.MemoryLimit)
	}
	return s
}

// String describes the settings for a log line.
func (s Settings) String() string {
	gc := "GOGC from the environment"
	if s.SetGC {
		gc = fmt.Sprintf("GOGC=%d", s.GCPercent)
	}
	if s.MemoryLimit > 0 {
		return fmt.Sprintf("%s, soft memory limit %d MiB (%d %% of %s)", gc, s.MemoryLimit>>20, LimitPercent, s.LimitSource)
	}
	return gc + ", no soft memory limit from the cgroup"
}

// Settle collects the garbage start-up left (policy compilation, migrations,
// key loading) and returns the freed memory to the OS. Call it once the
// process is built and before it serves: with a high GOGC the first heap goal
// is a multiple of the heap at the last collection, and if that collection
// ran during start-up, the goal, and the RSS, would be inflated by start-up
// garbage until the next cycle.
func Settle() { debug.FreeOSMemory() }

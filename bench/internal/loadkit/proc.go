package loadkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime/stime in /proc/<pid>/stat. The kernel reports
// USER_HZ, which is 100 on every Linux architecture Go supports, whatever
// the kernel's own tick rate.
const userHZ = 100

// ProcSample is one reading of a process's CPU time and memory.
type ProcSample struct {
	CPU    time.Duration // utime + stime
	RSSKiB int64         // VmRSS: resident now
	HWMKiB int64         // VmHWM: resident peak since start or ResetPeak
}

// SampleProc reads /proc/<pid>/stat and /proc/<pid>/status.
func SampleProc(pid int) (ProcSample, error) {
	var s ProcSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read stat: %w", err)
	}
	// The command name may contain spaces and parentheses: the fields we
	// want are counted from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	// After ')': f[0] is field 3 (state), so utime (14) is f[11], stime f[12].
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("parse /proc/%d/stat times: %v %v", pid, err1, err2)
	}
	s.CPU = time.Duration(utime+stime) * time.Second / userHZ

	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read status: %w", err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSSKiB = kib(v)
		case "VmHWM":
			s.HWMKiB = kib(v)
		}
	}
	return s, sc.Err()
}

func kib(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n
}

// ResetPeak resets VmHWM to the current RSS (clear_refs "5", Linux ≥ 4.0),
// so each scenario's peak is its own. Best effort: when it fails the peak is
// since process start, and the report says so.
func ResetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// MachineSummary names the CPU, its count, the memory and the Go version,
// for the report header.
func MachineSummary() string {
	model, mem := "unknown CPU", "unknown memory"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				mem = fmt.Sprintf("%.1f GiB", float64(kib(v))/(1<<20))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s, %s %s/%s", model, runtime.NumCPU(), mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Idle thresholds: a server is idle when it used less than idleCPU in
// idleWindow; WaitIdle waits at most idleTimeout.
const (
	idleWindow  = 250 * time.Millisecond
	idleCPU     = 5 * time.Millisecond // 2 % of one vCPU
	idleTimeout = 30 * time.Second
)

// WaitIdle waits until every server has gone quiet. A peer overloaded by
// the scenario before (OPA-Envoy at a fixed 2,000 req/s) goes on working
// through its queue after the load generator has stopped, and measured the
// next server's scenario with it; each scenario now starts on a quiet
// machine. It gives up after idleTimeout and reports which server was busy.
func WaitIdle(ctx context.Context, servers []*Server) error {
	deadline := time.Now().Add(idleTimeout)
	for _, s := range servers {
		for {
			before, err := SampleProc(s.PID())
			if err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(idleWindow):
			}
			after, err := SampleProc(s.PID())
			if err != nil {
				return err
			}
			if after.CPU-before.CPU < idleCPU {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s still busy after %s (%v of CPU in %v)", s.Name, idleTimeout, after.CPU-before.CPU, idleWindow)
			}
		}
	}
	return nil
}

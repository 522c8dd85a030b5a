package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer records every Write it gets.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) snapshot() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestWriterKeepsLinesWholeAndInOrder(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, time.Millisecond, 512)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer %d line %04d %s\n", g, i, strings.Repeat("x", 40))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, writes := out.snapshot()
	all := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(all) != writers*lines {
		t.Fatalf("%d lines out, want %d", len(all), writers*lines)
	}
	next := make([]int, writers)
	for _, l := range all {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "writer %d line %d %s", &g, &i, &pad); err != nil || len(pad) != 40 {
			t.Fatalf("line torn or mangled: %q", l)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if writes >= writers*lines/4 {
		t.Fatalf("%d writes for %d lines: not batched", writes, writers*lines)
	}
}

func TestWriterHoldsLinesUntilIntervalOrFull(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, time.Hour, 100)
	defer w.Close()
	fmt.Fprintln(w, "short line")
	if got, _ := out.snapshot(); got != "" {
		t.Fatalf("written before the interval: %q", got)
	}
	fmt.Fprintln(w, strings.Repeat("y", 100))
	if got, _ := out.snapshot(); !strings.HasPrefix(got, "short line\n") || len(got) != len("short line\n")+101 {
		t.Fatalf("a full buffer was not written at once: %q", got)
	}
}

func TestWriterFlushesEveryInterval(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, 5*time.Millisecond, 1<<20)
	defer w.Close()
	fmt.Fprintln(w, "soon")
	for range 400 { // up to 2 s: bounded
		if got, _ := out.snapshot(); got == "soon\n" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the line was not written within 2 s with a 5 ms interval")
}

func TestHandlerFlushesWarningsAtOnce(t *testing.T) {
	out := &syncBuffer{}
	w := New(out, time.Hour, 1<<20)
	defer w.Close()
	log := slog.New(Handler(slog.NewJSONHandler(w, nil), w)).With("component", "test")
	log.Info("decision")
	if got, _ := out.snapshot(); got != "" {
		t.Fatalf("an info line was written at once: %q", got)
	}
	log.Warn("store slow")
	got, _ := out.snapshot()
	if !strings.Contains(got, `"msg":"decision"`) || !strings.Contains(got, `"msg":"store slow"`) || !strings.Contains(got, `"component":"test"`) {
		t.Fatalf("a warning did not flush the lines before it and itself: %q", got)
	}
}

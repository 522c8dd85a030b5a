// Package logbuf batches log lines into fewer writes. A decision server
// writes a line per decision; writing each one with its own system call cost
// 8–25 µs of CPU per decision under load (docs/benchmarks.md), more than the
// rest of a cached decision. Lines are kept whole and in order, written at
// least every interval, at once when the buffer fills, and at once after a
// record of FlushLevel or above (warnings and errors are never held back).
// A crash can lose at most the last interval's lines.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer buffers whole writes (log lines) to out.
type Writer struct {
	out io.Writer
	max int

	mu    sync.Mutex // guards buf and spare
	buf   []byte
	spare []byte

	flushMu sync.Mutex // one flush at a time, so lines keep their order

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New starts a Writer that flushes to out every interval and whenever max
// bytes are waiting.
func New(out io.Writer, interval time.Duration, max int) *Writer {
	w := &Writer{out: out, max: max, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(interval)
	return w
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write appends p (one log line); it never fails, a failed flush is the
// flusher's.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= w.max
	w.mu.Unlock()
	if full {
		_ = w.Flush()
	}
	return len(p), nil
}

// Flush writes what is waiting.
func (w *Writer) Flush() error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	b := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.mu.Unlock()
	if len(b) == 0 {
		w.mu.Lock()
		w.spare = b
		w.mu.Unlock()
		return nil
	}
	_, err := w.out.Write(b)
	w.mu.Lock()
	w.spare = b[:0]
	w.mu.Unlock()
	return err
}

// Close stops the flusher and writes what is waiting. Writes after Close
// are kept until the next Flush.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
	})
	return w.Flush()
}

// FlushLevel is the level from which a record is written at once.
const FlushLevel = slog.LevelWarn

// Handler wraps h, which writes to w, so that records of FlushLevel and
// above are flushed as soon as they are handled.
func Handler(h slog.Handler, w *Writer) slog.Handler { return flushing{h, w} }

type flushing struct {
	slog.Handler
	w *Writer
}

func (f flushing) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= FlushLevel {
		if ferr := f.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (f flushing) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushing{f.Handler.WithAttrs(attrs), f.w}
}

func (f flushing) WithGroup(name string) slog.Handler {
	return flushing{f.Handler.WithGroup(name), f.w}
}

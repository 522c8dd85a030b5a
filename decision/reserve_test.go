package decision

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReservedContext(t *testing.T) {
	type ctxKey struct{}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"deadline is reported before arming", func(t *testing.T) {
			dl := time.Now().Add(time.Hour)
			c := withReserve(context.Background(), dl)
			defer c.release()
			if got, ok := c.Deadline(); !ok || !got.Equal(dl) {
				t.Fatalf("Deadline() = %v, %v; want %v, true", got, ok, dl)
			}
			if c.armed.Load() {
				t.Fatal("Deadline armed a timer")
			}
		}},
		{"Err answers without arming", func(t *testing.T) {
			c := withReserve(context.Background(), time.Now().Add(time.Hour))
			if err := c.Err(); err != nil {
				t.Fatalf("Err() = %v before the deadline", err)
			}
			past := withReserve(context.Background(), time.Now().Add(-time.Millisecond))
			if err := past.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Err() = %v after the deadline, want DeadlineExceeded", err)
			}
			if c.armed.Load() || past.armed.Load() {
				t.Fatal("Err armed a timer")
			}
		}},
		{"Done closes at the reserve, not the caller's deadline", func(t *testing.T) {
			parent, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			c := withReserve(parent, time.Now().Add(20*time.Millisecond))
			defer c.release()
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("Done never closed")
			}
			if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
				t.Fatalf("Err() = %v, Cause = %v; want DeadlineExceeded", c.Err(), context.Cause(c))
			}
			if parent.Err() != nil {
				t.Fatal("the caller's context ended with the reserve")
			}
		}},
		{"the caller's cancellation reaches stages, armed or not", func(t *testing.T) {
			parent, cancel := context.WithCancel(context.Background())
			c := withReserve(parent, time.Now().Add(time.Hour))
			defer c.release()
			cancel()
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("Err() = %v, want Canceled", c.Err())
			}
			<-c.Done()
		}},
		{"derived contexts end with it", func(t *testing.T) {
			c := withReserve(context.Background(), time.Now().Add(time.Hour))
			child, cancel := context.WithCancel(c)
			defer cancel()
			c.arm()
			c.cancel() // what the deadline does
			select {
			case <-child.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("a derived context outlived its parent")
			}
		}},
		{"values come from the caller", func(t *testing.T) {
			parent := context.WithValue(context.Background(), ctxKey{}, "v")
			c := withReserve(parent, time.Now().Add(time.Hour))
			defer c.release()
			if c.Value(ctxKey{}) != "v" {
				t.Fatal("value lost before arming")
			}
			c.arm()
			if c.Value(ctxKey{}) != "v" {
				t.Fatal("value lost after arming")
			}
		}},
		{"release stops an armed timer", func(t *testing.T) {
			c := withReserve(context.Background(), time.Now().Add(time.Hour))
			done := c.Done()
			c.release()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("release left the armed context running")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

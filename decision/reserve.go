package decision

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// reservedCtx is the caller's context with an earlier deadline (Decide's
// reserve), armed lazily. Most decisions come from the caches and never wait
// on their context, and context.WithDeadline costs a timer and a
// registration with the parent on every call: ~5 % of a cached Check's CPU
// under load. The deadline is reported at once; the timer is armed the first
// time a stage asks for Done.
type reservedCtx struct {
	context.Context // the caller's
	deadline        time.Time

	once   sync.Once
	armed  atomic.Bool
	inner  context.Context // set by arm: WithDeadline(caller's, deadline)
	cancel context.CancelFunc
}

func withReserve(parent context.Context, deadline time.Time) *reservedCtx {
	return &reservedCtx{Context: parent, deadline: deadline}
}

func (c *reservedCtx) arm() context.Context {
	c.once.Do(func() {
		c.inner, c.cancel = context.WithDeadline(c.Context, c.deadline)
		c.armed.Store(true)
	})
	return c.inner
}

func (c *reservedCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *reservedCtx) Done() <-chan struct{} { return c.arm().Done() }

// Err answers without arming: a stage that only polls Err (the policy
// engine after a failed evaluation) needs no timer.
func (c *reservedCtx) Err() error {
	if c.armed.Load() {
		return c.inner.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value reads through the armed context once there is one, so that
// context.Cause and contexts derived from this one see its cancellation.
func (c *reservedCtx) Value(key any) any {
	if c.armed.Load() {
		return c.inner.Value(key)
	}
	return c.Context.Value(key)
}

// release stops the timer, if one was armed. A stage that arms it after
// Decide returned (none should) holds a timer until the deadline at most.
func (c *reservedCtx) release() {
	if c.armed.Load() {
		c.cancel()
	}
}

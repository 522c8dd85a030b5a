package authn

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// DefaultLimitWait is how long a request waits for a slot of a Limited
// authenticator before it is answered 503: inside the store deadline and
// Envoy's 200ms timeout.
const DefaultLimitWait = 150 * time.Millisecond

// Limited runs at most n calls of inner at once (n <= 0: GOMAXPROCS); a call
// that finds every slot taken waits up to wait (DefaultLimitWait when <= 0)
// or its context, then is refused as unavailable (503), never queued
// without bound.
//
// It bounds what one expensive authenticator can cost: Basic verifies an
// argon2id hash per credential, 19 MiB of memory and tens of milliseconds
// each, so a flood of wrong passwords would otherwise grow memory with the
// number of requests in flight and starve every other Check of CPU.
func Limited(inner gatehouse.Authenticator, n int, wait time.Duration) gatehouse.Authenticator {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if wait <= 0 {
		wait = DefaultLimitWait
	}
	return &limited{inner: inner, slots: make(chan struct{}, n), wait: wait}
}

type limited struct {
	inner gatehouse.Authenticator
	slots chan struct{}
	wait  time.Duration
}

func (l *limited) Authenticate(ctx context.Context, cred gatehouse.Credential, req *gatehouse.Request) (*gatehouse.Identity, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		t := time.NewTimer(l.wait)
		defer t.Stop()
		select {
		case l.slots <- struct{}{}:
		case <-t.C:
			return nil, gatehouse.Unavailable(gatehouse.ReasonDeadline,
				fmt.Errorf("authn: %T busy: %d verifications in flight for %v", l.inner, cap(l.slots), l.wait))
		case <-ctx.Done():
			return nil, gatehouse.Unavailable(gatehouse.ReasonDeadline, ctx.Err())
		}
	}
	defer func() { <-l.slots }()
	return l.inner.Authenticate(ctx, cred, req)
}

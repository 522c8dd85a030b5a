package authn_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn"
)

// blocking proves an identity once released, counting calls in flight.
type blocking struct {
	release           chan struct{}
	inFlight, maxSeen atomic.Int64
}

func (b *blocking) Authenticate(context.Context, gatehouse.Credential, *gatehouse.Request) (*gatehouse.Identity, error) {
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for {
		m := b.maxSeen.Load()
		if n <= m || b.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	<-b.release
	return &gatehouse.Identity{Kind: gatehouse.KindBasic, Subject: "alice"}, nil
}

// TestPromise6_ExpensiveVerificationsAreBounded: however many Basic
// credentials arrive at once, at most n argon2id verifications run (memory
// and CPU bounded); the others wait a bounded time and are answered 503 in
// band, not queued without end.
func TestPromise6_ExpensiveVerificationsAreBounded(t *testing.T) {
	inner := &blocking{release: make(chan struct{})}
	l := authn.Limited(inner, 2, 50*time.Millisecond)
	var wg sync.WaitGroup
	var ok, busy atomic.Int64
	call := func() {
		_, err := l.Authenticate(context.Background(), basicCred, &gatehouse.Request{})
		switch ae := gatehouse.AsAuthError(err); {
		case err == nil:
			ok.Add(1)
		case ae.Internal && ae.Reason == gatehouse.ReasonDeadline:
			busy.Add(1)
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	for range 2 {
		wg.Go(call)
	}
	deadline := time.Now().Add(time.Minute)
	for inner.inFlight.Load() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the first two never started")
		}
		time.Sleep(time.Millisecond)
	}
	var late sync.WaitGroup
	for range 50 {
		late.Go(call)
	}
	late.Wait() // each gives up after its bounded wait
	close(inner.release)
	wg.Wait()
	if ok.Load() != 2 || busy.Load() != 50 || inner.maxSeen.Load() != 2 {
		t.Fatalf("ok %d, busy %d, most in flight %d; want 2, 50, 2", ok.Load(), busy.Load(), inner.maxSeen.Load())
	}
	// Slots are given back: the next call runs.
	if _, err := l.Authenticate(context.Background(), basicCred, &gatehouse.Request{}); err != nil {
		t.Fatal(err)
	}
}

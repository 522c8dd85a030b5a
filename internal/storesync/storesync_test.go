package storesync

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// fakeSource is a store whose version the test moves and whose change
// signals it sends; it can be taken down.
type fakeSource struct {
	version atomic.Int64
	down    atomic.Bool
	changes chan struct{}
	lists   atomic.Int64
}

var errDown = errors.New("connection refused")

func (f *fakeSource) ListRoles(context.Context) ([]gatehouse.Role, error) {
	if f.down.Load() {
		return nil, errDown
	}
	f.lists.Add(1)
	return nil, nil
}

func (f *fakeSource) ListRoleBindings(context.Context) ([]gatehouse.RoleBinding, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return nil, nil
}

func (f *fakeSource) Version(context.Context) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.version.Load(), nil
}

func (f *fakeSource) Changes(context.Context) <-chan struct{} { return f.changes }

type sink struct{}

func (sink) SetData(context.Context, string, any) error { return nil }

// TestPromise3_ReconnectSignalsDoNotPurgeCaches: while the database is down
// the last roles, bindings and cached identities keep serving; a change
// signal that changed nothing (the listener reconnecting once the database
// is back) reloads nothing and empties no cache, so the recovering database
// is not met by every cached credential at once; a real change still reloads
// and invalidates.
func TestPromise3_ReconnectSignalsDoNotPurgeCaches(t *testing.T) {
	src := &fakeSource{changes: make(chan struct{})}
	src.version.Store(7)
	var invalidated atomic.Int64
	s := New(Options{Source: src, Sink: sink{}, Poll: time.Hour, Invalidate: []func(){func() { invalidated.Add(1) }}})
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	signal := func() {
		select {
		case src.changes <- struct{}{}:
		case <-time.After(time.Minute):
			t.Fatal("syncer not listening")
		}
	}
	// Down: signals fail to read anything; nothing is dropped.
	src.down.Store(true)
	signal()
	signal()
	// Back, nothing changed: a reconnect signal.
	src.down.Store(false)
	signal()
	signal() // the channel is unbuffered: the previous signal was handled
	if n := invalidated.Load(); n != 1 {
		t.Fatalf("caches emptied %d times by signals that changed nothing, want only the first load", n)
	}
	// A real change.
	src.version.Add(1)
	signal()
	deadline := time.Now().Add(time.Minute)
	for invalidated.Load() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("a real change never invalidated the caches")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

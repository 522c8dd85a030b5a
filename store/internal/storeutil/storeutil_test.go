package storeutil

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

func TestTime(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	tests := []struct {
		in, want time.Time
	}{
		{time.Time{}, time.Time{}},
		{time.Date(2030, 1, 1, 1, 0, 0, 1999, zone), time.Date(2030, 1, 1, 0, 0, 0, 1000, time.UTC)},
	}
	for _, tt := range tests {
		if got := Time(tt.in); got != tt.want {
			t.Errorf("Time(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	prev := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Later(prev, prev.Add(-time.Second)); !got.After(prev) {
		t.Errorf("Later went back: %v", got)
	}
}

func TestDiff(t *testing.T) {
	add, remove := Diff([]string{"a", "b", "c"}, []string{"b", "d"})
	if !slices.Equal(add, []string{"d"}) || !slices.Equal(remove, []string{"a", "c"}) {
		t.Fatalf("Diff = %v, %v", add, remove)
	}
}

func TestPlanEnvTokens(t *testing.T) {
	d := func(b byte) [32]byte { return [32]byte{b} }
	tests := []struct {
		name  string
		lines []store.EnvToken
		ok    bool
	}{
		{"empty", nil, true},
		{"two logins", []store.EnvToken{{Login: "a", Digest: d(1)}, {Login: "b", Digest: d(2)}}, true},
		{"same login same set", []store.EnvToken{{Login: "a", Digest: d(1), Permissions: []string{"x", "y"}}, {Login: "a", Digest: d(2), Permissions: []string{"y", "x", "x"}}}, true},
		{"same login other set", []store.EnvToken{{Login: "a", Digest: d(1), Permissions: []string{"x"}}, {Login: "a", Digest: d(2)}}, false},
		{"digest twice", []store.EnvToken{{Login: "a", Digest: d(1)}, {Login: "b", Digest: d(1)}}, false},
		{"no login", []store.EnvToken{{Digest: d(1)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanEnvTokens(tt.lines)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, gatehouse.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
			if err == nil && len(p.Keep) != len(tt.lines) {
				t.Fatalf("Keep has %d digests for %d lines", len(p.Keep), len(tt.lines))
			}
		})
	}
}

func TestBroadcaster(t *testing.T) {
	var b Broadcaster
	ctx, cancel := context.WithCancel(t.Context())
	c1, c2 := b.Subscribe(ctx), b.Subscribe(t.Context())
	b.Notify()
	b.Notify() // coalesces with the pending one; must not block
	for i, ch := range []<-chan struct{}{c1, c2} {
		select {
		case <-ch:
		default:
			t.Fatalf("subscriber %d got no signal", i)
		}
		select {
		case <-ch:
			t.Fatalf("subscriber %d got two signals for coalesced notifies", i)
		default:
		}
	}
	cancel()
	waitClosed(t, c1)
	b.Close()
	waitClosed(t, c2)
	waitClosed(t, b.Subscribe(t.Context()))
	b.Notify() // after Close: nothing to signal, no panic
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed")
		}
	}
}

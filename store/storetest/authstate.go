package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

// RunAuthState checks a store.AuthState: single-use sessions, the sliding
// window and secrets kept once. a and b may be two replicas of one database
// (or the same store): state written through one is seen through the other.
func RunAuthState(t *testing.T, open func(t *testing.T) (a, b store.AuthState)) {
	t.Run("SessionSingleUse", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		exp := time.Now().Add(time.Minute)
		mustNil(t, "put", a.PutSession(ctx, "s1", []byte("state"), exp))
		data, got, err := b.TakeSession(ctx, "s1")
		mustNil(t, "take", err)
		if string(data) != "state" || got.Sub(exp).Abs() > time.Millisecond {
			t.Fatalf("take = %q %v", data, got)
		}
		_, _, err = a.TakeSession(ctx, "s1")
		wantErr(t, "second take", err, gatehouse.ErrNotFound)
		mustNil(t, "put", a.PutSession(ctx, "s2", []byte("x"), time.Now().Add(-time.Second)))
		_, got, err = b.TakeSession(ctx, "s2")
		mustNil(t, "take expired", err)
		if !got.Before(time.Now()) {
			t.Fatalf("expired session's expiry = %v", got)
		}
		mustNil(t, "delete absent", a.DeleteSession(ctx, "nope"))
	})
	t.Run("Prune", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		now := time.Now()
		mustNil(t, "put", a.PutSession(ctx, "old", []byte("x"), now.Add(-2*time.Hour)))
		mustNil(t, "put", a.PutSession(ctx, "recent", []byte("y"), now.Add(-time.Second)))
		t0 := now.Truncate(time.Second)
		if ok, _, err := a.RateHit(ctx, "ip:9", t0, 10*time.Second, 1); err != nil || !ok {
			t.Fatalf("first hit: %v %v", ok, err)
		}
		n, err := b.PruneAuthState(ctx, now.Add(-time.Hour), t0.Add(time.Second))
		mustNil(t, "prune", err)
		if n != 2 {
			t.Fatalf("pruned %d rows, want 2 (one session, one hit)", n)
		}
		_, _, err = a.TakeSession(ctx, "old")
		wantErr(t, "pruned session", err, gatehouse.ErrNotFound)
		if _, _, err := a.TakeSession(ctx, "recent"); err != nil {
			t.Fatalf("a session expired less than the cut-off was pruned: %v", err)
		}
		// The pruned hit no longer counts, though still inside its window.
		if ok, _, err := a.RateHit(ctx, "ip:9", t0.Add(2*time.Second), 10*time.Second, 1); err != nil || !ok {
			t.Fatalf("hit after prune: %v %v, want allowed", ok, err)
		}
	})
	t.Run("SlidingWindow", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		t0 := time.Now().Truncate(time.Second)
		w := 10 * time.Second
		hit := func(s store.AuthState, key string, at time.Duration) (bool, time.Duration) {
			ok, retry, err := s.RateHit(ctx, key, t0.Add(at), w, 2)
			mustNil(t, "rate hit", err)
			return ok, retry
		}
		if ok, _ := hit(a, "ip:1", 0); !ok {
			t.Fatal("1st refused")
		}
		if ok, _ := hit(b, "ip:1", 4*time.Second); !ok {
			t.Fatal("2nd refused")
		}
		ok, retry := hit(a, "ip:1", 5*time.Second)
		if ok || retry != 5*time.Second {
			t.Fatalf("3rd: ok=%v retry=%v, want refused with 5s", ok, retry)
		}
		if ok, _ := hit(b, "ip:2", 5*time.Second); !ok {
			t.Fatal("another key is counted apart")
		}
		// Sliding: at 10.5s the first hit has left the window, the second not.
		if ok, _ := hit(b, "ip:1", 10*time.Second+500*time.Millisecond); !ok {
			t.Fatal("hit after the oldest left the window refused")
		}
		if ok, retry := hit(a, "ip:1", 11*time.Second); ok || retry != 3*time.Second {
			t.Fatalf("window slid wrong: ok=%v retry=%v, want refused with 3s", ok, retry)
		}
	})
	t.Run("SecretOnce", func(t *testing.T) {
		a, b := open(t)
		ctx := t.Context()
		v1, err := a.SecretOnce(ctx, "session", []byte("first"))
		mustNil(t, "secret", err)
		v2, err := b.SecretOnce(ctx, "session", []byte("second"))
		mustNil(t, "secret", err)
		if !bytes.Equal(v1, []byte("first")) || !bytes.Equal(v2, v1) {
			t.Fatalf("secret = %q then %q", v1, v2)
		}
	})
}

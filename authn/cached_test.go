package authn

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// countingAuth proves an identity expiring at exp for any value starting
// with "good", and refuses the rest.
type countingAuth struct {
	mu    sync.Mutex
	calls int
	exp   time.Time
}

func (c *countingAuth) Authenticate(_ context.Context, cred gatehouse.Credential, _ *gatehouse.Request) (*gatehouse.Identity, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if !strings.HasPrefix(cred.Value, "good") {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenSignature, "bad")
	}
	return &gatehouse.Identity{Kind: gatehouse.KindUser, Subject: cred.Value, ExpiresAt: c.exp}, nil
}

func (c *countingAuth) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestCache(t *testing.T, inner gatehouse.Authenticator, clk *clock, size int) *Cached {
	t.Helper()
	c, err := NewCached(inner, CacheOptions{Size: size, MaxTTL: 5 * time.Minute, Margin: 5 * time.Second, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCached(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	good := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "good-token"}
	bad := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "bad-token"}

	tests := []struct {
		name      string
		exp       time.Time // identity expiry (zero: none)
		steps     []step
		wantCalls int
	}{
		{"success is served from the cache", t0.Add(time.Hour),
			[]step{{0, good, true}, {time.Second, good, true}, {time.Minute, good, true}}, 1},
		{"refusals are never cached", t0.Add(time.Hour),
			[]step{{0, bad, false}, {0, bad, false}}, 2},
		{"MaxTTL bounds a long-lived token", t0.Add(time.Hour),
			[]step{{0, good, true}, {5*time.Minute - time.Second, good, true}, {time.Second, good, true}}, 2},
		{"entry stops Margin before exp", t0.Add(time.Minute),
			[]step{{0, good, true}, {54 * time.Second, good, true}, {time.Second, good, true}}, 2},
		{"no expiry is cached MaxTTL", time.Time{},
			[]step{{0, good, true}, {4 * time.Minute, good, true}, {time.Minute, good, true}}, 2},
		{"identity inside the margin is not cached", t0.Add(3 * time.Second),
			[]step{{0, good, true}, {0, good, true}}, 2},
		{"scheme is part of the key", t0.Add(time.Hour),
			[]step{{0, good, true}, {0, gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: good.Value}, true}}, 2},
		{"peer flag is part of the key", t0.Add(time.Hour),
			[]step{{0, good, true}, {0, gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: good.Value, Peer: true}, true}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: t0}
			inner := &countingAuth{exp: tt.exp}
			c := newTestCache(t, inner, clk, 100)
			for i, s := range tt.steps {
				clk.advance(s.advance)
				id, err := c.Authenticate(context.Background(), s.cred, nil)
				if (err == nil) != s.ok || (s.ok && id.Subject != s.cred.Value) {
					t.Fatalf("step %d: id %+v err %v, want ok=%v", i, id, err, s.ok)
				}
			}
			if got := inner.count(); got != tt.wantCalls {
				t.Fatalf("inner called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

type step struct {
	advance time.Duration
	cred    gatehouse.Credential
	ok      bool
}

func TestCachedInvalidateAndStats(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	inner := &countingAuth{exp: clk.t.Add(time.Hour)}
	c := newTestCache(t, inner, clk, 100)
	cred := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "good"}
	for range 3 {
		if _, err := c.Authenticate(context.Background(), cred, nil); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Hits != 2 || s.Misses != 1 || s.Size != 1 {
		t.Fatalf("stats %+v, want 2 hits, 1 miss, size 1", s)
	}
	c.Invalidate()
	if _, err := c.Authenticate(context.Background(), cred, nil); err != nil {
		t.Fatal(err)
	}
	if inner.count() != 2 {
		t.Fatalf("after Invalidate the inner authenticator was not asked again")
	}
}

func TestCachedIsBounded(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	inner := &countingAuth{exp: clk.t.Add(time.Hour)}
	c := newTestCache(t, inner, clk, 2)
	for i := range 3 {
		cred := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: fmt.Sprintf("good-%d", i)}
		if _, err := c.Authenticate(context.Background(), cred, nil); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Size != 2 {
		t.Fatalf("size %d, want 2", s.Size)
	}
	// good-0 was least recently used: evicted, so asked again.
	if _, err := c.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "good-0"}, nil); err != nil {
		t.Fatal(err)
	}
	if inner.count() != 4 {
		t.Fatalf("inner calls %d, want 4 (good-0 evicted)", inner.count())
	}
}

// A hit is on every request's path: it must not allocate. Allocation counts
// are deterministic, so asserting them is allowed (timings are not).
func TestCachedHitDoesNotAllocate(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	c := newTestCache(t, &countingAuth{exp: clk.t.Add(time.Hour)}, clk, 100)
	cred := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "good-" + strings.Repeat("x", 900)}
	ctx := context.Background()
	if _, err := c.Authenticate(ctx, cred, nil); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.Authenticate(ctx, cred, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a cache hit allocates %v times, want 0", allocs)
	}
}

func TestCachedConcurrent(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	inner := &countingAuth{exp: clk.t.Add(time.Hour)}
	c := newTestCache(t, inner, clk, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				cred := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: fmt.Sprintf("good-%d", (g+i)%12)}
				if _, err := c.Authenticate(context.Background(), cred, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := c.Stats(); s.Hits+s.Misses != 1600 || s.Size > 8 {
		t.Fatalf("stats %+v", s)
	}
}

func BenchmarkCachedHit(b *testing.B) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	c, err := NewCached(&countingAuth{exp: clk.t.Add(time.Hour)}, CacheOptions{Now: clk.now})
	if err != nil {
		b.Fatal(err)
	}
	// A realistic access token is 800-1200 bytes.
	cred := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "good-" + strings.Repeat("x", 900)}
	ctx := context.Background()
	if _, err := c.Authenticate(ctx, cred, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Authenticate(ctx, cred, nil); err != nil {
			b.Fatal(err)
		}
	}
}

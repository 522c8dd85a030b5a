package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// t0 is the fake "now" of these tests.
var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fakeClock is a goroutine-safe settable clock: background fetches read it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a test issuer on loopback, a RemoteKeySource loaded from it over
// real HTTP, and a Verifier trusting it.
type fixture struct {
	iss *testenv.Issuer
	src *RemoteKeySource
	v   *Verifier
	clk *fakeClock
}

type fixtureOpts struct {
	issuer   []testenv.IssuerOption
	remote   func(*RemoteOptions)
	noLoad   bool
	verifier func(*Options)
}

func newFixture(t testing.TB, fo fixtureOpts) *fixture {
	t.Helper()
	clk := newClock()
	iss := testenv.NewIssuer(t, append([]testenv.IssuerOption{testenv.WithClock(clk.Now)}, fo.issuer...)...)
	ro := RemoteOptions{
		IssuerURL:         iss.URL(),
		HTTPClient:        iss.HTTPClient(),
		AllowInsecureHTTP: true, // plain HTTP on 127.0.0.1
		Now:               clk.Now,
		// Callers wait for the fetch their unknown kid caused, however slow
		// a loaded machine makes it (the 150ms default has its own test).
		UnknownKIDMaxWait: time.Minute,
	}
	if fo.remote != nil {
		fo.remote(&ro)
	}
	src, err := NewRemote(context.Background(), ro)
	if err != nil {
		t.Fatalf("NewRemote: %v", err)
	}
	if !fo.noLoad {
		if err := src.Refresh(context.Background()); err != nil {
			t.Fatalf("first load: %v", err)
		}
	}
	vo := Options{
		Issuers: []IssuerConfig{{URL: iss.URL(), Audiences: []string{iss.Audience()}, Keys: src}},
		Now:     clk.Now,
	}
	if fo.verifier != nil {
		fo.verifier(&vo)
	}
	v, err := New(vo)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{iss: iss, src: src, v: v, clk: clk}
}

// verify runs the verifier on a token through its Authenticator face.
func (f *fixture) verify(tok string) (*gatehouse.Identity, error) {
	return f.v.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: tok}, &gatehouse.Request{})
}

// wantReason fails unless err is an *AuthError with reason (and internal).
func wantReason(t testing.TB, id *gatehouse.Identity, err error, reason gatehouse.Reason, internal bool) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("unexpected refusal: %v", err)
		}
		if id == nil {
			t.Fatal("nil identity without error")
		}
		return
	}
	var ae *gatehouse.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *AuthError %s", err, err, reason)
	}
	if id != nil {
		t.Fatalf("identity returned with error %v", err)
	}
	if ae.Reason != reason || ae.Internal != internal {
		t.Fatalf("got %s (internal=%v): %v; want %s (internal=%v)", ae.Reason, ae.Internal, err, reason, internal)
	}
}

// with returns claims with overrides applied (nil deletes).
func with(claims map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(claims, k)
		} else {
			claims[k] = kv[i+1]
		}
	}
	return claims
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

package jwt

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// A kid published after start is accepted without restart once
// UnknownKIDMinInterval has passed since the last fetch, and not before.
func TestNewKIDAcceptedWithoutRestart(t *testing.T) {
	f := newFixture(t, fixtureOpts{remote: func(o *RemoteOptions) { o.UnknownKIDMinInterval = 10 * time.Second }})
	before := f.iss.JWKSRequests()

	kid := f.iss.AddKey()
	tok := f.iss.Mint(f.iss.Claims(), testenv.WithKID(kid))

	id, err := f.verify(tok)
	wantReason(t, id, err, gatehouse.ReasonTokenKeyUnknown, false)
	if got := f.iss.JWKSRequests(); got != before {
		t.Fatalf("unknown kid inside the interval fetched (%d requests, want %d)", got, before)
	}

	f.clk.Advance(10 * time.Second)
	id, err = f.verify(tok)
	wantReason(t, id, err, "", false)
	if got := f.iss.JWKSRequests(); got != before+1 {
		t.Fatalf("JWKS requests %d, want %d", got, before+1)
	}
	// Old tokens still verify; the new kid needs no further fetch.
	for _, tok := range []string{f.iss.Mint(f.iss.Claims()), tok} {
		id, err = f.verify(tok)
		wantReason(t, id, err, "", false)
	}
	if got := f.iss.JWKSRequests(); got != before+1 {
		t.Fatalf("JWKS requests %d, want %d", got, before+1)
	}
}

// A burst of tokens with unknown kids costs the issuer at most one fetch per
// interval, and callers arriving during the fetch wait for it.
func TestUnknownKIDBurstIsRateLimited(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	before := f.iss.JWKSRequests()
	newKID := f.iss.AddKey()
	f.clk.Advance(DefaultUnknownKIDMinInterval)

	const n = 200
	good := f.iss.Mint(f.iss.Claims(), testenv.WithKID(newKID))
	tokens := make([]string, n)
	for i := range tokens {
		if i%2 == 0 {
			tokens[i] = good // a kid the refresh will find
		} else {
			tokens[i] = f.iss.Mint(f.iss.Claims(), testenv.WithKID("made-up-"+strings.Repeat("x", i%7)))
		}
	}
	var wg sync.WaitGroup
	var ok, unknown, other atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, err := f.verify(tokens[i])
			switch {
			case err == nil:
				ok.Add(1)
			case gatehouse.AsAuthError(err).Reason == gatehouse.ReasonTokenKeyUnknown:
				unknown.Add(1)
			default:
				other.Add(1)
				t.Errorf("token %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := f.iss.JWKSRequests() - before; got > 1 {
		t.Fatalf("%d JWKS fetches for a burst of %d unknown-kid tokens, want at most 1", got, n)
	}
	if ok.Load() != n/2 || unknown.Load() != n/2 {
		t.Fatalf("ok %d, unknown %d, other %d; want %d and %d", ok.Load(), unknown.Load(), other.Load(), n/2, n/2)
	}

	// The next interval allows exactly one more.
	f.clk.Advance(DefaultUnknownKIDMinInterval)
	for range 20 {
		_, _ = f.verify(tokens[1])
	}
	if got := f.iss.JWKSRequests() - before; got != 2 {
		t.Fatalf("%d fetches after the second interval, want 2", got)
	}
}

// The issuer going down leaves the last good keys serving, and a failed
// refresh never evicts them.
func TestIssuerDownKeepsCachedKeys(t *testing.T) {
	var fetchErrs atomic.Int64
	f := newFixture(t, fixtureOpts{remote: func(o *RemoteOptions) {
		o.OnFetch = func(issuer string, err error) {
			if err != nil {
				fetchErrs.Add(1)
			}
		}
	}})
	tok := f.iss.Mint(f.iss.Claims())
	f.iss.SetDown(true)

	if err := f.src.Refresh(t.Context()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("refresh against a down issuer: %v", err)
	}
	f.clk.Advance(time.Minute)
	// An unknown kid triggers a refresh, which fails: still refused as
	// unknown, and the known keys still work.
	id, err := f.verify(f.iss.Mint(f.iss.Claims(), testenv.WithKID("rotated")))
	wantReason(t, id, err, gatehouse.ReasonTokenKeyUnknown, false)
	id, err = f.verify(tok)
	wantReason(t, id, err, "", false)
	if ok, why := f.src.Ready(); !ok {
		t.Fatalf("not ready with cached keys: %s", why)
	}
	if fetchErrs.Load() != 2 {
		t.Fatalf("OnFetch saw %d failures, want 2", fetchErrs.Load())
	}
	if got := f.src.Fetches(); got != 3 {
		t.Fatalf("Fetches() = %d, want 3", got)
	}
}

// MaxStaleness: a key set not refreshed for that long is no longer served
// (503, not 401), and comes back with the issuer.
func TestMaxStalenessDropsKeys(t *testing.T) {
	f := newFixture(t, fixtureOpts{remote: func(o *RemoteOptions) { o.MaxStaleness = time.Hour }})
	tok := f.iss.Mint(with(f.iss.Claims(), "exp", t0.Add(48*time.Hour).Unix()))
	f.iss.SetDown(true)

	f.clk.Advance(time.Hour)
	id, err := f.verify(tok)
	wantReason(t, id, err, "", false)

	f.clk.Advance(time.Second)
	_ = f.src.Refresh(t.Context())
	if f.src.Keys() != nil {
		t.Fatal("stale key set still served")
	}
	id, err = f.verify(tok)
	wantReason(t, id, err, gatehouse.ReasonKeysUnavailable, true)
	ok, why := f.src.Ready()
	if ok || !strings.Contains(why, "is stale") || !strings.Contains(why, "503") {
		t.Fatalf("Ready() = %v, %q", ok, why)
	}

	f.iss.SetDown(false)
	if err := f.src.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	id, err = f.verify(tok)
	wantReason(t, id, err, "", false)
}

func TestRemoteFetchRefusals(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		insec   bool
		setup   func(iss *testenv.Issuer)
		wantErr string
	}{
		{"discovery issuer mismatch", false, true,
			func(iss *testenv.Issuer) { iss.SetDiscoveryIssuer("https://evil.example") }, "does not match the configured"},
		{"discovery without jwks_uri", false, true, func(iss *testenv.Issuer) { iss.SetJWKSURI("") }, "no jwks_uri"},
		{"http jwks_uri refused without AllowInsecureHTTP", true, false,
			func(iss *testenv.Issuer) { iss.SetJWKSURI("http://127.0.0.1:1/jwks") }, "is not https"},
		{"relative jwks_uri", false, true, func(iss *testenv.Issuer) { iss.SetJWKSURI("/jwks") }, "not an absolute URL"},
		{"oversized JWKS body", false, true,
			func(iss *testenv.Issuer) {
				iss.SetJWKSBody([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`))
			}, "body exceeds"},
		{"JWKS without usable keys", false, true,
			func(iss *testenv.Issuer) { iss.SetJWKSBody([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)) }, "no usable key"},
		{"JWKS not JSON", false, true, func(iss *testenv.Issuer) { iss.SetJWKSBody([]byte(`<html>`)) }, "decode"},
		{"issuer down", false, true, func(iss *testenv.Issuer) { iss.SetDown(true) }, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []testenv.IssuerOption
			if tt.tls {
				opts = append(opts, testenv.WithTLS())
			}
			iss := testenv.NewIssuer(t, opts...)
			tt.setup(iss)
			src, err := NewRemote(t.Context(), RemoteOptions{IssuerURL: iss.URL(), HTTPClient: iss.HTTPClient(), AllowInsecureHTTP: tt.insec})
			if err != nil {
				t.Fatal(err)
			}
			err = src.Refresh(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Refresh error %v, want one containing %q", err, tt.wantErr)
			}
			if src.Keys() != nil {
				t.Fatal("keys served after a failed first load")
			}
			ok, why := src.Ready()
			if ok || !strings.HasPrefix(why, "waiting for JWKS of "+iss.URL()+": ") || !strings.Contains(why, tt.wantErr) {
				t.Fatalf("Ready() = %v, %q", ok, why)
			}
		})
	}
}

// A failed refresh of any kind (here an oversized body) keeps the last good set.
func TestBadRefreshKeepsLastGoodSet(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	good := f.src.Keys()
	f.iss.SetJWKSBody([]byte(strings.Repeat(" ", DefaultMaxBodyBytes+1)))
	if err := f.src.Refresh(t.Context()); err == nil {
		t.Fatal("oversized body accepted")
	}
	if f.src.Keys() != good {
		t.Fatal("a failed refresh replaced the key set")
	}
}

func TestRemoteOverTLS(t *testing.T) {
	iss := testenv.NewIssuer(t, testenv.WithTLS(), testenv.WithIssuerPath("/realms/test"))
	src, err := NewRemote(t.Context(), RemoteOptions{IssuerURL: iss.URL(), HTTPClient: iss.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if src.Keys().Len() != 1 {
		t.Fatalf("kids %v", src.Keys().KIDs())
	}
}

// An issuer configured with a trailing slash is discovered without a double
// slash, and its document must announce the slash too.
func TestDiscoveryTrailingSlash(t *testing.T) {
	iss := testenv.NewIssuer(t, testenv.WithIssuerPath("/realms/test"))
	iss.SetDiscoveryIssuer(iss.URL() + "/")
	src, err := NewRemote(t.Context(), RemoteOptions{IssuerURL: iss.URL() + "/", HTTPClient: iss.HTTPClient(), AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if iss.DiscoveryRequests() != 1 {
		t.Fatalf("discovery requests %d", iss.DiscoveryRequests())
	}
}

func TestNewRemoteRefusesBadIssuer(t *testing.T) {
	tests := []struct {
		name string
		opts RemoteOptions
	}{
		{"empty", RemoteOptions{}},
		{"http without AllowInsecureHTTP", RemoteOptions{IssuerURL: "http://idp.example"}},
		{"not absolute", RemoteOptions{IssuerURL: "idp.example/realms/x"}},
		{"other scheme", RemoteOptions{IssuerURL: "ftp://idp.example", AllowInsecureHTTP: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRemote(t.Context(), tt.opts); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestRefreshIntervalFromCacheControl(t *testing.T) {
	r, err := NewRemote(t.Context(), RemoteOptions{IssuerURL: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 15 * time.Minute},
		{"no-cache", 15 * time.Minute},
		{"max-age=60", 5 * time.Minute},
		{"public, max-age=3600", time.Hour},
		{"max-age=999999999999", 12 * time.Hour}, // 24h clamp, then half of MaxStaleness
		{"max-age=junk", 15 * time.Minute},
		{"MAX-AGE=600", 10 * time.Minute},
	}
	for _, tt := range tests {
		if got := r.refreshInterval(tt.header); got != tt.want {
			t.Errorf("refreshInterval(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// fakeAfter replaces the loop's timer: each wait is reported and released by
// the test, so the loop is driven without sleeping.
type fakeAfter struct {
	waits chan time.Duration
	fire  chan time.Time
}

func newFakeAfter() *fakeAfter {
	return &fakeAfter{waits: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (a *fakeAfter) after(d time.Duration) <-chan time.Time {
	a.waits <- d
	return a.fire
}

func (a *fakeAfter) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-a.waits:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("background loop did not wait")
		return 0
	}
}

// Start retries with capped exponential backoff until the first load, then
// refreshes at the Cache-Control interval, and stops with its context.
func TestStartLoop(t *testing.T) {
	clk := newClock()
	iss := testenv.NewIssuer(t, testenv.WithClock(clk.Now))
	iss.SetDown(true)
	iss.SetCacheControl("max-age=3600")
	src, err := NewRemote(t.Context(), RemoteOptions{IssuerURL: iss.URL(), HTTPClient: iss.HTTPClient(), AllowInsecureHTTP: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	fa := newFakeAfter()
	src.after = fa.after
	done := make(chan struct{})
	src.onStop = func() { close(done) }

	ctx, cancel := context.WithCancel(t.Context())
	src.Start(ctx)
	src.Start(ctx) // idempotent

	// Backoff doubles (minus up to 10% jitter) while the issuer is down.
	for _, base := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
		d := fa.nextWait(t)
		if d > base || d < base-base/10 {
			t.Fatalf("backoff %v, want about %v", d, base)
		}
		if ok, why := src.Ready(); ok || !strings.Contains(why, "waiting for JWKS") {
			t.Fatalf("Ready() = %v, %q", ok, why)
		}
		if base == 2*time.Second {
			iss.SetDown(false) // the next attempt succeeds
		}
		fa.fire <- time.Time{}
	}
	select {
	case <-src.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("keys never loaded")
	}
	if d := fa.nextWait(t); d > time.Hour || d < time.Hour-time.Hour/10 {
		t.Fatalf("refresh in %v, want about 1h (Cache-Control max-age)", d)
	}
	if ok, _ := src.Ready(); !ok {
		t.Fatal("not ready after loading")
	}
	// A failed periodic refresh is retried soon, keeping the keys meanwhile.
	iss.SetDown(true)
	fa.fire <- time.Time{}
	if d := fa.nextWait(t); d > 500*time.Millisecond {
		t.Fatalf("retry after a failed refresh in %v, want at most 500ms", d)
	}
	if src.Keys() == nil {
		t.Fatal("a failed refresh evicted the keys")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("background loop outlived its context")
	}
}

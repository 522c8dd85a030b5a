package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// Promise 2 (docs/reliability.md): when the IdP or its JWKS endpoint is down,
// slow or serving garbage, valid tokens keep verifying under the last good key
// set. These tests put a JWKS server the test can break between the test
// issuer and the key source, and drive time with the fake clock: no sleeps.

// jwksMode is how the breakable JWKS server misbehaves.
type jwksMode int32

const (
	jwksHealthy  jwksMode = iota // serve the issuer's JWKS
	jwksDown                     // 503
	jwksHang                     // never answer (until the request is cancelled)
	jwksSlowBody                 // headers at once, then a body that never ends
	jwksBody                     // serve body verbatim
)

// breakableJWKS serves an issuer's JWKS and misbehaves on demand.
type breakableJWKS struct {
	iss      *testenv.Issuer
	srv      *httptest.Server
	mode     atomic.Int32
	requests atomic.Int64
	cache    atomic.Value // Cache-Control header value (string)

	stop chan struct{} // closed when the test ends: hanging handlers return

	mu   sync.Mutex
	body []byte
}

func newBreakableJWKS(t *testing.T, iss *testenv.Issuer) *breakableJWKS {
	b := &breakableJWKS{iss: iss, stop: make(chan struct{})}
	b.cache.Store("")
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() { close(b.stop) }) // runs first: Close waits for handlers
	iss.SetJWKSURI(b.srv.URL + "/jwks")
	return b
}

func (b *breakableJWKS) set(m jwksMode, body []byte) {
	b.mu.Lock()
	b.body = body
	b.mu.Unlock()
	b.mode.Store(int32(m))
}

func (b *breakableJWKS) serve(w http.ResponseWriter, r *http.Request) {
	b.requests.Add(1)
	switch jwksMode(b.mode.Load()) {
	case jwksDown:
		http.Error(w, "down", http.StatusServiceUnavailable)
	case jwksHang:
		select {
		case <-r.Context().Done():
		case <-b.stop:
		}
	case jwksSlowBody:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"keys":[`))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-b.stop:
		}
	case jwksBody:
		b.mu.Lock()
		body := b.body
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	default:
		if cc := b.cache.Load().(string); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b.iss.JWKS())
	}
}

// brokenFixture is a fixture whose JWKS comes from a breakable server.
func brokenFixture(t *testing.T, remote func(*RemoteOptions)) (*fixture, *breakableJWKS) {
	t.Helper()
	var b *breakableJWKS
	f := newFixture(t, fixtureOpts{noLoad: true, remote: remote})
	b = newBreakableJWKS(t, f.iss)
	refreshOK(t, f)
	return f, b
}

// refreshOK refreshes until a fetch succeeds: some tests shorten the fetch
// timeout, which a healthy fetch on a loaded machine may exceed now and then.
func refreshOK(t *testing.T, f *fixture) {
	t.Helper()
	var err error
	for range 20 {
		if err = f.src.Refresh(t.Context()); err == nil {
			return
		}
	}
	t.Fatalf("refresh against a healthy JWKS: %v", err)
}

// longLived mints a token valid for two days of the fake clock, never seen
// before by anything (so no cache can be what accepts it).
func longLived(f *fixture, opts ...testenv.MintOption) string {
	return f.iss.Mint(with(f.iss.Claims(), "exp", f.clk.Now().Add(48*time.Hour).Unix(), "jti", f.clk.Now().String()), opts...)
}

// TestPromise2_StaleKeysKeepServing: with the JWKS endpoint down, slow or
// serving garbage, fresh tokens verify under the cached keys for the whole
// default maximum staleness (24h) — every failed refresh in between keeps the
// last good set — and only past it are they refused with a 503
// (KEYS_UNAVAILABLE), until the endpoint is back.
func TestPromise2_StaleKeysKeepServing(t *testing.T) {
	f, b := brokenFixture(t, func(o *RemoteOptions) {
		o.FetchTimeout = 300 * time.Millisecond
	})
	if f.src.opts.MaxStaleness != 24*time.Hour {
		t.Fatalf("default max staleness %v, want 24h", f.src.opts.MaxStaleness)
	}
	good := f.src.Keys()
	faults := []struct {
		name string
		mode jwksMode
		body string
	}{
		{"down", jwksDown, ""},
		{"hanging", jwksHang, ""},
		{"endless body", jwksSlowBody, ""},
		{"not JSON", jwksBody, "<html>maintenance</html>"},
		{"no keys member", jwksBody, `{"issuer":"x"}`},
		{"empty key list", jwksBody, `{"keys":[]}`},
		{"only unusable keys", jwksBody, `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"rsa-1"},{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}]}`},
	}
	// 1h, then up to 23h57m of outage in steps: each step a failed refresh
	// and a never-seen token that must verify.
	steps := []time.Duration{time.Hour, 6 * time.Hour, 8 * time.Hour, 9*time.Hour - 3*time.Minute}
	for i, step := range steps {
		fault := faults[i%len(faults)]
		b.set(fault.mode, []byte(fault.body))
		f.clk.Advance(step)
		if err := f.src.Refresh(t.Context()); err == nil {
			t.Fatalf("refresh against a %s JWKS succeeded", fault.name)
		}
		if f.src.Keys() != good {
			t.Fatalf("a failed refresh (%s) replaced or evicted the last good key set", fault.name)
		}
		id, err := f.verify(longLived(f))
		wantReason(t, id, err, "", false)
	}
	// Every fault again, near 23h58m of staleness.
	for _, fault := range faults {
		b.set(fault.mode, []byte(fault.body))
		if err := f.src.Refresh(t.Context()); err == nil {
			t.Fatalf("refresh against a %s JWKS succeeded", fault.name)
		}
		// An unknown kid asks for a refresh too: still refused as unknown (a
		// 401), the known keys untouched.
		f.clk.Advance(DefaultUnknownKIDMinInterval)
		id, err := f.verify(longLived(f, testenv.WithKID("rotated-"+fault.name)))
		wantReason(t, id, err, gatehouse.ReasonTokenKeyUnknown, false)
		id, err = f.verify(longLived(f))
		wantReason(t, id, err, "", false)
	}
	if ok, why := f.src.Ready(); !ok {
		t.Fatalf("not ready while the keys are within their staleness: %s", why)
	}

	// Past 24h since the last good fetch: fail closed with a 503.
	f.clk.Advance(2 * time.Minute)
	id, err := f.verify(longLived(f))
	wantReason(t, id, err, gatehouse.ReasonKeysUnavailable, true)
	if ok, _ := f.src.Ready(); ok {
		t.Fatal("ready with stale keys")
	}

	// The endpoint comes back: the next refresh serves again, no restart.
	b.set(jwksHealthy, nil)
	refreshOK(t, f)
	id, err = f.verify(longLived(f))
	wantReason(t, id, err, "", false)
}

// TestPromise2_FetchTimeoutAndBodyCap: one fetch is bounded by the fetch
// timeout (default 5s; shortened here so the test does not wait) whether the
// server never answers or never finishes its body, and a body over the cap
// (default 1 MiB) is refused while one at the cap is read.
func TestPromise2_FetchTimeoutAndBodyCap(t *testing.T) {
	if DefaultFetchTimeout != 5*time.Second || DefaultMaxBodyBytes != 1<<20 {
		t.Fatalf("defaults: fetch timeout %v, body cap %d", DefaultFetchTimeout, DefaultMaxBodyBytes)
	}
	r, err := NewRemote(t.Context(), RemoteOptions{IssuerURL: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if r.opts.FetchTimeout != 5*time.Second || r.opts.MaxBodyBytes != 1<<20 {
		t.Fatalf("a zero RemoteOptions gets fetch timeout %v and body cap %d", r.opts.FetchTimeout, r.opts.MaxBodyBytes)
	}

	f, b := brokenFixture(t, func(o *RemoteOptions) { o.FetchTimeout = 300 * time.Millisecond })
	good := f.src.Keys()
	for _, m := range []jwksMode{jwksHang, jwksSlowBody} {
		b.set(m, nil)
		// The caller's context is far longer than the fetch timeout: the
		// fetch must end on its own.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		err := f.src.Refresh(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("mode %d: refresh error %v, want the fetch deadline", m, err)
		}
		if f.src.Keys() != good {
			t.Fatal("a timed-out refresh evicted the keys")
		}
	}

	// The cap, with the default fetch timeout (reading 1 MiB on a loaded
	// machine may take a while).
	f, b = brokenFixture(t, nil)
	good = f.src.Keys()
	// Pad the real JWKS with whitespace to exactly the cap, then one byte over.
	doc := f.iss.JWKS()
	atCap := append(bytes.Clone(doc), bytes.Repeat([]byte(" "), DefaultMaxBodyBytes-len(doc))...)
	b.set(jwksBody, append(bytes.Clone(atCap), ' '))
	if err := f.src.Refresh(t.Context()); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("body of cap+1 bytes: %v", err)
	}
	if f.src.Keys() != good {
		t.Fatal("an oversized body evicted the keys")
	}
	b.set(jwksBody, atCap)
	if err := f.src.Refresh(t.Context()); err != nil {
		t.Fatalf("body of exactly the cap: %v", err)
	}
}

// TestPromise2_UnknownKIDRefreshRateLimitedSingleFlight: a burst of tokens
// with unknown kids costs the JWKS endpoint one fetch, shared by every caller
// (single flight, even while the endpoint hangs), and no other fetch until 10s
// later; then one more.
func TestPromise2_UnknownKIDRefreshRateLimitedSingleFlight(t *testing.T) {
	f, b := brokenFixture(t, func(o *RemoteOptions) { o.FetchTimeout = time.Second })
	if f.src.opts.UnknownKIDMinInterval != 10*time.Second {
		t.Fatalf("default unknown-kid interval %v", f.src.opts.UnknownKIDMinInterval)
	}
	f.clk.Advance(10 * time.Second)
	before := b.requests.Load()

	// The endpoint hangs: every caller must join the one fetch in flight.
	b.set(jwksHang, nil)
	const n = 64
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	var refused atomic.Int64
	for i := range n {
		tok := longLived(f, testenv.WithKID("unknown-"+string(rune('a'+i%26))))
		wg.Go(func() {
			_, err := f.v.Verify(ctx, tok)
			if gatehouse.AsAuthError(err).Reason == gatehouse.ReasonTokenKeyUnknown {
				refused.Add(1)
			}
		})
	}
	// Wait (bounded) until the one fetch reached the server.
	waitFor(t, "the unknown-kid fetch", func() bool { return b.requests.Load() > before })
	// Let the callers give up (their contexts end), the fetch still running.
	cancel()
	wg.Wait()
	if refused.Load() != n {
		t.Fatalf("%d of %d unknown kids refused as unknown", refused.Load(), n)
	}
	b.set(jwksHealthy, nil)
	// The hanging request ends with the server's handler only when the
	// fetch's own context ends; release it by waiting for the flight.
	waitFor(t, "the fetch in flight to end", func() bool {
		f.src.mu.Lock()
		defer f.src.mu.Unlock()
		return f.src.inflight == nil
	})
	if got := b.requests.Load() - before; got != 1 {
		t.Fatalf("JWKS requests for %d unknown kids: %d, want 1", n, got)
	}
}

// waitFor polls cond (bounded, generous) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPromise2_UnknownKIDIntervalAfterAnyFetch: inside 10s of the last fetch
// an unknown kid costs nothing; at 10s it costs exactly one fetch, which finds
// a newly published key.
func TestPromise2_UnknownKIDIntervalAfterAnyFetch(t *testing.T) {
	f, b := brokenFixture(t, nil)
	kid := f.iss.AddKey()
	tok := longLived(f, testenv.WithKID(kid))
	before := b.requests.Load()
	for range 5 {
		f.clk.Advance(time.Second)
		id, err := f.verify(tok)
		wantReason(t, id, err, gatehouse.ReasonTokenKeyUnknown, false)
	}
	if got := b.requests.Load(); got != before {
		t.Fatalf("unknown kids inside the interval fetched %d times", got-before)
	}
	f.clk.Advance(5 * time.Second)
	id, err := f.verify(tok)
	wantReason(t, id, err, "", false)
	if got := b.requests.Load() - before; got != 1 {
		t.Fatalf("fetches at the interval: %d, want 1", got)
	}
}

// TestPromise2_OneBadKeyNeverSpoilsTheOthers: a JWKS holding, beside the
// issuer's real key, keys that are garbage, symmetric, too weak, of an
// unknown type or curve, for encryption, mislabelled, or not even objects,
// still lets tokens signed with the real key verify.
func TestPromise2_OneBadKeyNeverSpoilsTheOthers(t *testing.T) {
	f, b := brokenFixture(t, nil)
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(f.iss.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	weak := testenv.NewIssuer(t, testenv.WithKey(testenv.KeyRSA(1024), testenv.KeyID("weak")))
	var weakDoc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(weak.JWKS(), &weakDoc); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		`null`, `42`, `"key"`, `[]`, `{}`,
		`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`,
		`{"kty":"RSA","kid":"garbage","n":"!!!","e":"AQAB"}`,
		`{"kty":"EC","kid":"curve","crv":"P-192","x":"AA","y":"AA"}`,
		`{"kty":"OKP","kid":"x25519","crv":"X25519","x":"AAAA"}`,
		`{"kty":"QUANTUM","kid":"future"}`,
		variant(t, doc.Keys[0], "use", "enc", "kid", "enc-copy"),
		variant(t, doc.Keys[0], "alg", "ES256", "kid", "wrong-alg"),
		variant(t, doc.Keys[0], "key_ops", []string{"encrypt"}, "kid", "no-verify"),
	}
	for _, k := range weakDoc.Keys {
		if bytes.Contains(k, []byte(`"kid":"weak"`)) {
			bad = append(bad, string(k))
		}
	}
	if len(bad) != 14 {
		t.Fatalf("the weak key is missing from %s", weak.JWKS())
	}
	mixed := `{"keys":[` + strings.Join(bad[:6], ",") + "," + string(doc.Keys[0]) + "," + strings.Join(bad[6:], ",") + `]}`
	b.set(jwksBody, []byte(mixed))
	f.clk.Advance(time.Minute)
	if err := f.src.Refresh(t.Context()); err != nil {
		t.Fatalf("a JWKS with one good key among bad ones was refused: %v", err)
	}
	if kids := f.src.Keys().KIDs(); len(kids) != 1 || kids[0] != "rsa-1" {
		t.Fatalf("usable kids %v, want [rsa-1]", kids)
	}
	id, err := f.verify(longLived(f))
	wantReason(t, id, err, "", false)
	// The weak key's tokens are not accepted through it.
	id, err = f.verify(weak.Mint(with(f.iss.Claims(), "exp", f.clk.Now().Add(time.Hour).Unix()), testenv.WithKID("weak")))
	if err == nil {
		t.Fatalf("a token signed by a dropped weak key verified: %+v", id)
	}
}

// variant returns the JWK key with members replaced.
func variant(t *testing.T, key json.RawMessage, kv ...any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(key, &m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPromise2_BackgroundRefreshInterval: the background loop refreshes every
// 15 minutes by default, or as Cache-Control max-age says clamped to
// [5m, 24h] (and to half the maximum staleness, so keys never go stale while
// the IdP is up); after a failure it retries sooner, keeping the keys.
func TestPromise2_BackgroundRefreshInterval(t *testing.T) {
	f, b := brokenFixture(t, func(o *RemoteOptions) { o.MaxStaleness = 72 * time.Hour })
	fa := newFakeAfter()
	f.src.after = fa.after
	done := make(chan struct{})
	f.src.onStop = func() { close(done) }
	ctx, cancel := context.WithCancel(t.Context())
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("background loop outlived its context")
		}
	}()

	steps := []struct {
		cacheControl string
		down         bool
		want         time.Duration
	}{
		{"", false, DefaultRefreshInterval},
		{"max-age=60", false, 5 * time.Minute},            // clamped up
		{"public, max-age=1800", false, 30 * time.Minute}, // honoured
		{"max-age=31536000", false, 24 * time.Hour},       // clamped down
		{"no-store", false, DefaultRefreshInterval},
		{"", true, initialBackoff}, // failed: retry soon, keys kept
	}
	f.src.Start(ctx)
	for i, st := range steps {
		b.cache.Store(st.cacheControl)
		if st.down {
			b.set(jwksDown, nil)
		}
		if i > 0 {
			fa.fire <- time.Time{}
		}
		got := fa.nextWait(t)
		if got > st.want || got < st.want-st.want/10 {
			t.Fatalf("Cache-Control %q (down %v): next refresh in %v, want %v minus at most 10%% jitter", st.cacheControl, st.down, got, st.want)
		}
	}
	if f.src.Keys() == nil {
		t.Fatal("a failed background refresh evicted the keys")
	}
	// With the default maximum staleness, a long max-age is capped at 12h.
	r, err := NewRemote(t.Context(), RemoteOptions{IssuerURL: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.refreshInterval("max-age=86400"); got != 12*time.Hour {
		t.Fatalf("max-age=86400 with the default staleness: %v, want 12h", got)
	}
}

// TestPromise2_UnknownKIDWaitIsBounded: a Check carrying an unknown kid while
// the JWKS endpoint hangs does not wait for the fetch (up to the 5s fetch
// timeout, far past Envoy's 200ms, where failure_mode_allow would let it
// through): it waits at most UnknownKIDMaxWait (default 150ms), then is
// refused as unknown in band; the fetch goes on in the background.
func TestPromise2_UnknownKIDWaitIsBounded(t *testing.T) {
	f, b := brokenFixture(t, func(o *RemoteOptions) {
		o.FetchTimeout = 2 * time.Minute
		o.UnknownKIDMaxWait = 0 // the default, not the fixture's
	})
	if f.src.opts.UnknownKIDMaxWait != DefaultUnknownKIDMaxWait || DefaultUnknownKIDMaxWait != 150*time.Millisecond {
		t.Fatalf("unknown-kid wait %v, default %v; want 150ms", f.src.opts.UnknownKIDMaxWait, DefaultUnknownKIDMaxWait)
	}
	b.set(jwksHang, nil)
	f.clk.Advance(10 * time.Second)
	errc := make(chan error, 1)
	go func() {
		_, err := f.v.Verify(context.Background(), longLived(f, testenv.WithKID("new-during-outage")))
		errc <- err
	}()
	select {
	case err := <-errc:
		if gatehouse.AsAuthError(err).Reason != gatehouse.ReasonTokenKeyUnknown {
			t.Fatalf("unknown kid during a hanging fetch: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a Check with an unknown kid waited for a hanging JWKS fetch")
	}
	// Known keys are not held up by the fetch in flight either.
	id, err := f.verify(longLived(f))
	wantReason(t, id, err, "", false)
}

// TestPromise6_NoGoroutinePerRequestOutlivesIt: 200 Checks with unknown kids
// while the JWKS endpoint hangs all return (refused, in band) without
// leaving a goroutine each behind: what stays is the one fetch in flight and
// its HTTP connection.
func TestPromise6_NoGoroutinePerRequestOutlivesIt(t *testing.T) {
	f, b := brokenFixture(t, func(o *RemoteOptions) {
		o.FetchTimeout = 2 * time.Minute
		o.UnknownKIDMaxWait = 0 // the 150ms default
	})
	b.set(jwksHang, nil)
	f.clk.Advance(10 * time.Second)
	before := runtime.NumGoroutine()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		tok := longLived(f, testenv.WithKID(fmt.Sprintf("unknown-%d", i)))
		wg.Go(func() {
			if _, err := f.v.Verify(context.Background(), tok); gatehouse.AsAuthError(err).Reason != gatehouse.ReasonTokenKeyUnknown {
				t.Errorf("unknown kid: %v", err)
			}
		})
	}
	wg.Wait()
	// Goroutines of finished calls may take a moment to be gone: poll.
	deadline := time.Now().Add(30 * time.Second)
	for {
		extra := runtime.NumGoroutine() - before
		if extra <= 10 {
			t.Logf("%d goroutines beyond the baseline after %d Checks (the fetch in flight and its connection)", extra, n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines beyond the baseline after %d Checks returned", extra, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

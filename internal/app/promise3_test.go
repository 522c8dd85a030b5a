package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// TestPromise3_DatabaseDownOrSlow runs Gatehouse on a throwaway PostgreSQL
// cluster that the test stops, starts and slows down (a table lock), and
// checks promise 3 through the ext_authz door:
//   - JWT-only Checks are unaffected (same answers as healthy, never a 503);
//   - an API token seen before is served from the cache, then 503 once its
//     entry ages out (IDENTITY_CACHE_TTL, at most 60s); an unseen one is 503;
//   - with the database hanging, a store-backed Check is a 503 (the store
//     deadline), not a hang;
//   - after the database returns, Checks recover without a restart.
func TestPromise3_DatabaseDownOrSlow(t *testing.T) {
	pg := testenv.NewPGCluster(t)
	const (
		secretA = "svc-a-secret-0123456789abcdef"
		secretB = "svc-b-secret-0123456789abcdef"
		secretC = "svc-c-secret-0123456789abcdef"
	)
	iss := testenv.NewIssuer(t)
	cacheTTL := 10 * time.Second
	g := start(t, externalEnv(t, iss,
		"DATABASE_URL", pg.DSN(),
		"POLICY_DIR", auraPolicyDir(t),
		"IDENTITY_CACHE_TTL", cacheTTL.String(),
		"POLICY_EVAL_TIMEOUT", "5s", // the policy deadline is promise 4's
		"AUTH_TOKENS", "svc_a:"+secretA+":add_show\nsvc_b:"+secretB+":add_show\nsvc_c:"+secretC+":add_show",
	), true)
	f := &fixture{iss: iss, g: g}
	post := func(secret string) outcome {
		return g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(secret)})
	}
	jwtRoute := req{method: "GET", path: "/api/v1/shows"}
	jwtCheck := func(i int) outcome {
		r := jwtRoute
		r.headers = bearer(f.token(func(c map[string]any) { c["jti"] = time.Now().String() + string(rune('a'+i%26)) }))
		return g.decide(r)
	}
	healthyJWT := jwtCheck(0).status
	if healthyJWT >= 500 {
		t.Fatalf("healthy JWT Check: %d", healthyJWT)
	}
	// Latency of JWT-only Checks, healthy then with the database down:
	// logged, not asserted (promise: p99 at most 2x healthy; this machine's
	// load decides the figures).
	slowest := func(n int, check func(int)) time.Duration {
		var worst time.Duration
		for i := range n {
			t0 := time.Now()
			check(i)
			worst = max(worst, time.Since(t0))
		}
		return worst
	}
	healthySlowest := slowest(50, func(i int) { jwtCheck(i) })
	// Setup steps poll: on a machine loaded past its cores even a healthy
	// lookup can overrun the 150ms store budget (a correct 503).
	pollStatus(t, "the API token on a healthy database", time.Minute, func() outcome { return post(secretA) }, 200)
	warmed := time.Now()

	// Database down.
	pg.Stop()
	downSlowest := slowest(50, func(i int) {
		if o := jwtCheck(i); o.status != healthyJWT {
			t.Fatalf("JWT Check %d with the database down: %d (%s), healthy %d", i, o.status, o.reason, healthyJWT)
		}
	})
	t.Logf("slowest of 50 JWT-only Checks: %v healthy, %v with the database down", healthySlowest.Round(time.Microsecond), downSlowest.Round(time.Microsecond))
	if o := post(secretA); o.status != 200 {
		// Only a machine too loaded to stop PostgreSQL within the cache TTL
		// gets here; then the entry has aged out, as promised.
		if time.Since(warmed) < cacheTTL {
			t.Fatalf("cached API token with the database down: %d %s", o.status, o.reason)
		}
		t.Logf("cache entry aged out before the first Check (%v after warming)", time.Since(warmed))
	}
	wantReason(t, post(secretB), 503, "STORE_UNAVAILABLE")
	// The cached entry ages out: then 503, polled without timing anything.
	pollStatus(t, "the cached token to answer 503", 2*cacheTTL+time.Minute, func() outcome { return post(secretA) }, 503)

	// Database back: recovery without restart.
	pg.Start()
	back := time.Now()
	pollStatus(t, "recovery after the database returned", time.Minute, func() outcome { return post(secretB) }, 200)
	t.Logf("store-backed Checks recovered %v after the database returned (promise: 5s)", time.Since(back).Round(time.Millisecond))
	pollStatus(t, "the first token after recovery", time.Minute, func() outcome { return post(secretA) }, 200)

	// Database slow: a lock holds every read of api_tokens.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	locker, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// With the deadline Envoy would send (its timeout), the deny still
	// arrives as a response: a gRPC DeadlineExceeded instead would be an
	// allow behind failure_mode_allow. (1s, not Envoy's 200ms: this machine
	// may be loaded far past its cores.)
	dctx, dcancel := context.WithTimeout(ctx, time.Second)
	resp, err := g.authz.Check(dctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "POST", Path: "/api/v1/shows", Host: "api.example", Headers: tokenHeader(secretC)},
	}}})
	dcancel()
	if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 503 {
		t.Fatalf("a Check with a 1s deadline while the database hangs: %v %v, want a 503 deny in band", resp, err)
	}
	o := post(secretC) // g.decide itself gives up after 5s
	if o.status != 503 || !strings.Contains(o.reason, "STORE_UNAVAILABLE") {
		t.Fatalf("uncached token with the database hanging: %d %s", o.status, o.reason)
	}
	for i := range 20 {
		if o := jwtCheck(i); o.status != healthyJWT {
			t.Fatalf("JWT Check with the database hanging: %d (%s)", o.status, o.reason)
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	pollStatus(t, "recovery after the lock was released", time.Minute, func() outcome { return post(secretC) }, 200)
}

// pollStatus asks until the outcome has status, failing after limit.
func pollStatus(t *testing.T, what string, limit time.Duration, ask func() outcome, status int) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		o := ask()
		if o.status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: last %d %s %s", what, o.status, o.reason, o.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

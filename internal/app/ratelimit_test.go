package app_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

const rateLimited = `{"name":"RateLimitExceededError","message":"Too many authentication requests from this IP address"}`

// login posts a wrong password (the IdP is asked every time: the limit
// counts every request, success or not) and returns the status.
func (g *gh) loginFrom(headers map[string]string) (int, http.Header, string) {
	g.t.Helper()
	return g.call("POST", "/api/v3/user/login", `{"email":"alice","password":"wrong"}`, headers)
}

// TestRL01ThirdLoginIs429: with max 2 the third login from one IP in the
// window is 429 with the Controller's body and Retry-After ≥ 1.
func TestRL01ThirdLoginIs429(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "2")
	for i := range 2 {
		if code, _, body := g.loginFrom(nil); code != http.StatusUnauthorized {
			t.Fatalf("login %d: %d %s", i+1, code, body)
		}
	}
	code, h, body := g.loginFrom(nil)
	if code != http.StatusTooManyRequests {
		t.Fatalf("3rd login: %d %s", code, body)
	}
	wantJSON(t, "429", body, rateLimited)
	if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 || n > 60 {
		t.Fatalf("Retry-After = %q", h.Get("Retry-After"))
	}
}

// TestRL02SecondIPCountedApart: connections from 127.0.0.2 are another
// client.
func TestRL02SecondIPCountedApart(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "1")
	if code, _, _ := g.loginFrom(nil); code != http.StatusUnauthorized {
		t.Fatalf("first login: %d", code)
	}
	if code, _, _ := g.loginFrom(nil); code != http.StatusTooManyRequests {
		t.Fatalf("second login from the same IP: %d", code)
	}
	resp, err := dialFrom("127.0.0.2").Post(g.base+"/api/v3/user/login", "application/json", strings.NewReader(`{"email":"alice","password":"wrong"}`))
	if err != nil {
		t.Skipf("cannot connect from 127.0.0.2 on this machine: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login from 127.0.0.2: %d", resp.StatusCode)
	}
}

// TestRL03LimitedPaths: login, OAuth authorize and callback,
// change-password, MFA enroll and confirm and POST interaction/<uid>/… all
// count.
func TestRL03LimitedPaths(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "1", "TRUST_PROXY", "true")
	paths := []struct{ method, path string }{
		{"POST", "/api/v3/user/login"},
		{"GET", "/api/v3/user/oauth/authorize"},
		{"GET", "/api/v3/user/oauth/callback?code=x&state=y"},
		{"POST", "/api/v3/user/change-password"},
		{"POST", "/api/v3/user/mfa/enroll"},
		{"POST", "/api/v3/user/mfa/confirm"},
		{"POST", "/api/v3/user/interaction/abc/login"},
		{"POST", "/api/v3/user/interaction/abc/complete"},
	}
	for i, p := range paths {
		h := map[string]string{"X-Forwarded-For": "198.51.100." + strconv.Itoa(i+1)}
		if code, _, body := g.call(p.method, p.path, "{}", h); code == http.StatusTooManyRequests {
			t.Fatalf("%s %s first request: 429 %s", p.method, p.path, body)
		}
		if code, _, body := g.call(p.method, p.path, "{}", h); code != http.StatusTooManyRequests {
			t.Errorf("%s %s second request: %d %s, want 429", p.method, p.path, code, body)
		}
	}
}

// TestRL04UnlimitedPaths: refresh, profile and GET interaction/<uid> never
// count.
func TestRL04UnlimitedPaths(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "1")
	for _, p := range []struct{ method, path string }{
		{"POST", "/api/v3/user/refresh"},
		{"GET", "/api/v3/user/profile"},
		{"GET", "/api/v3/user/interaction/abc"},
	} {
		for i := range 3 {
			if code, _, body := g.call(p.method, p.path, `{"refreshToken":"x"}`, nil); code == http.StatusTooManyRequests {
				t.Fatalf("%s %s request %d: 429 %s", p.method, p.path, i+1, body)
			}
		}
	}
}

// TestRL05Disabled: AUTH_RATE_LIMIT_ENABLED=false → never 429.
func TestRL05Disabled(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "1", "AUTH_RATE_LIMIT_ENABLED", "false")
	for i := range 4 {
		if code, _, _ := g.loginFrom(nil); code == http.StatusTooManyRequests {
			t.Fatalf("login %d: 429 while disabled", i+1)
		}
	}
}

// TestRL06TrustProxy: with TRUST_PROXY=true the forwarded client IP is the
// key; without it X-Forwarded-For is ignored (CF-13 for the client IP).
func TestRL06TrustProxy(t *testing.T) {
	idp := startIdP(t)
	trusted := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "1", "TRUST_PROXY", "true")
	for _, ip := range []string{"203.0.113.1", "203.0.113.2"} {
		if code, _, _ := trusted.loginFrom(map[string]string{"X-Forwarded-For": ip}); code != http.StatusUnauthorized {
			t.Fatalf("first login from %s: %d", ip, code)
		}
	}
	if code, _, _ := trusted.loginFrom(map[string]string{"X-Forwarded-For": "203.0.113.1"}); code != http.StatusTooManyRequests {
		t.Fatalf("second login from 203.0.113.1: %d", code)
	}
	// One proxy hop: a client-supplied left part does not change the key.
	if code, _, _ := trusted.loginFrom(map[string]string{"X-Forwarded-For": "10.9.9.9, 203.0.113.2"}); code != http.StatusTooManyRequests {
		t.Fatalf("spoofed left-most entry changed the client IP: %d", code)
	}

	untrusted := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "1")
	untrusted.loginFrom(map[string]string{"X-Forwarded-For": "203.0.113.1"})
	if code, _, _ := untrusted.loginFrom(map[string]string{"X-Forwarded-For": "203.0.113.2"}); code != http.StatusTooManyRequests {
		t.Fatalf("forwarded header honoured without TRUST_PROXY: %d", code)
	}
}

// TestRL07WindowSharedByReplicas: two Gatehouse processes on one
// PostgreSQL count one window per client IP.
func TestRL07WindowSharedByReplicas(t *testing.T) {
	db := testenv.PostgresSchemaURL(t, "gh_ext")
	idp := startIdP(t)
	a := startExternal(t, idp, "DATABASE_URL", db, "AUTH_RATE_LIMIT_MAX_REQUESTS", "2")
	b := startExternal(t, idp, "DATABASE_URL", db, "AUTH_RATE_LIMIT_MAX_REQUESTS", "2")
	if code, _, _ := a.loginFrom(nil); code != http.StatusUnauthorized {
		t.Fatalf("1st on A: %d", code)
	}
	if code, _, _ := b.loginFrom(nil); code != http.StatusUnauthorized {
		t.Fatalf("2nd on B: %d", code)
	}
	if code, _, body := a.loginFrom(nil); code != http.StatusTooManyRequests {
		t.Fatalf("3rd on A: %d %s (window not shared)", code, body)
	}
}

// TestBF10SessionSharedByReplicas: with the database session store,
// authorize on A and callback on B succeeds; with memory it is 401.
func TestBF10SessionSharedByReplicas(t *testing.T) {
	idp := startIdP(t)
	for _, tc := range []struct {
		store string
		want  int
	}{{"database", http.StatusFound}, {"memory", http.StatusUnauthorized}} {
		t.Run(tc.store, func(t *testing.T) {
			db := testenv.PostgresSchemaURL(t, "gh_ext")
			a := startExternal(t, idp, "DATABASE_URL", db, "AUTH_SESSION_STORE_TYPE", tc.store)
			// B serves the same public URL (a load balancer would send the
			// callback to either).
			b := startExternal(t, idp, "DATABASE_URL", db, "AUTH_SESSION_STORE_TYPE", tc.store, "CONTROLLER_PUBLIC_URL", a.base)
			br := newBrowser(t)
			br.c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
				if strings.HasSuffix(r.URL.Path, "/api/v3/user/oauth/callback") {
					u := *r.URL
					br.callback = &u
					return http.ErrUseLastResponse
				}
				return nil
			}
			resp := br.signIn(a, testenv.IdPAlice, testenv.IdPAlicePassword)
			resp.Body.Close()
			if br.callback == nil {
				t.Fatalf("no callback redirect (status %d)", resp.StatusCode)
			}
			br.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := br.c.Get(b.base + br.callback.RequestURI())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("callback on B: %d %s", resp.StatusCode, body)
			}
			if tc.want == http.StatusFound {
				resp.Body = io.NopCloser(strings.NewReader(""))
				if f := fragment(t, resp); f.Get("accessToken") == "" {
					t.Fatalf("no access token: %v", f)
				}
			}
		})
	}
}

// TestCF10SessionSecretGeneratedOnce: unset AUTH_SESSION_SECRET → a random
// secret generated once, kept across restarts and shared by replicas.
func TestCF10SessionSecretGeneratedOnce(t *testing.T) {
	idp := startIdP(t)
	dir := t.TempDir()
	first := startExternal(t, idp, "DATA_DIR", dir)
	s1, err := first.app.SessionSecret(context.Background())
	if err != nil || len(s1) != 32 {
		t.Fatalf("secret %d bytes, %v", len(s1), err)
	}
	first.stop()
	again := startExternal(t, idp, "DATA_DIR", dir)
	s2, _ := again.app.SessionSecret(context.Background())
	if string(s1) != string(s2) {
		t.Fatal("secret changed across a restart")
	}
	set := startExternal(t, idp, "AUTH_SESSION_SECRET", "operator-chosen-secret-value")
	s4, _ := set.app.SessionSecret(context.Background())
	if string(s4) != "operator-chosen-secret-value" {
		t.Fatal("AUTH_SESSION_SECRET not used")
	}

	// Replicas on one PostgreSQL share the generated secret.
	db := testenv.PostgresSchemaURL(t, "gh_ext")
	ra := startExternal(t, idp, "DATABASE_URL", db)
	rb := startExternal(t, idp, "DATABASE_URL", db)
	sa, _ := ra.app.SessionSecret(context.Background())
	sb, _ := rb.app.SessionSecret(context.Background())
	if len(sa) != 32 || string(sa) != string(sb) {
		t.Fatal("replicas do not share the generated secret")
	}
}

// TestCF14SessionSecretNeverAConstant: two deployments that set no
// AUTH_SESSION_SECRET get different, random secrets.
func TestCF14SessionSecretNeverAConstant(t *testing.T) {
	idp := startIdP(t)
	a := startExternal(t, idp)
	b := startExternal(t, idp)
	sa, err := a.app.SessionSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := b.app.SessionSecret(context.Background())
	if len(sa) != 32 || string(sa) == string(sb) {
		t.Fatal("two deployments share a session secret: a built-in constant?")
	}
}

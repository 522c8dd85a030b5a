package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// The replica tests run two real `gatehouse serve` processes in external
// mode against the npm oidc-provider and one PostgreSQL schema: what the
// in-process TestBF10SessionSharedByReplicas and TestRL07WindowSharedByReplicas
// (internal/app) check, across OS processes that share nothing but the
// database.

const replicaConsole = "http://console.test"

// replicaIdP starts the IdP with Gatehouse's callback registered (any
// loopback port: RFC 8252 loopback redirect).
func replicaIdP(t *testing.T) *testenv.IdP {
	t.Helper()
	return testenv.StartIdP(t, testenv.IdPOptions{RedirectURIs: []string{"http://127.0.0.1/api/v3/user/oauth/callback"}})
}

// replica is one `gatehouse serve` process with its HTTP base URL.
type replica struct {
	p    *proc
	base string // http://127.0.0.1:port
}

// startReplica starts `gatehouse serve` in external mode against idp with
// kv overriding the environment, and returns once gRPC health is SERVING.
func startReplica(t *testing.T, idp *testenv.IdP, kv ...string) *replica {
	t.Helper()
	env := map[string]string{
		"AUTH_MODE":                "external",
		"OIDC_ISSUER_URL":          idp.Issuer,
		"OIDC_CLIENT_ID":           idp.ClientID,
		"OIDC_CLIENT_SECRET":       idp.ClientSecret,
		"AUTH_INSECURE_ALLOW_HTTP": "true",
		"DATA_DIR":                 t.TempDir(),
		"CONSOLE_URL":              replicaConsole,
		"LOG_DECISIONS":            "false",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	p := startServe(t, env)
	var addrs [2]string
	select {
	case addrs = <-p.addrs:
	case <-p.exited:
		t.Fatalf("gatehouse serve exited: %v; logs:\n%s", p.err, p.logs())
	case <-time.After(2 * time.Minute):
		t.Fatalf("gatehouse serve never listened; logs:\n%s", p.logs())
	}
	conn, err := grpc.NewClient("passthrough:///"+addrs[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	waitServing(t, p, conn)
	return &replica{p: p, base: "http://" + addrs[1]}
}

// startReplicaPair starts two processes on one database: A listens on a
// port chosen beforehand and is the public URL of both (a load balancer may
// send any request to either), B on another port.
func startReplicaPair(t *testing.T, idp *testenv.IdP, kv ...string) (a, b *replica) {
	t.Helper()
	ln := testenv.Listen(t)
	addr := ln.Addr().String()
	_ = ln.Close()
	public := "http://" + addr
	a = startReplica(t, idp, append([]string{"HTTP_ADDR", addr, "CONTROLLER_PUBLIC_URL", public}, kv...)...)
	b = startReplica(t, idp, append([]string{"CONTROLLER_PUBLIC_URL", public}, kv...)...)
	if a.base == b.base {
		t.Fatalf("both processes serve %s", a.base)
	}
	return a, b
}

var replicaFormAction = regexp.MustCompile(`action="([^"]+)"`)

// TestBF10SessionSharedByTwoProcesses: with AUTH_SESSION_STORE_TYPE=database
// the BFF authorize answered by process A and the IdP's callback answered by
// process B complete the sign-in (302 to the console with tokens); with the
// memory store B does not know the session (401), so the request really
// reached the other process.
func TestBF10SessionSharedByTwoProcesses(t *testing.T) {
	testenv.PostgresDSN(t) // before the IdP: one skip line, not one per case
	idp := replicaIdP(t)
	for _, tc := range []struct {
		store string
		want  int
	}{{"database", http.StatusFound}, {"memory", http.StatusUnauthorized}} {
		t.Run(tc.store, func(t *testing.T) {
			a, b := startReplicaPair(t, idp, "DATABASE_URL", testenv.PostgresSchemaURL(t, "gh_proc"), "AUTH_SESSION_STORE_TYPE", tc.store)

			// A browser: authorize on A, the IdP's login form, stopping at
			// the redirect to Gatehouse's callback.
			jar, _ := cookiejar.New(nil)
			var callback *url.URL
			c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
				if strings.HasSuffix(r.URL.Path, "/api/v3/user/oauth/callback") {
					u := *r.URL
					callback = &u
					return http.ErrUseLastResponse
				}
				if len(via) > 20 {
					return http.ErrUseLastResponse
				}
				return nil
			}}
			resp, err := c.Get(a.base + "/api/v3/user/oauth/authorize")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := replicaFormAction.FindSubmatch(page)
			if resp.StatusCode != http.StatusOK || m == nil {
				t.Fatalf("authorize on A: expected the IdP's login form, got %d %s", resp.StatusCode, page)
			}
			action, err := resp.Request.URL.Parse(string(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			resp, err = c.PostForm(action.String(), url.Values{"login": {testenv.IdPAlice}, "password": {testenv.IdPAlicePassword}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if callback == nil {
				t.Fatalf("the IdP never redirected to the callback (status %d)", resp.StatusCode)
			}
			if callback.Query().Get("code") == "" {
				t.Fatalf("callback without a code: %s", callback)
			}

			// The callback goes to B, with the browser's cookies.
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err = c.Get(b.base + callback.RequestURI())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("callback on B: %d %s; logs of B:\n%s", resp.StatusCode, body, b.p.logs())
			}
			if tc.want != http.StatusFound {
				return
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != replicaConsole+"/login" {
				t.Fatalf("callback on B redirects to %q, want %s/login#…", resp.Header.Get("Location"), replicaConsole)
			}
			frag, err := url.ParseQuery(loc.EscapedFragment())
			if err != nil || frag.Get("accessToken") == "" || frag.Get("refreshToken") == "" {
				t.Fatalf("no tokens in the fragment %q (%v)", loc.EscapedFragment(), err)
			}
		})
	}
}

// TestRL07WindowSharedByTwoProcesses: with AUTH_RATE_LIMIT_MAX_REQUESTS=2,
// logins from one client IP spread over processes A and B count in one
// window: the third (on A, which has seen one) is 429 with Retry-After, and
// so is a fourth on B.
func TestRL07WindowSharedByTwoProcesses(t *testing.T) {
	db := testenv.PostgresSchemaURL(t, "gh_proc")
	idp := replicaIdP(t)
	a, b := startReplicaPair(t, idp, "DATABASE_URL", db, "AUTH_SESSION_STORE_TYPE", "database",
		"AUTH_RATE_LIMIT_MAX_REQUESTS", "2")
	c := &http.Client{Timeout: 30 * time.Second}
	login := func(r *replica) (int, http.Header, string) {
		t.Helper()
		resp, err := c.Post(r.base+"/api/v3/user/login", "application/json", strings.NewReader(`{"email":"alice","password":"wrong"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	if code, _, body := login(a); code != http.StatusUnauthorized {
		t.Fatalf("1st login, on A: %d %s", code, body)
	}
	if code, _, body := login(b); code != http.StatusUnauthorized {
		t.Fatalf("2nd login, on B: %d %s", code, body)
	}
	for i, r := range []*replica{a, b} {
		code, h, body := login(r)
		if code != http.StatusTooManyRequests {
			t.Fatalf("login %d, on %c: %d %s (the window is not shared)", i+3, 'A'+i, code, body)
		}
		if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 || n > 60 {
			t.Fatalf("login %d: Retry-After = %q", i+3, h.Get("Retry-After"))
		}
		if !strings.Contains(body, "RateLimitExceededError") {
			t.Fatalf("login %d: 429 body %s", i+3, body)
		}
	}
}

package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// The login doors are the same in both modes (issue 6): the Controller's
// REST routes and gatehouse.v1's login methods answer with the same shapes
// whether an external IdP or the embedded issuer holds the users.

// loginMode starts Gatehouse in one mode with a user who may log in.
type loginMode struct {
	name string
	// rotates: every refresh returns a new refresh token (RF-01, embedded;
	// in external mode the IdP decides, and oidc-provider does not rotate
	// a confidential client's).
	rotates bool
	// logoutAll: logout revokes every refresh token of the user (LO-02,
	// embedded); an IdP revokes the one sent.
	logoutAll bool
	start     func(t *testing.T, kv ...string) (g *gh, user, pass string)
}

var loginModes = []loginMode{
	{"external", false, false, func(t *testing.T, kv ...string) (*gh, string, string) {
		return startExternal(t, startIdP(t), kv...), testenv.IdPAlice, testenv.IdPAlicePassword
	}},
	{"embedded", true, true, func(t *testing.T, kv ...string) (*gh, string, string) {
		e := startEmbedded(t, kv...)
		e.user("dora@example.com", userPass, "developer")
		return e.gh, "dora@example.com", userPass
	}},
}

// TestLG04RF06LO01UserRoutesInBothModes: login, refresh, profile and
// logout over REST answer alike in external and embedded mode: the
// {accessToken, refreshToken} pair, 401 Invalid credentials for any refusal,
// 400 ValidationError for a missing field (LG-04, RF-06), the profile for a
// valid bearer only, and logout 204 with an empty body (LO-01) after which
// the refresh token is dead.
func TestLG04RF06LO01UserRoutesInBothModes(t *testing.T) {
	for _, m := range loginModes {
		t.Run(m.name, func(t *testing.T) {
			g, user, pass := m.start(t)
			p := g.cliLogin(user, pass)
			code, _, body := g.call("POST", "/api/v3/user/login", `{"email":"`+user+`","password":"`+pass+`","totp":""}`, nil)
			if code != http.StatusOK {
				t.Fatalf("LG-01: %d %s", code, body)
			}
			wantKeys(t, "LG-01 login body", body, "accessToken", "refreshToken")
			wantStatus(t, g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(p.AccessToken)}), 200)

			for _, body := range []string{
				`{"email":"` + user + `","password":"Wrong-Password-123","totp":""}`, // LG-02
				`{"email":"nobody@example.com","password":"Wrong-Password-123"}`,     // LG-03
			} {
				code, _, got := g.call("POST", "/api/v3/user/login", body, nil)
				if code != http.StatusUnauthorized {
					t.Fatalf("%s: %d %s", body, code, got)
				}
				wantJSON(t, body, got, invalidCredentials)
			}
			// LG-04
			for _, tc := range []struct{ body, field string }{
				{`{"email":"` + user + `"}`, "password"},
				{`{"email":"` + user + `","password":""}`, "password"},
				{`{"password":"` + pass + `"}`, "email"},
				{`{}`, "email"},
			} {
				code, _, got := g.call("POST", "/api/v3/user/login", tc.body, nil)
				if code != http.StatusBadRequest {
					t.Fatalf("LG-04 %s: %d %s", tc.body, code, got)
				}
				wantJSON(t, "LG-04 "+tc.body, got, `{"name":"ValidationError","message":"Required field '`+tc.field+`' is missing"}`)
			}

			// RF-01 and RF-06.
			code, _, body = g.call("POST", "/api/v3/user/refresh", `{"refreshToken":"`+p.RefreshToken+`"}`, nil)
			if code != http.StatusOK {
				t.Fatalf("RF-01: %d %s", code, body)
			}
			wantKeys(t, "RF-01 refresh body", body, "accessToken", "refreshToken")
			var next tokenPair
			_ = json.Unmarshal([]byte(body), &next)
			if next.AccessToken == "" || next.RefreshToken == "" || (m.rotates && next.RefreshToken == p.RefreshToken) {
				t.Fatalf("RF-01: %s", body)
			}
			for _, b := range []string{`{}`, `{"refreshToken":""}`} {
				code, _, body = g.call("POST", "/api/v3/user/refresh", b, nil)
				if code != http.StatusBadRequest {
					t.Fatalf("RF-06 %s: %d %s", b, code, body)
				}
				wantJSON(t, "RF-06", body, `{"name":"ValidationError","message":"Required field 'refreshToken' is missing"}`)
			}
			code, _, body = g.call("POST", "/api/v3/user/refresh", `{"refreshToken":"forged"}`, nil)
			if code != http.StatusUnauthorized {
				t.Fatalf("forged refresh: %d %s", code, body)
			}
			wantJSON(t, "forged refresh", body, invalidCredentials)

			// PF-01 / PF-02: the profile for a valid bearer; TV-07.
			auth := map[string]string{"Authorization": "Bearer " + next.AccessToken}
			code, _, body = g.call("GET", "/api/v3/user/profile", "", auth)
			if code != http.StatusOK {
				t.Fatalf("profile: %d %s", code, body)
			}
			var prof map[string]any
			if err := json.Unmarshal([]byte(body), &prof); err != nil || prof["sub"] == nil || prof["preferred_username"] == nil {
				t.Fatalf("profile: %s", body)
			}
			for _, h := range []map[string]string{nil, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Bearer " + next.RefreshToken}} {
				for _, rt := range []struct{ method, path string }{{"GET", "/api/v3/user/profile"}, {"POST", "/api/v3/user/logout"}} {
					if code, _, body := g.call(rt.method, rt.path, "", h); code != http.StatusUnauthorized {
						t.Fatalf("TV-07 %s %s with %v: %d %s", rt.method, rt.path, h, code, body)
					}
				}
			}

			// LO-01: 204, empty body; the refresh token is dead afterwards
			// (and in embedded mode every other one of the user, LO-02).
			other := g.cliLogin(user, pass)
			code, _, body = g.call("POST", "/api/v3/user/logout", `{"refreshToken":"`+next.RefreshToken+`"}`, auth)
			if code != http.StatusNoContent || body != "" {
				t.Fatalf("LO-01: %d %q", code, body)
			}
			code, _, body = g.call("POST", "/api/v3/user/refresh", `{"refreshToken":"`+next.RefreshToken+`"}`, nil)
			if code != http.StatusUnauthorized {
				t.Fatalf("refresh after logout: %d %s", code, body)
			}
			wantJSON(t, "refresh after logout", body, invalidCredentials)
			if m.logoutAll {
				code, _, body = g.call("POST", "/api/v3/user/refresh", `{"refreshToken":"`+other.RefreshToken+`"}`, nil)
				if code != http.StatusUnauthorized {
					t.Fatalf("LO-02: another session's refresh token after logout: %d %s", code, body)
				}
			}
			// Without a body (the console sends none) it is 204 too.
			p = g.cliLogin(user, pass)
			code, _, body = g.call("POST", "/api/v3/user/logout", "", map[string]string{"Authorization": "Bearer " + p.AccessToken})
			if code != http.StatusNoContent || body != "" {
				t.Fatalf("LO-01 without body: %d %q", code, body)
			}
		})
	}
}

// wantKeys checks a JSON object has exactly keys.
func wantKeys(t *testing.T, what, body string, keys ...string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %q is not a JSON object", what, body)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("%s: keys %v, want %v (%s)", what, got, keys, body)
	}
}

// TestLG01LO01GRPCInBothModes: gatehouse.v1's Login, Refresh, GetProfile
// and Logout over gRPC, in both modes.
func TestLG01LO01GRPCInBothModes(t *testing.T) {
	for _, m := range loginModes {
		t.Run(m.name, func(t *testing.T) {
			g, user, pass := m.start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: user, Password: "Wrong-Password-123"})
			if c, name := errorName(err); c != codes.Unauthenticated || name != "InvalidCredentialsError" {
				t.Fatalf("wrong password: %v", err)
			}
			_, err = g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: user})
			if c, name := errorName(err); c != codes.InvalidArgument || name != "ValidationError" {
				t.Fatalf("missing password: %v", err)
			}
			tok, err := g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: user, Password: pass})
			if err != nil || tok.GetAccessToken() == "" || tok.GetRefreshToken() == "" {
				t.Fatalf("login: %v %v", tok, err)
			}
			next, err := g.v1.Refresh(ctx, &gatehousev1.RefreshRequest{RefreshToken: tok.GetRefreshToken()})
			if err != nil || next.GetAccessToken() == "" {
				t.Fatalf("refresh: %v", err)
			}
			authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+next.GetAccessToken())
			p, err := g.v1.GetProfile(authed, &gatehousev1.GetProfileRequest{})
			if err != nil || p.GetProfile().GetFields()["sub"].GetStringValue() == "" {
				t.Fatalf("profile: %v %v", p, err)
			}
			if _, err := g.v1.GetProfile(ctx, &gatehousev1.GetProfileRequest{}); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("profile without bearer: %v", err)
			}
			if _, err := g.v1.Logout(authed, &gatehousev1.LogoutRequest{RefreshToken: next.GetRefreshToken()}); err != nil {
				t.Fatalf("logout: %v", err)
			}
			if _, err := g.v1.Refresh(ctx, &gatehousev1.RefreshRequest{RefreshToken: next.GetRefreshToken()}); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("refresh after logout: %v", err)
			}
		})
	}
}

// TestRL01LoginLimitedInBothModes: the third login from one IP in the
// window is 429 with Retry-After in both modes, over REST and gRPC.
func TestRL01LoginLimitedInBothModes(t *testing.T) {
	for _, m := range loginModes {
		t.Run(m.name, func(t *testing.T) {
			g, user, _ := m.start(t, "AUTH_RATE_LIMIT_MAX_REQUESTS", "2")
			wrong := `{"email":"` + user + `","password":"Wrong-Password-123"}`
			for i := range 2 {
				if code, _, body := g.call("POST", "/api/v3/user/login", wrong, nil); code != http.StatusUnauthorized {
					t.Fatalf("login %d: %d %s", i+1, code, body)
				}
			}
			code, h, body := g.call("POST", "/api/v3/user/login", wrong, nil)
			if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
				t.Fatalf("3rd login: %d %v %s", code, h, body)
			}
			wantJSON(t, "429", body, rateLimited)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: user, Password: "Wrong-Password-123"})
			if c, name := errorName(err); c != codes.ResourceExhausted || name != "RateLimitExceededError" {
				t.Fatalf("gRPC login over the limit: %v", err)
			}
		})
	}
}

// embeddedConsole starts Gatehouse in embedded mode with CONSOLE_URL set to
// consoleURL (the browser stops there) and kv.
func embeddedConsole(t *testing.T, kv ...string) *eg {
	return startEmbedded(t, append([]string{"CONSOLE_URL", consoleURL}, kv...)...)
}

// TestBF02BF11EmbeddedBFF: in embedded mode the BFF's authorize sends the
// browser to {PUBLIC_URL}/oidc/auth with prompt=login as the built-in client
// (code flow, PKCE S256, state, nonce, the callback as redirect URI); after
// the login page the callback hands the console a CLI-shaped pair that
// passes Check (BF-11) and cannot be replayed (BF-06).
func TestBF02BF11EmbeddedBFF(t *testing.T) {
	e := embeddedConsole(t)
	e.user("bo@example.com", userPass, "viewer")
	code, h, body := e.call("GET", "/api/v3/user/oauth/authorize", "", nil)
	if code != http.StatusFound {
		t.Fatalf("authorize: %d %s", code, body)
	}
	loc, _ := url.Parse(h.Get("Location"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != e.issuer+"/auth" {
		t.Fatalf("BF-02: redirect to %s, want %s/auth", got, e.issuer)
	}
	q := loc.Query()
	for k, v := range map[string]string{
		"response_type": "code", "client_id": "controller", "redirect_uri": e.pub + "/api/v3/user/oauth/callback",
		"scope": "openid profile email groups offline_access", "code_challenge_method": "S256", "prompt": "login",
	} {
		if q.Get(k) != v {
			t.Errorf("BF-02: %s = %q, want %q", k, q.Get(k), v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 32 {
			t.Errorf("BF-02: %s = %q: missing or short", k, q.Get(k))
		}
	}
	checkSessionCookie(t, h, 600, false)

	var callback string
	c := cookieBrowser(t, consoleURL)
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if strings.HasSuffix(r.URL.Path, "/api/v3/user/oauth/callback") {
			callback = r.URL.String()
		}
		if strings.HasPrefix(r.URL.String(), consoleURL) || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(e.pub + "/api/v3/user/oauth/authorize")
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d %s", resp.StatusCode, page)
	}
	resp = submit(t, c, e.pub, page, url.Values{"username": {"bo@example.com"}, "password": {userPass}})
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("callback headers: %v", resp.Header)
	}
	f := fragment(t, resp)
	at := f.Get("accessToken")
	if at == "" || f.Get("refreshToken") == "" {
		t.Fatalf("BF-11: fragment %v", f)
	}
	if cl := jwtClaims(t, at); cl["preferred_username"] != "bo@example.com" || cl["aud"] != "controller" || cl["token_use"] != "access" {
		t.Fatalf("BF-11: access token claims %v", cl)
	}
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(at)}), 200)
	// The pair is the CLI's: it refreshes on the REST route.
	if code, _, body := e.call("POST", "/api/v3/user/refresh", `{"refreshToken":"`+f.Get("refreshToken")+`"}`, nil); code != 200 {
		t.Fatalf("refresh of the browser's pair: %d %s", code, body)
	}
	// BF-06: the callback again → 401.
	if callback == "" {
		t.Fatal("callback not seen")
	}
	resp, err = c.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("BF-06: replayed callback %d %s", resp.StatusCode, body)
	}
}

// TestBF11EmbeddedBFFRefusesDeletedUser: a user deleted between the login
// page and the callback gets no tokens.
func TestBF11EmbeddedBFFRefusesDeletedUser(t *testing.T) {
	e := embeddedConsole(t)
	u := e.user("gone@example.com", userPass, "viewer")
	c := cookieBrowser(t, e.pub+"/api/v3/user/oauth/callback")
	resp, err := c.Get(e.pub + "/api/v3/user/oauth/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp = submit(t, c, e.pub, readBody(t, resp), url.Values{"username": {"gone@example.com"}, "password": {userPass}})
	readBody(t, resp)
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, e.pub+"/api/v3/user/oauth/callback?") {
		t.Fatalf("login page: %d %q", resp.StatusCode, callback)
	}
	if err := e.app.Store().DeleteUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "accessToken") {
		t.Fatalf("callback for a deleted user: %d %s", resp.StatusCode, body)
	}
}

// TestBF02EmbeddedBFFThroughConsoleInteraction: with AUTH_INTERACTION_URL
// = {CONSOLE_URL}/login/oauth the issuer sends the browser to the console,
// which drives the interaction API; the completion leads through the BFF's
// callback to the console's fragment.
func TestBF02EmbeddedBFFThroughConsoleInteraction(t *testing.T) {
	e := embeddedConsole(t, "AUTH_INTERACTION_URL", consoleURL+"/login/oauth")
	e.user("cy@example.com", userPass, "viewer")
	c := cookieBrowser(t, consoleURL)
	resp, err := c.Get(e.pub + "/api/v3/user/oauth/authorize")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, consoleURL+"/login/oauth?interaction=") {
		t.Fatalf("BF-02: the issuer sends the browser to %d %q", resp.StatusCode, loc)
	}
	p := "/api/v3/user/interaction/" + loc[strings.Index(loc, "=")+1:]
	if s, m := e.api(t, "POST", p+"/login", "", `{"email":"cy@example.com","password":"`+userPass+`"}`); s != 200 || m["step"] != "complete" {
		t.Fatalf("interaction login: %d %v", s, m)
	}
	s, m := e.api(t, "POST", p+"/complete", "", "")
	redirect, _ := m["redirectTo"].(string)
	if s != 200 || !strings.HasPrefix(redirect, e.pub+"/api/v3/user/oauth/callback?") {
		t.Fatalf("complete: %d %v", s, m)
	}
	resp, err = c.Get(redirect) // the console sends the browser on
	if err != nil {
		t.Fatal(err)
	}
	f := fragment(t, resp)
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.Get("accessToken"))}), 200)
}

// storedSecrets reads every value of the store's auth_secrets table.
func storedSecrets(t *testing.T, g *gh, dsn string) [][]byte {
	t.Helper()
	ctx := context.Background()
	var out [][]byte
	if dsn != "" {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, "SELECT value FROM auth_secrets")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(g.dataDir, app.SQLiteFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT value FROM auth_secrets")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantSealed checks g's generated session secret is in the store, but not
// in clear.
func wantSealed(t *testing.T, g *gh, dsn string) []byte {
	t.Helper()
	s, err := g.app.SessionSecret(context.Background())
	if err != nil || len(s) != 32 {
		t.Fatalf("secret %d bytes, %v", len(s), err)
	}
	stored := storedSecrets(t, g, dsn)
	if len(stored) == 0 {
		t.Fatal("no generated secret in auth_secrets")
	}
	for _, v := range stored {
		if bytes.Contains(v, s) {
			t.Fatal("the session secret is stored in clear")
		}
	}
	return s
}

func randomKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// TestCF10SessionSecretSealedAtRest: the generated AUTH_SESSION_SECRET is
// stored sealed with AUTH_ENCRYPTION_KEY (or the key generated into
// DATA_DIR), kept across restarts and shared by replicas holding the same
// key; a replica with another key refuses to start, naming the variable.
func TestCF10SessionSecretSealedAtRest(t *testing.T) {
	t.Run("embedded/sqlite", func(t *testing.T) {
		dir := t.TempDir()
		e := startEmbedded(t, "DATA_DIR", dir)
		s1 := wantSealed(t, e.gh, "")
		e.stop()
		again := startEmbedded(t, "DATA_DIR", dir)
		if s2 := wantSealed(t, again.gh, ""); !bytes.Equal(s1, s2) {
			t.Fatal("secret changed across a restart")
		}
	})
	t.Run("embedded/postgres", func(t *testing.T) {
		db := testenv.PostgresSchemaURL(t, "gh_ext")
		key := randomKey(t)
		a := startEmbedded(t, "DATABASE_URL", db, "AUTH_ENCRYPTION_KEY", key)
		b := startEmbedded(t, "DATABASE_URL", db, "AUTH_ENCRYPTION_KEY", key)
		if !bytes.Equal(wantSealed(t, a.gh, db), wantSealed(t, b.gh, db)) {
			t.Fatal("replicas do not share the generated secret")
		}
	})
	t.Run("external", func(t *testing.T) {
		idp := startIdP(t)
		wantSealed(t, startExternal(t, idp), "") // key generated into DATA_DIR
		db := testenv.PostgresSchemaURL(t, "gh_ext")
		key := randomKey(t)
		a := startExternal(t, idp, "DATABASE_URL", db, "AUTH_ENCRYPTION_KEY", key)
		b := startExternal(t, idp, "DATABASE_URL", db, "AUTH_ENCRYPTION_KEY", key)
		if !bytes.Equal(wantSealed(t, a, db), wantSealed(t, b, db)) {
			t.Fatal("replicas do not share the generated secret")
		}
		// A replica with another key cannot open it: start-up fails.
		env := map[string]string{
			"AUTH_MODE": "external", "OIDC_ISSUER_URL": idp.Issuer, "OIDC_CLIENT_ID": idp.ClientID,
			"OIDC_CLIENT_SECRET": idp.ClientSecret, "AUTH_INSECURE_ALLOW_HTTP": "true", "DATA_DIR": t.TempDir(),
			"DATABASE_URL": db, "AUTH_ENCRYPTION_KEY": randomKey(t), "GRPC_ADDR": "127.0.0.1:0", "HTTP_ADDR": "127.0.0.1:0",
		}
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		_, err = app.New(context.Background(), cfg, discardLogger())
		if err == nil || !strings.Contains(err.Error(), "AUTH_ENCRYPTION_KEY") || strings.Contains(err.Error(), env["AUTH_ENCRYPTION_KEY"]) {
			t.Fatalf("start with another key: %v", err)
		}
	})
}

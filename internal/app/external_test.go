package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// The external-mode tests run Gatehouse against a real OpenID provider (npm
// oidc-provider, test/idp) on loopback.

const consoleURL = "http://console.test"

// freeAddr reserves a loopback port for a Gatehouse whose public URL must be
// known before it starts (the IdP redirects the browser there).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln := testenv.Listen(t)
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// startIdP starts the IdP with Gatehouse's callback registered (any
// loopback port: RFC 8252 loopback redirect).
func startIdP(t *testing.T) *testenv.IdP {
	t.Helper()
	return testenv.StartIdP(t, testenv.IdPOptions{RedirectURIs: []string{"http://127.0.0.1/api/v3/user/oauth/callback"}})
}

// startExternal runs Gatehouse in external mode against idp, ready.
func startExternal(t *testing.T, idp *testenv.IdP, kv ...string) *gh {
	t.Helper()
	addr := freeAddr(t)
	env := map[string]string{
		"AUTH_MODE":                "external",
		"OIDC_ISSUER_URL":          idp.Issuer,
		"OIDC_CLIENT_ID":           idp.ClientID,
		"OIDC_CLIENT_SECRET":       idp.ClientSecret,
		"AUTH_INSECURE_ALLOW_HTTP": "true",
		"DATA_DIR":                 t.TempDir(),
		"HTTP_ADDR":                addr,
		"CONTROLLER_PUBLIC_URL":    "http://" + addr,
		"CONSOLE_URL":              consoleURL,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(env, kv[i])
			continue
		}
		env[kv[i]] = kv[i+1]
	}
	return start(t, env, true)
}

// call is one HTTP request to Gatehouse with optional headers.
func (g *gh) call(method, path, body string, headers map[string]string) (int, http.Header, string) {
	g.t.Helper()
	return g.send(noRedirect, method, path, body, headers)
}

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type tokenPair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

func (g *gh) cliLogin(user, pass string) tokenPair {
	g.t.Helper()
	code, _, body := g.call("POST", "/api/v3/user/login", `{"email":"`+user+`","password":"`+pass+`","totp":""}`, nil)
	if code != http.StatusOK {
		g.t.Fatalf("login %s: %d %s", user, code, body)
	}
	var p tokenPair
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.AccessToken == "" || p.RefreshToken == "" {
		g.t.Fatalf("login body %s (%v)", body, err)
	}
	return p
}

const invalidCredentials = `{"name":"InvalidCredentialsError","message":"Invalid credentials"}`

func wantJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(got), &a); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", what, got, err)
	}
	_ = json.Unmarshal([]byte(want), &b)
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if string(ga) != string(gb) {
		t.Fatalf("%s: body = %s, want %s", what, ga, gb)
	}
}

// TestLG12ExternalLogin: POST /api/v3/user/login is the IdP's password grant;
// the tokens are the IdP's and pass ext_authz with the groups mapped from the
// IdP's claims; every IdP refusal is 401 Invalid credentials.
func TestLG12ExternalLogin(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	p := g.cliLogin(testenv.IdPAlice, testenv.IdPAlicePassword)

	// alice's client role "Developer" (resource_access[client].roles) maps
	// to the developer group: she may create microservices.
	o := g.decide(req{method: "POST", path: "/api/v3/microservices", headers: bearer(p.AccessToken)})
	if !o.allowed || o.subject != "alice" || o.groups != "developer" {
		t.Fatalf("IdP access token through ext_authz: %+v", o)
	}

	for _, body := range []string{
		`{"email":"alice","password":"wrong","totp":""}`,
		`{"email":"nobody","password":"whatever"}`,
	} {
		code, _, got := g.call("POST", "/api/v3/user/login", body, nil)
		if code != http.StatusUnauthorized {
			t.Fatalf("%s: status %d %s", body, code, got)
		}
		wantJSON(t, body, got, invalidCredentials)
	}
	code, _, got := g.call("POST", "/api/v3/user/login", `{"email":"alice"}`, nil)
	if code != http.StatusBadRequest {
		t.Fatalf("missing password: %d %s", code, got)
	}
	wantJSON(t, "missing password", got, `{"name":"ValidationError","message":"Required field 'password' is missing"}`)
}

// TestRF07ExternalRefresh: POST /api/v3/user/refresh is the IdP's
// refresh_token grant; an IdP refusal is 401 Invalid credentials.
func TestRF07ExternalRefresh(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	p := g.cliLogin(testenv.IdPBob, testenv.IdPBobPassword)
	code, _, body := g.call("POST", "/api/v3/user/refresh", `{"refreshToken":"`+p.RefreshToken+`"}`, nil)
	if code != http.StatusOK {
		t.Fatalf("refresh: %d %s", code, body)
	}
	var next tokenPair
	if err := json.Unmarshal([]byte(body), &next); err != nil || next.AccessToken == "" || next.AccessToken == p.AccessToken {
		t.Fatalf("refresh body %s", body)
	}
	code, _, body = g.call("POST", "/api/v3/user/refresh", `{"refreshToken":"forged"}`, nil)
	if code != http.StatusUnauthorized {
		t.Fatalf("forged refresh: %d %s", code, body)
	}
	wantJSON(t, "forged refresh", body, invalidCredentials)
	code, _, body = g.call("POST", "/api/v3/user/refresh", `{}`, nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "Required field 'refreshToken' is missing") {
		t.Fatalf("missing refresh token: %d %s", code, body)
	}
}

// TestPF02ExternalProfile: GET /api/v3/user/profile is the IdP's UserInfo
// answer for the bearer.
func TestPF02ExternalProfile(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	p := g.cliLogin(testenv.IdPAlice, testenv.IdPAlicePassword)
	code, _, body := g.call("GET", "/api/v3/user/profile", "", map[string]string{"Authorization": "Bearer " + p.AccessToken})
	if code != http.StatusOK {
		t.Fatalf("profile: %d %s", code, body)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	if info["sub"] != "alice" || info["email"] != "alice@example.com" || info["preferred_username"] != "alice" {
		t.Fatalf("profile = %s", body)
	}
}

// TestTV07ProfileAndLogoutVerifyTheBearer: a missing, forged or foreign
// bearer on profile and logout is 401 (the Controller decoded it unverified).
func TestTV07ProfileAndLogoutVerifyTheBearer(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	other := testenv.NewIssuer(t) // valid signature, untrusted issuer
	claims := other.Claims()
	claims["sub"], claims["aud"] = "alice", idp.ClientID
	forged := other.Mint(claims)
	for _, auth := range []string{"", "Bearer ", "Bearer not.a.jwt", "Bearer " + forged, "Basic YWxpY2U6eA=="} {
		for _, rt := range []struct{ method, path string }{{"GET", "/api/v3/user/profile"}, {"POST", "/api/v3/user/logout"}} {
			h := map[string]string{}
			if auth != "" {
				h["Authorization"] = auth
			}
			code, _, body := g.call(rt.method, rt.path, "", h)
			if code != http.StatusUnauthorized {
				t.Errorf("%s %s with %.20q: %d %s", rt.method, rt.path, auth, code, body)
			}
		}
	}
}

// TestLO03ExternalLogout: 204 with no body; the refresh token is revoked at
// the IdP; the access token's revocation is attempted (oidc-provider refuses
// to revoke JWT access tokens) and its refusal ignored.
func TestLO03ExternalLogout(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	p := g.cliLogin(testenv.IdPAlice, testenv.IdPAlicePassword)
	code, _, body := g.call("POST", "/api/v3/user/logout", `{"refreshToken":"`+p.RefreshToken+`"}`,
		map[string]string{"Authorization": "Bearer " + p.AccessToken})
	if code != http.StatusNoContent || body != "" {
		t.Fatalf("logout: %d %q", code, body)
	}
	code, _, body = g.call("POST", "/api/v3/user/refresh", `{"refreshToken":"`+p.RefreshToken+`"}`, nil)
	if code != http.StatusUnauthorized {
		t.Fatalf("refresh after logout: %d %s", code, body)
	}
	if logs := g.logs.String(); !strings.Contains(logs, `"hint":"access_token"`) {
		t.Fatalf("no access-token revocation attempt logged:\n%s", logs)
	}
	// Without a body (the Controller's console sends none) it is 204 too.
	p = g.cliLogin(testenv.IdPBob, testenv.IdPBobPassword)
	code, _, body = g.call("POST", "/api/v3/user/logout", "", map[string]string{"Authorization": "Bearer " + p.AccessToken})
	if code != http.StatusNoContent || body != "" {
		t.Fatalf("logout without body: %d %q", code, body)
	}
}

// TestBF12CORSOnlyConsole: only CONSOLE_URL's origin gets CORS (with
// credentials); requests without Origin are not blocked.
func TestBF12CORSOnlyConsole(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	pre := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
	with := func(origin string) map[string]string {
		h := map[string]string{"Origin": origin}
		for k, v := range pre {
			h[k] = v
		}
		return h
	}
	_, h, _ := g.call("OPTIONS", "/api/v3/user/login", "", with(consoleURL))
	if h.Get("Access-Control-Allow-Origin") != consoleURL || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("console preflight headers: %v", h)
	}
	_, h, _ = g.call("OPTIONS", "/api/v3/user/login", "", with("http://evil.test"))
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin got CORS: %v", h)
	}
	code, h, _ := g.call("POST", "/api/v3/user/login", `{"email":"bob","password":"bob-password"}`, map[string]string{"Origin": "http://evil.test"})
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin got CORS on POST: %v", h)
	}
	if code != http.StatusOK {
		t.Fatalf("login status %d", code)
	}
	code, _, _ = g.call("POST", "/api/v3/user/login", `{"email":"bob","password":"bob-password"}`, nil)
	if code != http.StatusOK {
		t.Fatalf("no-Origin request blocked: %d", code)
	}
}

// browser is a cookie-jar HTTP client that walks the sign-in like a
// browser, stopping at the console.
type browser struct {
	t        *testing.T
	c        *http.Client
	callback *url.URL // the last callback URL the IdP sent the browser to
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t}
	b.c = &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if strings.HasSuffix(r.URL.Path, "/api/v3/user/oauth/callback") {
			u := *r.URL
			b.callback = &u
		}
		if r.URL.Host == "console.test" || len(via) > 20 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

var formAction = regexp.MustCompile(`action="([^"]+)"`)

// signIn starts at Gatehouse's authorize, fills the IdP's login form and
// returns the final response (the 302 to the console, or an error answer).
func (b *browser) signIn(g *gh, user, pass string) *http.Response {
	b.t.Helper()
	resp, err := b.c.Get(g.base + "/api/v3/user/oauth/authorize")
	if err != nil {
		b.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("expected the IdP's login form, got %d %s", resp.StatusCode, page)
	}
	action, _ := resp.Request.URL.Parse(string(m[1]))
	resp, err = b.c.PostForm(action.String(), url.Values{"login": {user}, "password": {pass}})
	if err != nil {
		b.t.Fatal(err)
	}
	return resp
}

// fragment checks a 302 to {console}/login#… and returns the fragment.
func fragment(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	defer resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != consoleURL+"/login" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("want 302 to %s/login#…, got %d %q %s", consoleURL, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	v, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBF01Authorize: authorize redirects to the IdP's authorization endpoint
// with the code flow, the callback redirect URI, the scope string, state,
// nonce and a PKCE S256 challenge, and sets the session cookie (BF-09).
func TestBF01Authorize(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_SESSION_STORE_TTL_MS", "120000")
	code, h, body := g.call("GET", "/api/v3/user/oauth/authorize", "", nil)
	if code != http.StatusFound {
		t.Fatalf("authorize: %d %s", code, body)
	}
	loc, _ := url.Parse(h.Get("Location"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != idp.Issuer+"/auth" {
		t.Fatalf("redirect to %s, want the authorization endpoint", got)
	}
	q := loc.Query()
	want := map[string]string{
		"response_type": "code", "client_id": idp.ClientID, "redirect_uri": g.base + "/api/v3/user/oauth/callback",
		"scope": "openid profile email groups offline_access", "code_challenge_method": "S256",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 32 {
			t.Errorf("%s = %q: missing or short", k, q.Get(k))
		}
	}
	checkSessionCookie(t, h, 120, false)
}

// TestBF09SessionCookie: HttpOnly, SameSite=Lax, Secure unless insecure HTTP
// is allowed (here it is: the Secure case is in server/oauth's tests), and
// it lives AUTH_SESSION_STORE_TTL_MS.
func TestBF09SessionCookie(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_SESSION_STORE_TTL_MS", "90000")
	_, h, _ := g.call("GET", "/api/v3/user/oauth/authorize", "", nil)
	checkSessionCookie(t, h, 90, false)
}

func checkSessionCookie(t *testing.T, h http.Header, maxAge int, secure bool) {
	t.Helper()
	var c *http.Cookie
	for _, sc := range (&http.Response{Header: h}).Cookies() {
		if sc.Name == "gatehouse.oauth" {
			c = sc
		}
	}
	if c == nil {
		t.Fatalf("no session cookie in %v", h["Set-Cookie"])
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.MaxAge != maxAge {
		t.Fatalf("cookie %s: HttpOnly=%v SameSite=%v Secure=%v MaxAge=%d", c.Raw, c.HttpOnly, c.SameSite, c.Secure, c.MaxAge)
	}
}

// TestBF03BrowserSignIn: authorize → IdP login → callback → tokens in the
// console's fragment (no-store, no-referrer) → the access token passes
// ext_authz. The callback cannot be replayed (BF-06).
func TestBF03BrowserSignIn(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	b := newBrowser(t)
	resp := b.signIn(g, testenv.IdPAlice, testenv.IdPAlicePassword)
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("callback headers: %v", resp.Header)
	}
	f := fragment(t, resp)
	if f.Get("accessToken") == "" || f.Get("refreshToken") == "" {
		t.Fatalf("fragment = %v", f)
	}
	o := g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.Get("accessToken"))})
	if !o.allowed || o.subject != "alice" {
		t.Fatalf("browser access token through ext_authz: %+v", o)
	}

	// BF-06: the same callback again, with the same cookie jar → 401.
	if b.callback == nil {
		t.Fatal("callback URL not seen")
	}
	code, body := b.get(b.callback.String())
	if code != http.StatusUnauthorized {
		t.Fatalf("replayed callback: %d %s", code, body)
	}
}

func (b *browser) get(u string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestBF06CallbackSingleUse: replaying a used callback with its original
// cookie (not the jar's cleared one) is 401 as well.
func TestBF06CallbackSingleUse(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	b := newBrowser(t)
	gu, _ := url.Parse(g.base)
	// Capture the session cookie before the callback clears it.
	var cookie string
	b.c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if strings.HasSuffix(r.URL.Path, "/api/v3/user/oauth/callback") {
			u := *r.URL
			b.callback = &u
			for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: gu.Host, Path: "/api/v3/user/oauth/callback"}) {
				if c.Name == "gatehouse.oauth" {
					cookie = c.Name + "=" + c.Value
				}
			}
		}
		if r.URL.Host == "console.test" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	fragment(t, b.signIn(g, testenv.IdPBob, testenv.IdPBobPassword))
	if cookie == "" || b.callback == nil {
		t.Fatal("session cookie or callback not captured")
	}
	code, _, body := g.call("GET", b.callback.RequestURI(), "", map[string]string{"Cookie": cookie})
	if code != http.StatusUnauthorized {
		t.Fatalf("replay with the original cookie: %d %s", code, body)
	}
	wantJSON(t, "replay", body, `{"name":"AuthenticationError","message":"OAuth session expired or missing"}`)
}

// TestBF04CallbackWithoutSession: 401 "OAuth session expired or missing".
func TestBF04CallbackWithoutSession(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	code, _, body := g.call("GET", "/api/v3/user/oauth/callback?code=x&state=y", "", nil)
	if code != http.StatusUnauthorized {
		t.Fatalf("%d %s", code, body)
	}
	wantJSON(t, "no session", body, `{"name":"AuthenticationError","message":"OAuth session expired or missing"}`)
	// A cookie with a bad signature is no session either.
	code, _, body = g.call("GET", "/api/v3/user/oauth/callback?code=x&state=y", "", map[string]string{"Cookie": "gatehouse.oauth=abc.def"})
	if code != http.StatusUnauthorized || !strings.Contains(body, "expired or missing") {
		t.Fatalf("forged cookie: %d %s", code, body)
	}
}

// authorizeSession runs authorize without following it and returns the
// session cookie header and the state.
func authorizeSession(t *testing.T, g *gh) (cookie, state string) {
	t.Helper()
	code, h, body := g.call("GET", "/api/v3/user/oauth/authorize", "", nil)
	if code != http.StatusFound {
		t.Fatalf("authorize: %d %s", code, body)
	}
	loc, _ := url.Parse(h.Get("Location"))
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "gatehouse.oauth" {
			cookie = c.Name + "=" + c.Value
		}
	}
	return cookie, loc.Query().Get("state")
}

// TestBF05CallbackAfterTTL: 401 "OAuth session expired".
func TestBF05CallbackAfterTTL(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_SESSION_STORE_TTL_MS", "300")
	cookie, state := authorizeSession(t, g)
	time.Sleep(400 * time.Millisecond) // let the session's lifetime pass
	code, _, body := g.call("GET", "/api/v3/user/oauth/callback?code=x&state="+url.QueryEscape(state), "", map[string]string{"Cookie": cookie})
	if code != http.StatusUnauthorized {
		t.Fatalf("%d %s", code, body)
	}
	wantJSON(t, "expired", body, `{"name":"AuthenticationError","message":"OAuth session expired"}`)
}

// TestBF07CallbackVerification: a wrong state, and a code redeemed with
// another session's PKCE verifier, are 401. (A wrong ID-token nonce is
// tested in server/oauth.)
func TestBF07CallbackVerification(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	cookie, _ := authorizeSession(t, g)
	code, _, body := g.call("GET", "/api/v3/user/oauth/callback?code=x&state=wrong", "", map[string]string{"Cookie": cookie})
	if code != http.StatusUnauthorized {
		t.Fatalf("wrong state: %d %s", code, body)
	}

	// PKCE: a real code from browser A, presented with session B (its own
	// state, its own verifier) → the IdP refuses the exchange → 401.
	cookieB, stateB := authorizeSession(t, g)
	b := newBrowser(t)
	b.c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if strings.HasSuffix(r.URL.Path, "/api/v3/user/oauth/callback") {
			u := *r.URL
			b.callback = &u
			return http.ErrUseLastResponse // keep A's code unused
		}
		return nil
	}
	resp := b.signIn(g, testenv.IdPBob, testenv.IdPBobPassword)
	resp.Body.Close()
	if b.callback == nil {
		t.Fatalf("no callback redirect (status %d)", resp.StatusCode)
	}
	codeA := b.callback.Query().Get("code")
	code, _, body = g.call("GET", "/api/v3/user/oauth/callback?code="+url.QueryEscape(codeA)+"&state="+url.QueryEscape(stateB), "",
		map[string]string{"Cookie": cookieB})
	if code != http.StatusUnauthorized {
		t.Fatalf("code with another session's verifier: %d %s", code, body)
	}
}

// TestBF08IdPErrorToConsole: ?error= ends at {console}/login#error=… with the
// troubleshooting hint, and the session entry is cleared.
func TestBF08IdPErrorToConsole(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	cookie, state := authorizeSession(t, g)
	code, h, body := g.call("GET", "/api/v3/user/oauth/callback?error=invalid_scope&error_description=group+is+not+a+scope&state="+url.QueryEscape(state), "",
		map[string]string{"Cookie": cookie})
	if code != http.StatusFound {
		t.Fatalf("%d %s", code, body)
	}
	f := fragment(t, &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(""))})
	if f.Get("error") != "invalid_scope" || f.Get("error_description") != "group is not a scope" ||
		!strings.Contains(f.Get("hint"), "group vs groups") {
		t.Fatalf("fragment = %v", f)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("headers %v", h)
	}
	code, _, body = g.call("GET", "/api/v3/user/oauth/callback?code=x&state="+url.QueryEscape(state), "", map[string]string{"Cookie": cookie})
	if code != http.StatusUnauthorized || !strings.Contains(body, "expired or missing") {
		t.Fatalf("session not cleared: %d %s", code, body)
	}
}

// TestBF13NoPublicURL: without a public URL authorize answers 501.
func TestBF13NoPublicURL(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "CONTROLLER_PUBLIC_URL", "", "CONSOLE_URL", "")
	code, _, body := g.call("GET", "/api/v3/user/oauth/authorize", "", nil)
	if code != http.StatusNotImplemented {
		t.Fatalf("%d %s", code, body)
	}
	wantJSON(t, "501", body, `{"name":"NotImplementedError","message":"OAuth BFF requires CONTROLLER_PUBLIC_URL or CONSOLE_URL to be configured"}`)
}

// TestCF03UnreachableIssuerRetried: an unreachable issuer does not stop
// start-up; /readyz says why until discovery succeeds.
func TestCF03UnreachableIssuerRetried(t *testing.T) {
	addr := freeAddr(t) // nothing listens there
	env := map[string]string{
		"AUTH_MODE": "external", "OIDC_ISSUER_URL": "http://" + addr, "OIDC_CLIENT_ID": "gatehouse",
		"OIDC_CLIENT_SECRET": "s3cr3t-not-in-logs", "AUTH_INSECURE_ALLOW_HTTP": "true", "DATA_DIR": t.TempDir(),
	}
	g := start(t, env, false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, body := g.call("GET", "/readyz", "", nil)
		if code == http.StatusServiceUnavailable && strings.Contains(body, "OIDC_ISSUER_URL") && strings.Contains(body, addr) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never named the issuer: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, _, body := g.call("POST", "/api/v3/user/login", `{"email":"a","password":"b"}`, nil)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("login while the IdP is unreachable: %d %s", code, body)
	}
	if strings.Contains(g.logs.String(), "s3cr3t-not-in-logs") {
		t.Fatal("the client secret reached the logs")
	}
}

// dialFrom is an HTTP client whose connections leave from a given loopback
// address (127.0.0.2 is a second client IP on Linux's lo).
func dialFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

// TestID06IdPRoleClaim: with OAUTH_ROLE_URI naming the IdP's custom role
// claim, alice (role "administrator") gets the admin group; bob does not.
func TestID06IdPRoleClaim(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "OAUTH_ROLE_URI", idp.RoleClaim)
	alice := g.cliLogin(testenv.IdPAlice, testenv.IdPAlicePassword)
	o := g.decide(req{method: "DELETE", path: "/api/v3/iofog/abc", headers: bearer(alice.AccessToken)})
	if !o.allowed || !strings.Contains(o.groups, "admin") {
		t.Fatalf("alice with the administrator role claim: %+v", o)
	}
	bob := g.cliLogin(testenv.IdPBob, testenv.IdPBobPassword)
	if o := g.decide(req{method: "DELETE", path: "/api/v3/iofog/abc", headers: bearer(bob.AccessToken)}); o.allowed {
		t.Fatalf("bob (viewer) allowed to delete a fog: %+v", o)
	}
}

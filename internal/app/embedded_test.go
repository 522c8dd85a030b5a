package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/login"
)

const cbBattery = "https://b.example/cb"

// codeFlow runs authorize + login + code exchange for the confidential
// client "battery" and returns the token response.
func (e *eg) codeFlow(t *testing.T, username, pw, scope string) map[string]any {
	t.Helper()
	v, ch := pkce()
	q := e.authorizeAndLogin(t, url.Values{
		"client_id": {"battery"}, "redirect_uri": {cbBattery}, "response_type": {"code"},
		"scope": {scope}, "state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {ch}, "code_challenge_method": {"S256"},
	}, username, pw, "")
	if q.Get("state") != "st-1" || q.Get("iss") != e.issuer || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	status, body := e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {cbBattery}, "code_verifier": {v}}, "battery", "battery-secret")
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	return body
}

func newIssuerFixture(t *testing.T, kv ...string) *eg {
	e := startEmbedded(t, kv...)
	e.client("battery", "battery-secret", []string{cbBattery}, []string{"https://b.example/bye"})
	e.client("dashboard", "", []string{"https://d.example/cb"}, []string{"https://d.example/"})
	return e
}

func TestIS01Discovery(t *testing.T) {
	e := startEmbedded(t)
	resp, err := http.Get(e.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(readBody(t, resp)), &d); err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != e.issuer || d["revocation_endpoint"] != e.issuer+"/revoke" || d["end_session_endpoint"] != e.issuer+"/session/end" {
		t.Fatalf("discovery %v", d)
	}
	for _, s := range []string{"openid", "profile", "email", "groups"} {
		if !slices.Contains(anyStrings(d["scopes_supported"]), s) {
			t.Errorf("scope %s missing", s)
		}
	}
	for _, k := range []string{"registration_endpoint", "introspection_endpoint", "device_authorization_endpoint"} {
		if _, ok := d[k]; ok {
			t.Errorf("%s must not be advertised", k)
		}
	}
	if got := anyStrings(d["code_challenge_methods_supported"]); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("PKCE methods %v", got)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestRefreshTokenOnlyWithOfflineAccess: the code flow issues a refresh
// token only to a client that asked for offline_access, as oidc-provider
// does by default.
func TestRefreshTokenOnlyWithOfflineAccess(t *testing.T) {
	e := newIssuerFixture(t)
	e.user("olga@example.com", userPass, "viewer")
	for _, tt := range []struct {
		scope       string
		wantRefresh bool
	}{
		{"openid profile", false},
		{"openid profile offline_access", true},
	} {
		body := e.codeFlow(t, "olga@example.com", userPass, tt.scope)
		if _, got := body["refresh_token"]; got != tt.wantRefresh || body["access_token"] == nil {
			t.Fatalf("scope %q: refresh token %v, want %v (%v)", tt.scope, got, tt.wantRefresh, body)
		}
	}
}

// TestIS02CodeFlowTokensPassCheck: code + PKCE with the confidential
// client; ID token with nonce and at_hash; the access token is an at+jwt
// with LG-11's claims and passes ext_authz Check.
func TestIS02CodeFlowTokensPassCheck(t *testing.T) {
	e := newIssuerFixture(t)
	e.user("vera@example.com", userPass, "viewer")
	body := e.codeFlow(t, "vera@example.com", userPass, "openid profile email groups offline_access")
	at, _ := body["access_token"].(string)
	idt, _ := body["id_token"].(string)
	if at == "" || idt == "" || body["refresh_token"] == nil || body["token_type"] != "Bearer" {
		t.Fatalf("token response %v", body)
	}
	if h := jwtHeader(t, at); h["typ"] != "at+jwt" || h["alg"] != "RS256" {
		t.Fatalf("access token header %v", h)
	}
	id := jwtClaims(t, idt)
	if id["nonce"] != "n-1" || id["aud"] != "battery" || id["iss"] != e.issuer || id["at_hash"] == nil ||
		id["email"] != "vera@example.com" || id["preferred_username"] != "vera@example.com" || len(id["groups"].([]any)) != 1 {
		t.Fatalf("id token %v", id)
	}
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(at)}), 200)
	wantStatus(t, e.decide(req{method: "POST", path: "/api/v3/application", headers: bearer(at)}), 403)
}

func TestAC03ConfidentialClientNeedsSecret(t *testing.T) {
	e := newIssuerFixture(t)
	e.user("carl", userPass)
	pw := url.Values{"grant_type": {"password"}, "username": {"carl"}, "password": {userPass}, "scope": {"openid"}}
	for name, tc := range map[string]struct {
		form         url.Values
		id, sec      string
		status       int
		wantErrorKey string
	}{
		"basic":        {pw, "battery", "battery-secret", 200, ""},
		"post":         {with(pw, "client_id", "battery", "client_secret", "battery-secret"), "", "", 200, ""},
		"no secret":    {with(pw, "client_id", "battery"), "", "", 401, "invalid_client"},
		"wrong secret": {pw, "battery", "nope", 401, "invalid_client"},
		"unknown":      {pw, "ghost", "x", 401, "invalid_client"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := e.token(t, tc.form, tc.id, tc.sec)
			if status != tc.status || (tc.wantErrorKey != "" && body["error"] != tc.wantErrorKey) {
				t.Fatalf("%d %v", status, body)
			}
		})
	}
}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// authorizeRaw requests /oidc/auth without following redirects.
func (e *eg) authorizeRaw(t *testing.T, q url.Values) (int, string, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.issuer + "/auth?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), readBody(t, resp)
}

func TestAC05RedirectURIsMatchExactly(t *testing.T) {
	e := newIssuerFixture(t)
	for _, ru := range []string{"https://b.example/cb/", "https://b.example/cb?x=1", "https://evil.example/cb", "HTTPS://b.example/cb"} {
		status, loc, _ := e.authorizeRaw(t, url.Values{"client_id": {"battery"}, "redirect_uri": {ru}, "response_type": {"code"}, "scope": {"openid"}})
		if status != 400 || loc != "" {
			t.Errorf("redirect_uri %q: %d Location %q", ru, status, loc)
		}
	}
	resp, err := http.Get(e.issuer + "/session/end?" + url.Values{"client_id": {"battery"}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != 400 {
		t.Fatalf("unregistered post-logout URI: %d", resp.StatusCode)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = c.Get(e.issuer + "/session/end?" + url.Values{"client_id": {"battery"}, "post_logout_redirect_uri": {"https://b.example/bye"}, "state": {"s"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "https://b.example/bye?state=s" {
		t.Fatalf("registered post-logout URI: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAC06IS03PublicClientNeedsPKCE(t *testing.T) {
	e := newIssuerFixture(t)
	e.user("pat", userPass)
	base := url.Values{"client_id": {"dashboard"}, "redirect_uri": {"https://d.example/cb"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
	status, loc, _ := e.authorizeRaw(t, base)
	if status != 302 || !strings.Contains(loc, "error=invalid_request") || !strings.HasPrefix(loc, "https://d.example/cb?") {
		t.Fatalf("no PKCE: %d %s", status, loc)
	}
	_, ch := pkce()
	status, loc, _ = e.authorizeRaw(t, with(base, "code_challenge", ch, "code_challenge_method", "plain"))
	if status != 302 || !strings.Contains(loc, "error=invalid_request") {
		t.Fatalf("plain PKCE: %d %s", status, loc)
	}
	// With PKCE: no secret needed; a secret is refused.
	v, ch := pkce()
	q := e.authorizeAndLogin(t, with(base, "code_challenge", ch, "code_challenge_method", "S256"), "pat", userPass, "")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {"https://d.example/cb"}, "code_verifier": {v}, "client_id": {"dashboard"}}
	if status, body := e.token(t, with(form, "client_secret", "x"), "", ""); status != 401 {
		t.Fatalf("public client with a secret: %d %v", status, body)
	}
	// The refused attempt did not consume the code (client auth failed first).
	if status, body := e.token(t, form, "", ""); status != 200 {
		t.Fatalf("public client: %d %v", status, body)
	}
}

func TestAC08UnsupportedResponseType(t *testing.T) {
	e := newIssuerFixture(t)
	status, loc, _ := e.authorizeRaw(t, url.Values{"client_id": {"battery"}, "redirect_uri": {cbBattery}, "response_type": {"id_token token"}, "scope": {"openid"}, "state": {"s"}})
	if status != 302 || !strings.Contains(loc, "error=unsupported_response_type") || !strings.Contains(loc, "state=s") {
		t.Fatalf("%d %s", status, loc)
	}
}

// TestTokenEndpointRefusals: every refusal of the token endpoint, each with
// its RFC 6749 error.
func TestTokenEndpointRefusals(t *testing.T) {
	e := newIssuerFixture(t)
	e.user("rita", userPass)
	v, ch := pkce()
	fresh := func() string {
		q := e.authorizeAndLogin(t, url.Values{"client_id": {"battery"}, "redirect_uri": {cbBattery}, "response_type": {"code"}, "scope": {"openid"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}, "rita", userPass, "")
		return q.Get("code")
	}
	used := fresh()
	if s, b := e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {used}, "redirect_uri": {cbBattery}, "code_verifier": {v}}, "battery", "battery-secret"); s != 200 {
		t.Fatalf("first exchange %d %v", s, b)
	}
	_, rt := e.passwordGrant(t, "rita", userPass)
	e.client("other", "other-secret", []string{"https://o.example/cb"}, nil)
	code := func(c string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {cbBattery}, "code_verifier": {v}}
	}
	cases := []struct {
		name    string
		form    url.Values
		id, sec string
		status  int
		err     string
		ctype   string
	}{
		{"no grant_type", url.Values{}, "battery", "battery-secret", 400, "invalid_request", ""},
		{"unknown grant", url.Values{"grant_type": {"client_credentials"}}, "battery", "battery-secret", 400, "unsupported_grant_type", ""},
		{"not a form", url.Values{"grant_type": {"password"}}, "battery", "battery-secret", 400, "invalid_request", "application/json"},
		{"repeated parameter", url.Values{"grant_type": {"password", "password"}}, "battery", "battery-secret", 400, "invalid_request", ""},
		{"bad client", code(used), "battery", "wrong", 401, "invalid_client", ""},
		{"code missing", url.Values{"grant_type": {"authorization_code"}}, "battery", "battery-secret", 400, "invalid_request", ""},
		{"code unknown", code("nope"), "battery", "battery-secret", 400, "invalid_grant", ""},
		{"code reused", code(used), "battery", "battery-secret", 400, "invalid_grant", ""},
		{"code of another client", code(fresh()), "other", "other-secret", 400, "invalid_grant", ""},
		{"redirect_uri differs", with(code(fresh()), "redirect_uri", "https://b.example/other"), "battery", "battery-secret", 400, "invalid_grant", ""},
		{"wrong verifier", with(code(fresh()), "code_verifier", "x"+v), "battery", "battery-secret", 400, "invalid_grant", ""},
		{"no verifier", with(code(fresh()), "code_verifier", ""), "battery", "battery-secret", 400, "invalid_grant", ""},
		{"refresh missing", url.Values{"grant_type": {"refresh_token"}}, "battery", "battery-secret", 400, "invalid_request", ""},
		{"refresh unknown", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, "battery", "battery-secret", 400, "invalid_grant", ""},
		{"refresh of another client", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "other", "other-secret", 400, "invalid_grant", ""},
		{"password wrong", url.Values{"grant_type": {"password"}, "username": {"rita"}, "password": {"wrong"}}, "battery", "battery-secret", 400, "invalid_grant", ""},
		{"password unknown user", url.Values{"grant_type": {"password"}, "username": {"nobody"}, "password": {userPass}}, "battery", "battery-secret", 400, "invalid_grant", ""},
		{"password missing", url.Values{"grant_type": {"password"}, "username": {"rita"}}, "battery", "battery-secret", 400, "invalid_request", ""},
		{"password by a public client", url.Values{"grant_type": {"password"}, "username": {"rita"}, "password": {userPass}, "client_id": {"dashboard"}}, "", "", 400, "unauthorized_client", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", e.issuer+"/token", strings.NewReader(tc.form.Encode()))
			ct := tc.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r.Header.Set("Content-Type", ct)
			if tc.id != "" {
				r.SetBasicAuth(tc.id, tc.sec)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			_ = json.Unmarshal([]byte(readBody(t, resp)), &body)
			if resp.StatusCode != tc.status || body["error"] != tc.err {
				t.Fatalf("%d %v, want %d %s", resp.StatusCode, body, tc.status, tc.err)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// passwordGrant logs in through the token endpoint (battery).
func (e *eg) passwordGrant(t *testing.T, user, pw string) (string, string) {
	t.Helper()
	s, b := e.token(t, url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}, "scope": {"openid offline_access"}}, "battery", "battery-secret")
	if s != 200 {
		t.Fatalf("password grant %d %v", s, b)
	}
	return b["access_token"].(string), b["refresh_token"].(string)
}

func (e *eg) provider() login.Provider { return e.app.LoginProvider() }

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, login.ErrInvalidCredentials) {
		t.Fatalf("%s: err = %v, want ErrInvalidCredentials", what, err)
	}
}

func TestLG01to03LoginAndNoEnumeration(t *testing.T) {
	e := startEmbedded(t)
	e.user("dora@example.com", userPass, "developer")
	ctx := context.Background()
	toks, err := e.provider().Login(ctx, login.Credentials{Username: "dora@example.com", Password: userPass})
	if err != nil || toks.AccessToken == "" || toks.RefreshToken == "" {
		t.Fatalf("LG-01: %v %+v", err, toks)
	}
	_, errWrong := e.provider().Login(ctx, login.Credentials{Username: "dora@example.com", Password: "Wrong-Password-123"})
	_, errUnknown := e.provider().Login(ctx, login.Credentials{Username: "nobody@example.com", Password: userPass})
	wantInvalid(t, "LG-02 wrong password", errWrong)
	wantInvalid(t, "LG-03 unknown user", errUnknown)
	if errWrong.Error() != errUnknown.Error() {
		t.Fatalf("different answers: %v / %v", errWrong, errUnknown)
	}
}

func TestLG05LoginIDWithoutEmail(t *testing.T) {
	e := startEmbedded(t)
	toks, err := e.provider().Login(context.Background(), login.Credentials{Username: "admin", Password: adminPass})
	if err != nil {
		t.Fatal(err)
	}
	c := jwtClaims(t, toks.AccessToken)
	if c["preferred_username"] != "admin" {
		t.Fatalf("claims %v", c)
	}
	if _, ok := c["email"]; ok {
		t.Fatalf("email claim for a plain login id: %v", c)
	}
}

func TestLG06Lockout(t *testing.T) {
	e := startEmbedded(t)
	e.user("lou", userPass)
	ctx := context.Background()
	p := e.provider()
	// Four failures, then a success resets the counter.
	for range 4 {
		_, err := p.Login(ctx, login.Credentials{Username: "lou", Password: "Wrong-Password-1"})
		wantInvalid(t, "wrong", err)
	}
	if _, err := p.Login(ctx, login.Credentials{Username: "lou", Password: userPass}); err != nil {
		t.Fatalf("4 failures must not lock: %v", err)
	}
	for range 5 {
		_, err := p.Login(ctx, login.Credentials{Username: "lou", Password: "Wrong-Password-1"})
		wantInvalid(t, "wrong", err)
	}
	_, err := p.Login(ctx, login.Credentials{Username: "lou", Password: userPass})
	wantInvalid(t, "locked account with the right password", err)
}

func TestLG07toLG10MFA(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	p := e.provider()
	u := e.user("ada@example.com", userPass, "admin") // admin requires MFA
	// LG-09: not enrolled → refused on the CLI.
	_, err := p.Login(ctx, login.Credentials{Username: "ada@example.com", Password: userPass})
	wantInvalid(t, "LG-09", err)
	if !errors.Is(err, login.ErrMFARequired) {
		t.Fatalf("LG-09: want ErrMFARequired too, got %v", err)
	}
	sec := e.enrollTOTP(u.ID)
	// LG-07
	_, err = p.Login(ctx, login.Credentials{Username: "ada@example.com", Password: userPass})
	wantInvalid(t, "LG-07 no totp", err)
	_, err = p.Login(ctx, login.Credentials{Username: "ada@example.com", Password: userPass, TOTP: "000000"})
	wantInvalid(t, "LG-07 wrong totp", err)
	code, _ := issuer.TOTPCode(sec, issuer.TOTPStep(time.Now()))
	if _, err := p.Login(ctx, login.Credentials{Username: "ada@example.com", Password: userPass, TOTP: code}); err != nil {
		t.Fatalf("LG-07 right totp: %v", err)
	}
	// MF-04: the same code is never accepted twice.
	_, err = p.Login(ctx, login.Credentials{Username: "ada@example.com", Password: userPass, TOTP: code})
	wantInvalid(t, "MF-04 replayed totp", err)
	// LG-10: the bootstrap admin is exempt.
	if _, err := p.Login(ctx, login.Credentials{Username: "admin", Password: adminPass}); err != nil {
		t.Fatalf("LG-10: %v", err)
	}
}

func TestLG08RecoveryCodeOnce(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	u := e.user("rey", userPass)
	acc := e.app.Issuer().Accounts
	sec, err := acc.StartEnrollment(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := issuer.TOTPCode(sec, issuer.TOTPStep(time.Now()))
	codes, err := acc.ConfirmEnrollment(ctx, u.ID, code)
	if err != nil || len(codes) != 10 {
		t.Fatalf("%v %v", codes, err)
	}
	if _, err := e.provider().Login(ctx, login.Credentials{Username: "rey", Password: userPass, TOTP: codes[3]}); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	_, err = e.provider().Login(ctx, login.Credentials{Username: "rey", Password: userPass, TOTP: codes[3]})
	wantInvalid(t, "recovery code twice", err)
	// MF-04: stored hashed, secret sealed.
	rec, err := e.app.Store().GetIssuerRecord(ctx, "account", u.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec.Data), codes[0]) || strings.Contains(string(rec.Data), sec) {
		t.Fatal("recovery codes or TOTP secret stored in clear")
	}
}

func TestLG11AccessTokenClaims(t *testing.T) {
	e := startEmbedded(t, "AUTH_ACCESS_TOKEN_TTL_SECONDS", "600")
	u := e.user("gus@example.com", userPass, "sre", "developer")
	toks, err := e.provider().Login(context.Background(), login.Credentials{Username: "gus@example.com", Password: userPass})
	if err != nil {
		t.Fatal(err)
	}
	c := jwtClaims(t, toks.AccessToken)
	exp, iat := c["exp"].(float64), c["iat"].(float64)
	if c["sub"] != u.ID || c["iss"] != e.issuer || c["aud"] != "controller" || exp-iat != 600 || c["token_use"] != "access" ||
		c["preferred_username"] != "gus@example.com" || len(c["groups"].([]any)) != 2 {
		t.Fatalf("claims %v", c)
	}
	h := jwtHeader(t, toks.AccessToken)
	code, _, jwks := e.httpDo("GET", "/oidc/jwks", "")
	if h["alg"] != "RS256" || code != 200 || !strings.Contains(jwks, h["kid"].(string)) {
		t.Fatalf("header %v, jwks %s", h, jwks)
	}
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(toks.AccessToken)}), 200)
}

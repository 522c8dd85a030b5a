package app_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/login"
)

// loginPage opens a fresh interaction on the built-in page.
func (e *eg) loginPage(t *testing.T) (*http.Client, string) {
	t.Helper()
	c := cookieBrowser(t, cbBattery)
	_, ch := pkce()
	resp, err := c.Get(e.issuer + "/auth?" + url.Values{"client_id": {"battery"}, "redirect_uri": {cbBattery}, "response_type": {"code"}, "scope": {"openid"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, page)
	}
	return c, page
}

var volatile = regexp.MustCompile(`(value|action)="[^"]*"`)

// TestLoginPageSameAnswerCSRFAndAssets: unknown user and wrong password get
// the same page; a post without the CSRF cookie and field is refused; the
// page loads nothing from elsewhere and labels every field.
func TestLoginPageSameAnswerCSRFAndAssets(t *testing.T) {
	e := newIssuerFixture(t)
	e.user("sam", userPass)
	c1, p1 := e.loginPage(t)
	r1 := submit(t, c1, e.pub, p1, url.Values{"username": {"sam"}, "password": {"Wrong-Password-1"}})
	c2, p2 := e.loginPage(t)
	r2 := submit(t, c2, e.pub, p2, url.Values{"username": {"nobody"}, "password": {"Wrong-Password-1"}})
	b1, b2 := readBody(t, r1), readBody(t, r2)
	if r1.StatusCode != r2.StatusCode || volatile.ReplaceAllString(b1, "") != volatile.ReplaceAllString(b2, "") || !strings.Contains(b1, "Invalid credentials.") {
		t.Fatalf("different answers:\n%d %s\n%d %s", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	// CSRF: the right field without the cookie, and the cookie with a wrong field.
	act := issuerFormAction.FindStringSubmatch(p1)[1]
	csrf := csrfField.FindStringSubmatch(p1)[1]
	resp, err := http.PostForm(e.pub+act, url.Values{"csrf": {csrf}, "username": {"sam"}, "password": {userPass}})
	if err != nil {
		t.Fatal(err)
	}
	if readBody(t, resp); resp.StatusCode != 403 {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
	resp = submit(t, c1, e.pub, strings.Replace(p1, csrf, "forged", 1), url.Values{"username": {"sam"}, "password": {userPass}})
	if readBody(t, resp); resp.StatusCode != 403 {
		t.Fatalf("forged field: %d", resp.StatusCode)
	}
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import"} {
		if strings.Contains(p1, bad) {
			t.Errorf("page loads an external asset or script: %s", bad)
		}
	}
	if !strings.Contains(p1, `<label for="username">`) || !strings.Contains(p1, `<label for="password">`) || !strings.Contains(p1, `lang="en"`) {
		t.Error("fields without labels or page without a language")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// TestLoginPageForcedPasswordChange: a user who must change the password
// does it on the page before the code is issued.
func TestLoginPageForcedPasswordChange(t *testing.T) {
	e := newIssuerFixture(t)
	admin := e.loginAs(t, "admin", adminPass)
	if s, m := e.api(t, "POST", "/api/v3/users", admin.AccessToken, `{"email":"fresh@x.io","password":"`+userPass+`"}`); s != 201 {
		t.Fatalf("%d %v", s, m)
	}
	c, page := e.loginPage(t)
	resp := submit(t, c, e.pub, page, url.Values{"username": {"fresh@x.io"}, "password": {userPass}})
	page = readBody(t, resp)
	if !strings.Contains(page, "Change your password") {
		t.Fatalf("no change-password step:\n%s", page)
	}
	resp = submit(t, c, e.pub, page, url.Values{"current_password": {userPass}, "new_password": {"short"}, "confirm_password": {"short"}})
	if page = readBody(t, resp); !strings.Contains(page, "Password must be at least 12 characters") {
		t.Fatalf("policy not shown:\n%s", page)
	}
	resp = submit(t, c, e.pub, page, url.Values{"current_password": {userPass}, "new_password": {newPass}, "confirm_password": {newPass}})
	readBody(t, resp)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), cbBattery+"?code=") {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.provider().Login(context.Background(), login.Credentials{Username: "fresh@x.io", Password: newPass}); err != nil {
		t.Fatal(err)
	}
}

// TestBF11EmbeddedCallbackMintsForActiveUser: the BFF's embedded callback
// mints the CLI-shaped pair only for an active local user.
func TestBF11EmbeddedCallbackMintsForActiveUser(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	u := e.user("bea", userPass, "viewer")
	toks, err := e.app.LoginProvider().LoginSubject(ctx, u.ID)
	if err != nil || jwtClaims(t, toks.AccessToken)["preferred_username"] != "bea" || toks.RefreshToken == "" {
		t.Fatalf("%v %+v", err, toks)
	}
	if err := e.app.Store().DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.app.LoginProvider().LoginSubject(ctx, u.ID)
	wantInvalid(t, "deleted user", err)
}

// TestBF02BF11EmbeddedBroker: the provider as the OAuth BFF's broker sends
// the browser to /oidc/auth with prompt=login as the built-in client; the
// in-process exchange yields the CLI-shaped pair that passes Check, while
// the ID token (same audience) is refused as a bearer.
func TestBF02BF11EmbeddedBroker(t *testing.T) {
	e := startEmbedded(t)
	e.user("bo@example.com", userPass, "viewer")
	p := e.app.LoginProvider()
	callback := e.pub + "/api/v3/user/oauth/callback"
	v, _ := pkce()
	authURL, err := p.AuthCodeURL(callback, "st", "nn", v, []string{"openid", "profile", "email", "groups", "offline_access"})
	if err != nil || !strings.HasPrefix(authURL, e.issuer+"/auth?") || !strings.Contains(authURL, "prompt=login") {
		t.Fatalf("%q %v", authURL, err)
	}
	q, _ := url.ParseQuery(authURL[strings.Index(authURL, "?")+1:])
	back := e.authorizeAndLogin(t, q, "bo@example.com", userPass, "")
	if back.Get("state") != "st" {
		t.Fatalf("callback %v", back)
	}
	toks, err := p.Exchange(context.Background(), callback, back.Get("code"), v)
	if err != nil || toks.RefreshToken == "" || toks.IDToken == "" {
		t.Fatalf("%v %+v", err, toks)
	}
	if c := jwtClaims(t, toks.IDToken); c["nonce"] != "nn" || c["aud"] != "controller" {
		t.Fatalf("id token %v", c)
	}
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(toks.AccessToken)}), 200)
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(toks.IDToken)}), 401)
	if _, err := p.Exchange(context.Background(), callback, back.Get("code"), v); err == nil {
		t.Fatal("a code redeemed twice")
	}
}

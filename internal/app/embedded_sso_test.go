package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// ssoBrowser is one browser (cookie jar) against the embedded issuer that
// stops at the clients' https redirect URIs.
type ssoBrowser struct {
	t *testing.T
	e *eg
	c *http.Client
}

// authorize sends the browser to /auth and reports where it ended: the
// login page (loginPage true, with its HTML) or a client redirect.
func (b *ssoBrowser) authorize(client, redirect string, extra url.Values) (loginPage bool, page string, to *url.URL) {
	b.t.Helper()
	q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid profile"}, "state": {"st"}}
	if client == "dashboard" { // public: PKCE
		_, ch := pkce()
		q.Set("code_challenge", ch)
		q.Set("code_challenge_method", "S256")
	}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := b.c.Get(b.e.issuer + "/auth?" + q.Encode())
	if err != nil {
		b.t.Fatal(err)
	}
	body := readBody(b.t, resp)
	if resp.StatusCode == http.StatusOK {
		return true, body, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		b.t.Fatalf("authorize: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return false, "", loc
}

// login completes the login page and returns the client redirect.
func (b *ssoBrowser) login(page, user, pw string) (*url.URL, *http.Response) {
	b.t.Helper()
	resp := submit(b.t, b.c, b.e.pub, page, url.Values{"username": {user}, "password": {pw}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc, resp
}

// mustResume asserts the browser is sent back to the client with a code,
// without a login page.
func (b *ssoBrowser) mustResume(client, redirect string, extra url.Values) *url.URL {
	b.t.Helper()
	isLogin, _, to := b.authorize(client, redirect, extra)
	if isLogin {
		b.t.Fatalf("%s %v: the login page was shown to a signed-in browser", client, extra)
	}
	if to.Query().Get("code") == "" || to.Query().Get("state") != "st" || to.Query().Get("iss") != b.e.issuer {
		b.t.Fatalf("%s: redirect %s", client, to)
	}
	return to
}

func (b *ssoBrowser) mustLogin(client, redirect string, extra url.Values) string {
	b.t.Helper()
	isLogin, page, to := b.authorize(client, redirect, extra)
	if !isLogin {
		b.t.Fatalf("%s %v: answered without a login (%s)", client, extra, to)
	}
	return page
}

// TestSSOSessions: a browser that signed in once is answered without the
// login page on later authorization requests, from any client, as the
// Controller's oidc-provider does — until prompt=login, max_age, logout,
// a disabled user or a password change says otherwise.
func TestSSOSessions(t *testing.T) {
	e := newIssuerFixture(t)
	u := e.user("sso@x.io", userPass, "viewer")
	const cbDash = "https://d.example/cb"
	b := &ssoBrowser{t: t, e: e, c: cookieBrowser(t, "https://")}

	page := b.mustLogin("battery", cbBattery, nil)
	to, resp := b.login(page, "sso@x.io", userPass)
	if to.Query().Get("code") == "" {
		t.Fatalf("first login: %s", to)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "gatehouse_oidc_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.Path != "/oidc" || session.SameSite != http.SameSiteLaxMode || session.MaxAge <= 0 {
		t.Fatalf("session cookie %+v: want HttpOnly, Path /oidc, SameSite Lax, a lifetime", session)
	}

	t.Run("another client is answered at once, in the same session", func(t *testing.T) {
		b.t = t
		to := b.mustResume("dashboard", cbDash, nil)
		v, ch := pkce()
		q := url.Values{"client_id": {"dashboard"}, "redirect_uri": {cbDash}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st"},
			"code_challenge": {ch}, "code_challenge_method": {"S256"}}
		_, _, to = b.authorize("dashboard", cbDash, q)
		status, body := e.token(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {"dashboard"}, "code": {to.Query().Get("code")},
			"redirect_uri": {cbDash}, "code_verifier": {v}}, "", "")
		if status != 200 || body["id_token"] == nil {
			t.Fatalf("token: %d %v", status, body)
		}
		if sub := jwtClaims(t, body["id_token"].(string))["sub"]; sub != u.ID {
			t.Fatalf("id_token sub %v, want %s", sub, u.ID)
		}
	})
	t.Run("prompt=none is answered from the session", func(t *testing.T) {
		b.t = t
		b.mustResume("battery", cbBattery, url.Values{"prompt": {"none"}})
	})
	t.Run("prompt=login and max_age=0 show the login page", func(t *testing.T) {
		b.t = t
		b.mustLogin("battery", cbBattery, url.Values{"prompt": {"login"}})
		b.mustLogin("battery", cbBattery, url.Values{"max_age": {"0"}})
		b.mustResume("battery", cbBattery, url.Values{"max_age": {"3600"}})
	})
	t.Run("another browser has no session", func(t *testing.T) {
		other := &ssoBrowser{t: t, e: e, c: cookieBrowser(t, "https://")}
		_, _, to := other.authorize("battery", cbBattery, url.Values{"prompt": {"none"}})
		if to == nil || to.Query().Get("error") != "login_required" {
			t.Fatalf("prompt=none without a session: %v", to)
		}
		other.mustLogin("battery", cbBattery, nil)
	})
	t.Run("a disabled user's session no longer signs in", func(t *testing.T) {
		b.t = t
		ctx := context.Background()
		if _, err := e.app.Store().UpdateUser(ctx, u.ID, func(x *gatehouse.User) error { x.Disabled = true; return nil }); err != nil {
			t.Fatal(err)
		}
		b.mustLogin("battery", cbBattery, nil)
		if _, err := e.app.Store().UpdateUser(ctx, u.ID, func(x *gatehouse.User) error { x.Disabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		b.mustResume("battery", cbBattery, nil)
	})
	t.Run("end_session ends it", func(t *testing.T) {
		b.t = t
		resp, err := b.c.Get(e.issuer + "/session/end")
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("end_session: %d", resp.StatusCode)
		}
		b.mustLogin("battery", cbBattery, nil)
		_, _, to := b.authorize("battery", cbBattery, url.Values{"prompt": {"none"}})
		if to.Query().Get("error") != "login_required" {
			t.Fatalf("prompt=none after logout: %s", to)
		}
	})
	t.Run("logout through the API ends every session of the user", func(t *testing.T) {
		b.t = t
		page := b.mustLogin("battery", cbBattery, nil)
		b.login(page, "sso@x.io", userPass)
		b.mustResume("battery", cbBattery, nil)
		tok := e.loginAs(t, "sso@x.io", userPass)
		if s, m := e.api(t, "POST", "/api/v3/user/logout", tok.AccessToken, ""); s != 204 {
			t.Fatalf("logout: %d %v", s, m)
		}
		b.mustLogin("battery", cbBattery, nil)
	})
}

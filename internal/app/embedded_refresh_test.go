package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/login"
)

func TestRF01RF02RefreshRotates(t *testing.T) {
	e := startEmbedded(t)
	e.user("rob", userPass)
	ctx := context.Background()
	p := e.provider()
	t1, err := p.Login(ctx, login.Credentials{Username: "rob", Password: userPass})
	if err != nil {
		t.Fatal(err)
	}
	t2, err := p.Refresh(ctx, t1.RefreshToken)
	if err != nil || t2.RefreshToken == t1.RefreshToken || t2.AccessToken == "" {
		t.Fatalf("RF-01: %v %+v", err, t2)
	}
	// RF-02 and RF-03 run with the reuse interval off: TestRF03ReuseRevokesFamily.
}

func TestRF03ReuseRevokesFamily(t *testing.T) {
	e := startEmbedded(t, "AUTH_REFRESH_REUSE_INTERVAL_SECONDS", "0")
	e.user("rob", userPass)
	ctx := context.Background()
	p := e.provider()
	t1, _ := p.Login(ctx, login.Credentials{Username: "rob", Password: userPass})
	t2, err := p.Refresh(ctx, t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Refresh(ctx, t1.RefreshToken)
	wantInvalid(t, "RF-02 reused token", err)
	_, err = p.Refresh(ctx, t2.RefreshToken)
	wantInvalid(t, "RF-03 newest token of the revoked family", err)
	// Another login's family is untouched.
	t3, _ := p.Login(ctx, login.Credentials{Username: "rob", Password: userPass})
	if _, err := p.Refresh(ctx, t3.RefreshToken); err != nil {
		t.Fatalf("other family: %v", err)
	}
}

// TestRefreshReuseInterval: two tabs refreshing at once — the same client
// presenting the rotated token again within the interval gets a fresh pair
// in the same family; another client presenting it is refused and revokes
// the family.
func TestRefreshReuseInterval(t *testing.T) {
	e := newIssuerFixture(t, "AUTH_REFRESH_REUSE_INTERVAL_SECONDS", "30")
	e.user("tab", userPass)
	_, rt := e.passwordGrant(t, "tab", userPass)
	refresh := func(tok, id, sec string) (int, map[string]any) {
		return e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, id, sec)
	}
	s1, b1 := refresh(rt, "battery", "battery-secret")
	s2, b2 := refresh(rt, "battery", "battery-secret")
	if s1 != 200 || s2 != 200 || b1["refresh_token"] == b2["refresh_token"] {
		t.Fatalf("same client within the interval: %d %d", s1, s2)
	}
	// Both new tokens work: same family, not revoked.
	if s, b := refresh(b1["refresh_token"].(string), "battery", "battery-secret"); s != 200 {
		t.Fatalf("tab 1 %d %v", s, b)
	}
	e.client("other", "other-secret", []string{"https://o.example/cb"}, nil)
	if s, _ := refresh(rt, "other", "other-secret"); s != 400 {
		t.Fatalf("another client reusing: %d", s)
	}
	if s, _ := refresh(b2["refresh_token"].(string), "battery", "battery-secret"); s != 400 {
		t.Fatalf("family should be revoked after a foreign reuse: %d", s)
	}
}

func TestRF04RefreshRefusals(t *testing.T) {
	e := startEmbedded(t, "AUTH_REFRESH_TOKEN_TTL_SECONDS", "1")
	ctx := context.Background()
	p := e.provider()
	u := e.user("del", userPass)
	t1, _ := p.Login(ctx, login.Credentials{Username: "del", Password: userPass})
	// An access token sent as a refresh token.
	_, err := p.Refresh(ctx, t1.AccessToken)
	wantInvalid(t, "access token as refresh token", err)
	// Expired (TTL 1 s): bounded wait past expiry.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = p.Refresh(ctx, t1.RefreshToken)
		if err != nil || time.Now().After(deadline) {
			break
		}
		t1, _ = p.Login(ctx, login.Credentials{Username: "del", Password: userPass})
		time.Sleep(1100 * time.Millisecond)
	}
	wantInvalid(t, "expired", err)
	// Revoked (logout), then deleted user.
	t2, _ := p.Login(ctx, login.Credentials{Username: "del", Password: userPass})
	if err := p.Logout(ctx, t2.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err = p.Refresh(ctx, t2.RefreshToken)
	wantInvalid(t, "revoked", err)
	t3, _ := p.Login(ctx, login.Credentials{Username: "del", Password: userPass})
	if err := e.app.Store().DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = p.Refresh(ctx, t3.RefreshToken)
	wantInvalid(t, "deleted user", err)
	_, err = p.Refresh(ctx, "")
	wantInvalid(t, "RF-06 empty", err)
}

func TestRF05RefreshCarriesNewGroups(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	u := e.user("gil", userPass, "viewer")
	t1, _ := e.provider().Login(ctx, login.Credentials{Username: "gil", Password: userPass})
	if err := e.app.Store().AddMember(ctx, "developer", u.ID); err != nil {
		t.Fatal(err)
	}
	t2, err := e.provider().Refresh(ctx, t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if g := jwtClaims(t, t2.AccessToken)["groups"].([]any); len(g) != 2 {
		t.Fatalf("groups %v", g)
	}
}

func TestLO02LogoutRevokesEveryRefreshToken(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	p := e.provider()
	e.user("lea", userPass)
	a, _ := p.Login(ctx, login.Credentials{Username: "lea", Password: userPass})
	b, _ := p.Login(ctx, login.Credentials{Username: "lea", Password: userPass})
	// Logout with the bearer access token, as the route does.
	if err := p.Logout(ctx, a.AccessToken); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []string{a.RefreshToken, b.RefreshToken} {
		_, err := p.Refresh(ctx, rt)
		wantInvalid(t, "after logout", err)
	}
}

func TestPF01Profile(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	u := e.user("pia@example.com", userPass, "viewer")
	toks, _ := e.provider().Login(ctx, login.Credentials{Username: "pia@example.com", Password: userPass})
	prof, err := e.app.LoginProvider().Profile(ctx, toks.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(prof)
	for _, k := range []string{`"sub":"` + u.ID + `"`, `"email":"pia@example.com"`, `"preferred_username":"pia@example.com"`, `"groups":["viewer"]`, `"password_change_required":false`, `"mfaEnabled":false`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("profile %s lacks %s", b, k)
		}
	}
	if _, err := e.app.LoginProvider().Profile(ctx, toks.AccessToken+"x"); err == nil {
		t.Fatal("a forged token got a profile")
	}
}

// TestUserInfoRevocationEndSession: UserInfo answers for a valid access
// token only; RFC 7009 revocation kills the refresh family; end session
// with an ID token hint revokes that session's refresh tokens.
func TestUserInfoRevocationEndSession(t *testing.T) {
	e := newIssuerFixture(t)
	e.user("uma@example.com", userPass, "viewer")
	body := e.codeFlow(t, "uma@example.com", userPass, "openid profile email groups offline_access")
	at := body["access_token"].(string)
	get := func(tok string) (int, map[string]any) {
		r, _ := http.NewRequest("GET", e.issuer+"/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(readBody(t, resp)), &m)
		return resp.StatusCode, m
	}
	if s, m := get(at); s != 200 || m["email"] != "uma@example.com" || m["sub"] == nil {
		t.Fatalf("userinfo %d %v", s, m)
	}
	if s, _ := get(body["id_token"].(string)); s != 401 {
		t.Fatalf("an ID token is not an access token: %d", s)
	}
	// Revocation (client_secret_post).
	r, _ := http.PostForm(e.issuer+"/revoke", url.Values{"token": {body["refresh_token"].(string)}, "client_id": {"battery"}, "client_secret": {"battery-secret"}})
	readBody(t, r)
	if r.StatusCode != 200 {
		t.Fatalf("revoke %d", r.StatusCode)
	}
	if s, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}}, "battery", "battery-secret"); s != 400 {
		t.Fatalf("revoked refresh token: %d", s)
	}
	// End session.
	body = e.codeFlow(t, "uma@example.com", userPass, "openid offline_access")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.issuer + "/session/end?" + url.Values{"id_token_hint": {body["id_token"].(string)}, "post_logout_redirect_uri": {"https://b.example/bye"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "https://b.example/bye" {
		t.Fatalf("end session %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if s, _ := e.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}}, "battery", "battery-secret"); s != 400 {
		t.Fatalf("session's refresh token after end session: %d", s)
	}
}

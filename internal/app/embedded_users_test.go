package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/login"
)

const newPass = "NewSecurePass456!"

func TestPW01toPW05ChangePassword(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	e.user("pam", userPass)
	tok := e.loginAs(t, "pam", userPass)
	if s, m := e.api(t, "POST", "/api/v3/user/change-password", tok.AccessToken, `{"currentPassword":"Wrong-Pass-123","newPassword":"`+newPass+`"}`); s != 401 || m["message"] != "Invalid credentials" {
		t.Fatalf("PW-02: %d %v", s, m)
	}
	s, m := e.api(t, "POST", "/api/v3/user/change-password", tok.AccessToken, `{"currentPassword":"`+userPass+`","newPassword":"short"}`)
	if s != 400 || m["name"] != "ValidationError" || !strings.Contains(m["message"].(string), "Password must be at least 12 characters; ") {
		t.Fatalf("PW-03: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", "/api/v3/user/change-password", tok.AccessToken, `{"currentPassword":"`+userPass+`","newPassword":"`+userPass+`"}`); s != 400 || m["message"] != "Password was used recently and cannot be reused" {
		t.Fatalf("PW-04: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", "/api/v3/user/change-password", tok.AccessToken, `{"currentPassword":"`+userPass+`","newPassword":"`+newPass+`"}`); s != 200 || m["status"] != "success" {
		t.Fatalf("PW-01: %d %v", s, m)
	}
	_, err := e.provider().Refresh(ctx, tok.RefreshToken)
	wantInvalid(t, "PW-01 refresh tokens revoked", err)
	tok = e.loginAs(t, "pam", newPass)
	if s, m := e.api(t, "POST", "/api/v3/user/change-password", tok.AccessToken, `{"currentPassword":"`+newPass+`","newPassword":"`+userPass+`"}`); s != 400 {
		t.Fatalf("PW-04 history: %d %v", s, m)
	}
	// PW-05: reset token from an admin, single use.
	admin := e.loginAs(t, "admin", adminPass)
	u, _ := e.app.Store().GetUserByLogin(ctx, "pam")
	s, m = e.api(t, "POST", "/api/v3/users/"+u.ID+"/reset-token", admin.AccessToken, "")
	if s != 200 || m["expiresIn"] != float64(3600) {
		t.Fatalf("UA-06: %d %v", s, m)
	}
	first := m["resetToken"].(string)
	_, m = e.api(t, "POST", "/api/v3/users/"+u.ID+"/reset-token", admin.AccessToken, "")
	second := m["resetToken"].(string)
	if s, _ := e.api(t, "POST", "/api/v3/user/change-password", "", `{"resetToken":"`+first+`","newPassword":"Third-Password-789"}`); s != 401 {
		t.Fatalf("UA-06: the first token still works: %d", s)
	}
	if s, m := e.api(t, "POST", "/api/v3/user/change-password", "", `{"resetToken":"`+second+`","newPassword":"Third-Password-789"}`); s != 200 {
		t.Fatalf("PW-05: %d %v", s, m)
	}
	if s, _ := e.api(t, "POST", "/api/v3/user/change-password", "", `{"resetToken":"`+second+`","newPassword":"Fourth-Password-789"}`); s != 401 {
		t.Fatalf("PW-05 reuse: %d", s)
	}
	e.loginAs(t, "pam", "Third-Password-789")
}

func TestPW06UA09ExternalMode501(t *testing.T) {
	f := newFixture(t)
	tok := f.token(func(c map[string]any) { c["groups"] = []string{"admin"} })
	do := func(method, path, body string) (int, string) {
		r, _ := http.NewRequest(method, "http://"+f.g.app.HTTPAddr()+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readBody(t, resp)
	}
	if s, b := do("POST", "/api/v3/user/change-password", `{"currentPassword":"a","newPassword":"b"}`); s != 501 || !strings.Contains(b, "Password change is only supported in embedded auth mode") {
		t.Fatalf("PW-06: %d %s", s, b)
	}
	for _, p := range []string{"GET /api/v3/users", "POST /api/v3/groups", "POST /api/v3/auth/jwks/rotate", "POST /api/v3/auth/migration/export"} {
		m, path, _ := strings.Cut(p, " ")
		if s, b := do(m, path, ""); s != 501 {
			t.Errorf("UA-09 %s: %d %s", p, s, b)
		}
	}
}

func TestMF01toMF03SelfServiceMFA(t *testing.T) {
	e := startEmbedded(t)
	e.user("mo", userPass)
	tok := e.loginAs(t, "mo", userPass)
	if s, m := e.api(t, "POST", "/api/v3/user/mfa/confirm", tok.AccessToken, `{"code":"123456"}`); s != 400 || m["message"] != "MFA enrollment has not been started" {
		t.Fatalf("MF-02 before enroll: %d %v", s, m)
	}
	s, m := e.api(t, "POST", "/api/v3/user/mfa/enroll", tok.AccessToken, "")
	if s != 200 || !strings.HasPrefix(m["otpauthUrl"].(string), "otpauth://totp/") || !strings.Contains(m["otpauthUrl"].(string), "issuer=Controller") {
		t.Fatalf("MF-01: %d %v", s, m)
	}
	sec := m["secret"].(string)
	if s, _ := e.api(t, "POST", "/api/v3/user/mfa/confirm", tok.AccessToken, `{"code":"000000"}`); s != 401 {
		t.Fatalf("MF-02 wrong code: %d", s)
	}
	code, _ := issuer.TOTPCode(sec, issuer.TOTPStep(time.Now())-1)
	s, m = e.api(t, "POST", "/api/v3/user/mfa/confirm", tok.AccessToken, `{"code":"`+code+`"}`)
	if s != 200 || len(m["recoveryCodes"].([]any)) != 10 {
		t.Fatalf("MF-02: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", "/api/v3/user/mfa/enroll", tok.AccessToken, ""); s != 400 || m["message"] != "MFA is already enabled" {
		t.Fatalf("MF-01 again: %d %v", s, m)
	}
	code, _ = issuer.TOTPCode(sec, issuer.TOTPStep(time.Now()))
	if s, _ := e.api(t, "DELETE", "/api/v3/user/mfa", tok.AccessToken, `{"password":"wrong-Pass-1234","code":"`+code+`"}`); s != 401 {
		t.Fatalf("MF-03 wrong password: %d", s)
	}
	if s, m := e.api(t, "DELETE", "/api/v3/user/mfa", tok.AccessToken, `{"password":"`+userPass+`","code":"`+code+`"}`); s != 200 || m["status"] != "success" {
		t.Fatalf("MF-03: %d %v", s, m)
	}
	if s, m := e.api(t, "DELETE", "/api/v3/user/mfa", tok.AccessToken, `{"password":"`+userPass+`","code":"`+code+`"}`); s != 400 || m["message"] != "MFA is not enabled" {
		t.Fatalf("MF-03 not enabled: %d %v", s, m)
	}
}

func TestUA01toUA08UserAndGroupAdmin(t *testing.T) {
	e := startEmbedded(t)
	ctx := context.Background()
	admin := e.loginAs(t, "admin", adminPass)
	at := admin.AccessToken
	s, m := e.api(t, "POST", "/api/v3/users", at, `{"email":"a@x.io","password":"`+userPass+`","groups":["developer"]}`)
	if s != 201 || m["mustChangePassword"] != true || m["email"] != "a@x.io" {
		t.Fatalf("UA-02: %d %v", s, m)
	}
	id := m["id"].(string)
	if s, m := e.api(t, "POST", "/api/v3/users", at, `{"email":"a@x.io","password":"`+userPass+`"}`); s != 409 || m["message"] != "A user with this email already exists" {
		t.Fatalf("UA-02 twice: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", "/api/v3/users", at, `{"email":"b@x.io","password":"`+userPass+`","groups":["nope","zed"]}`); s != 400 || m["message"] != "Unknown groups: nope, zed" {
		t.Fatalf("UA-03: %d %v", s, m)
	}
	r, _ := http.NewRequest("GET", e.base+"/api/v3/users", nil)
	r.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	list := readBody(t, resp)
	if resp.StatusCode != 200 || strings.Index(list, `"a@x.io"`) > strings.Index(list, `"admin"`) || strings.Contains(list, "argon2") || !strings.Contains(list, `"isBootstrap":true`) {
		t.Fatalf("UA-01: %d %s", resp.StatusCode, list)
	}
	// RB-17-style token of a user who must change the password still logs in.
	if _, err := e.provider().Login(ctx, login.Credentials{Username: "a@x.io", Password: userPass}); err != nil {
		t.Fatal(err)
	}
	boot, _ := e.app.Store().GetUserByLogin(ctx, "admin")
	if s, m := e.api(t, "DELETE", "/api/v3/users/"+boot.ID, at, ""); s != 403 || m["message"] != "Bootstrap admin user cannot be deleted" {
		t.Fatalf("UA-04 bootstrap: %d %v", s, m)
	}
	// Another admin deleting themselves.
	s, m = e.api(t, "POST", "/api/v3/users", at, `{"email":"boss@x.io","password":"`+userPass+`","groups":["admin"]}`)
	boss := m["id"].(string)
	if s != 201 {
		t.Fatalf("%d %v", s, m)
	}
	_, _ = e.app.Issuer().Accounts.UpdateAccount(ctx, boss, func(a *issuer.Account) error { a.MustChange = false; return nil })
	bossTok, err := e.app.Issuer().Issue(ctx, issuer.Grant{UserID: boss, ClientID: "controller", Scope: "openid"})
	if err != nil {
		t.Fatal(err)
	}
	if s, m := e.api(t, "DELETE", "/api/v3/users/"+boss, bossTok.AccessToken, ""); s != 403 || m["message"] != "Users cannot delete their own account" {
		t.Fatalf("UA-04 self: %d %v", s, m)
	}
	victim := e.loginAs(t, "a@x.io", userPass)
	if s, _ := e.api(t, "DELETE", "/api/v3/users/"+id, at, ""); s != 204 {
		t.Fatalf("UA-04 delete: %d", s)
	}
	_, err = e.provider().Refresh(ctx, victim.RefreshToken)
	wantInvalid(t, "UA-04 deleted user's refresh token", err)
	// UA-05
	s, m = e.api(t, "POST", "/api/v3/users/"+boss+"/reset-password", at, "")
	if s != 200 || m["mustChangePassword"] != true || len(m["temporaryPassword"].(string)) < 12 || issuer.CheckPasswordPolicy(m["temporaryPassword"].(string)) != nil {
		t.Fatalf("UA-05: %d %v", s, m)
	}
	if s, _ := e.api(t, "GET", "/api/v3/users/nope", at, ""); s != 404 {
		t.Fatalf("404: %d", s)
	}
	// UA-07
	if s, m := e.api(t, "POST", "/api/v3/groups", at, `{"name":"Ops"}`); s != 201 || m["name"] != "ops" || m["isSystem"] != false || m["mfaRequired"] != false {
		t.Fatalf("UA-07 create: %d %v", s, m)
	}
	if s, _ := e.api(t, "POST", "/api/v3/groups", at, `{"name":"admin"}`); s != 409 {
		t.Fatalf("UA-07 system name: %d", s)
	}
	if s, _ := e.api(t, "PATCH", "/api/v3/groups/admin", at, `{"name":"x"}`); s != 403 {
		t.Fatalf("UA-07 rename system: %d", s)
	}
	if s, _ := e.api(t, "DELETE", "/api/v3/groups/viewer", at, ""); s != 403 {
		t.Fatalf("UA-07 delete system: %d", s)
	}
	if s, m := e.api(t, "PATCH", "/api/v3/groups/admin", at, `{"mfaRequired":"yes"}`); s != 400 || m["message"] != "mfaRequired must be a boolean" {
		t.Fatalf("UA-07 bad flag: %d %v", s, m)
	}
	if s, m := e.api(t, "PATCH", "/api/v3/groups/ops", at, `{"mfaRequired":true}`); s != 200 || m["mfaRequired"] != true {
		t.Fatalf("UA-07 flag: %d %v", s, m)
	}
	if s, _ := e.api(t, "DELETE", "/api/v3/groups/ops", at, ""); s != 204 {
		t.Fatalf("UA-07 delete: %d", s)
	}
	// UA-08
	e.user("vee", userPass, "viewer")
	vt := e.loginAs(t, "vee", userPass)
	if s, _ := e.api(t, "GET", "/api/v3/users", vt.AccessToken, ""); s != 200 {
		t.Fatalf("UA-08 viewer list: %d", s)
	}
	if s, _ := e.api(t, "POST", "/api/v3/users", vt.AccessToken, `{"email":"c@x.io","password":"`+userPass+`"}`); s != 403 {
		t.Fatalf("UA-08 viewer create: %d", s)
	}
}

// mustChangeUser has the admin create a viewer (who must change the
// password, as every user an admin creates) and logs in as it.
func (e *eg) mustChangeUser(t *testing.T, email string) login.Tokens {
	t.Helper()
	admin := e.loginAs(t, "admin", adminPass)
	if s, m := e.api(t, "POST", "/api/v3/users", admin.AccessToken, `{"email":"`+email+`","password":"`+userPass+`","groups":["viewer"]}`); s != 201 {
		t.Fatalf("%d %v", s, m)
	}
	return e.loginAs(t, email, userPass)
}

// TestRB17PasswordChangeRequired: a user who must change the password gets
// 403 on RBAC routes while profile-class routes and change-password work.
func TestRB17PasswordChangeRequired(t *testing.T) {
	e := startEmbedded(t)
	tok := e.mustChangeUser(t, "new@x.io")
	if jwtClaims(t, tok.AccessToken)["password_change_required"] != true {
		t.Fatal("claim missing")
	}
	o := e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(tok.AccessToken)})
	wantStatus(t, o, 403)
	if !strings.Contains(o.body, "Password change required before accessing this resource") {
		t.Fatalf("body %s", o.body)
	}
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/user/profile", headers: bearer(tok.AccessToken)}), 200)
	if s, m := e.api(t, "POST", "/api/v3/user/change-password", tok.AccessToken, `{"currentPassword":"`+userPass+`","newPassword":"`+newPass+`"}`); s != 200 {
		t.Fatalf("change-password: %d %v", s, m)
	}
	tok = e.loginAs(t, "new@x.io", newPass)
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(tok.AccessToken)}), 200)
}

// TestRB18SameTokenPassesAfterChange: the gate re-checks the stored flag, so
// the token issued while the password had to be changed passes RBAC again
// once it is changed, without a new login — on this replica at once.
func TestRB18SameTokenPassesAfterChange(t *testing.T) {
	e := startEmbedded(t)
	tok := e.mustChangeUser(t, "rb18@x.io")
	rbac := req{method: "GET", path: "/api/v3/application", headers: bearer(tok.AccessToken)}
	wantStatus(t, e.decide(rbac), 403) // and its decision is now cached
	if s, m := e.api(t, "POST", "/api/v3/user/change-password", tok.AccessToken, `{"currentPassword":"`+userPass+`","newPassword":"`+newPass+`"}`); s != 200 {
		t.Fatalf("change-password: %d %v", s, m)
	}
	if jwtClaims(t, tok.AccessToken)["password_change_required"] != true {
		t.Fatal("the old token should still carry the claim")
	}
	wantStatus(t, e.decide(rbac), 200)
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/user/profile", headers: bearer(tok.AccessToken)}), 200)

	// A user who is gone or disabled keeps the claim the token carries.
	u, err := e.app.Store().GetUserByLogin(context.Background(), "rb18@x.io")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Store().UpdateUser(context.Background(), u.ID, func(x *gatehouse.User) error { x.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	wantReason(t, e.decide(rbac), 403, "PASSWORD_CHANGE_REQUIRED")
}

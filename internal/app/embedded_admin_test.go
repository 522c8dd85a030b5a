package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/login"
)

// api calls a REST route on Gatehouse's own listener.
func (e *eg) api(t *testing.T, method, path, bearerTok, body string) (int, map[string]any) {
	t.Helper()
	r, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearerTok != "" {
		r.Header.Set("Authorization", "Bearer "+bearerTok)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(readBody(t, resp)), &m)
	return resp.StatusCode, m
}

func (e *eg) loginAs(t *testing.T, user, pw string) login.Tokens {
	t.Helper()
	toks, err := e.provider().Login(context.Background(), login.Credentials{Username: user, Password: pw})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return toks
}

// TestIS04IS05TV04Rotation: the admin rotates; the new kid is published and
// signs at once; tokens signed before stay valid (old key still published)
// with no restart; a viewer may not rotate.
func TestIS04IS05TV04Rotation(t *testing.T) {
	e := startEmbedded(t)
	e.user("vic", userPass, "viewer")
	admin := e.loginAs(t, "admin", adminPass)
	before := e.loginAs(t, "vic", userPass)
	oldKID := jwtHeader(t, before.AccessToken)["kid"].(string)

	if s, m := e.api(t, "POST", "/api/v3/auth/jwks/rotate", before.AccessToken, ""); s != 403 {
		t.Fatalf("viewer rotate: %d %v", s, m)
	}
	if s, _ := e.api(t, "POST", "/api/v3/auth/jwks/rotate", "", ""); s != 401 {
		t.Fatalf("anonymous rotate: %d", s)
	}
	s, m := e.api(t, "POST", "/api/v3/auth/jwks/rotate", admin.AccessToken, "")
	if s != 200 || m["kid"] == nil || m["kid"] == oldKID || m["restartRequired"] != false {
		t.Fatalf("rotate: %d %v", s, m)
	}
	if _, err := time.Parse(time.RFC3339Nano, m["rotatedAt"].(string)); err != nil {
		t.Fatalf("rotatedAt: %v", err)
	}
	_, _, jwks := e.httpDo("GET", "/oidc/jwks", "")
	if !strings.Contains(jwks, m["kid"].(string)) || !strings.Contains(jwks, oldKID) {
		t.Fatalf("JWKS after rotation: %s", jwks)
	}
	after := e.loginAs(t, "vic", userPass)
	if kid := jwtHeader(t, after.AccessToken)["kid"]; kid != m["kid"] {
		t.Fatalf("new tokens signed by %v, want %v", kid, m["kid"])
	}
	for name, tok := range map[string]string{"before": before.AccessToken, "after": after.AccessToken} {
		wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(tok)}), 200)
		_ = name
	}
}

// TestTV04RetiredKeyLeavesAfterTokenLifetime: the previous key is dropped
// from the JWKS once every token it signed has expired, and its tokens are
// then refused.
func TestTV04RetiredKeyLeavesAfterTokenLifetime(t *testing.T) {
	e := startEmbedded(t, "AUTH_ACCESS_TOKEN_TTL_SECONDS", "1", "AUTH_OIDC_ID_TOKEN_TTL_SECONDS", "1", "JWT_LEEWAY", "0s")
	ring := e.app.Issuer().Keys()
	tok := e.loginAs(t, "admin", adminPass)
	oldKID := jwtHeader(t, tok.AccessToken)["kid"].(string)
	if _, _, err := ring.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(string(ring.JWKS()), oldKID) {
		if time.Now().After(deadline) {
			t.Fatal("retired key still published after its tokens expired")
		}
		time.Sleep(200 * time.Millisecond)
		_ = ring.Reload(context.Background())
	}
	wantStatus(t, e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(tok.AccessToken)}), 401)
}

// TestIS05RotationReachesEveryReplica: two Gatehouse processes on one
// PostgreSQL; after a rotation on A, B signs with the new key and both
// accept tokens signed before and after, without restart.
func TestIS05RotationReachesEveryReplica(t *testing.T) {
	dbURL := testenv.PostgresSchemaURL(t, "gh_embedded")
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64
	proxy, target := publicProxy(t)
	env := func() map[string]string {
		return map[string]string{
			"CONTROLLER_PUBLIC_URL": proxy.URL, "AUTH_INSECURE_ALLOW_HTTP": "true", "DATA_DIR": t.TempDir(),
			"DATABASE_URL": dbURL, "AUTH_ENCRYPTION_KEY": key,
			"OIDC_BOOTSTRAP_ADMIN_USERNAME": "admin", "OIDC_BOOTSTRAP_ADMIN_PASSWORD": adminPass,
			"POLICY_EVAL_TIMEOUT": "5s",
		}
	}
	a := &eg{gh: start(t, env(), true), pub: proxy.URL, issuer: proxy.URL + "/oidc"}
	b := &eg{gh: start(t, env(), true), pub: proxy.URL, issuer: proxy.URL + "/oidc"}
	_ = target
	if a.app.Signer().KeyID() != b.app.Signer().KeyID() {
		t.Fatalf("replicas sign with different keys: %s %s", a.app.Signer().KeyID(), b.app.Signer().KeyID())
	}
	before := a.loginAs(t, "admin", adminPass)
	s, m := a.api(t, "POST", "/api/v3/auth/jwks/rotate", before.AccessToken, "")
	if s != 200 {
		t.Fatalf("rotate %d %v", s, m)
	}
	kid := m["kid"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for b.app.Signer().KeyID() != kid {
		if time.Now().After(deadline) {
			t.Fatal("replica B never picked up the rotation")
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := b.loginAs(t, "admin", adminPass)
	if jwtHeader(t, after.AccessToken)["kid"] != kid {
		t.Fatal("B does not sign with the new key")
	}
	for _, g := range []*eg{a, b} {
		for _, tok := range []string{before.AccessToken, after.AccessToken} {
			wantStatus(t, g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)}), 200)
		}
	}
}

// TestIS06MigrationExport: users and groups, nothing secret.
func TestIS06MigrationExport(t *testing.T) {
	e := startEmbedded(t)
	u := e.user("exp@example.com", userPass, "developer")
	sec := e.enrollTOTP(u.ID)
	admin := e.loginAs(t, "admin", adminPass)
	r, _ := http.NewRequest("POST", e.base+"/api/v3/auth/migration/export", nil)
	r.Header.Set("Authorization", "Bearer "+admin.AccessToken)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	raw := readBody(t, resp)
	var out struct {
		AuthMode string `json:"authMode"`
		Users    []struct {
			ID, Email string
			Groups    []string
		}
		Groups []struct {
			ID, Name string
			IsSystem bool
		}
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || resp.StatusCode != 200 || out.AuthMode != "embedded" {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	found := false
	for _, x := range out.Users {
		if x.Email == "exp@example.com" && len(x.Groups) == 1 && x.Groups[0] == "developer" {
			found = true
		}
	}
	if !found || len(out.Groups) < 4 {
		t.Fatalf("export %s", raw)
	}
	for _, bad := range []string{"argon2id", sec, "totp", "recovery"} {
		if strings.Contains(raw, bad) {
			t.Fatalf("export leaks %q: %s", bad, raw)
		}
	}
	viewer := e.user("v2", userPass, "viewer")
	_ = viewer
	vt := e.loginAs(t, "v2", userPass)
	if s, _ := e.api(t, "POST", "/api/v3/auth/migration/export", vt.AccessToken, ""); s != 403 {
		t.Fatalf("viewer export: %d", s)
	}
}

// TestIN01toIN03InteractionAPI drives the interaction as a console would.
func TestIN01toIN03InteractionAPI(t *testing.T) {
	e := newIssuerFixture(t, "AUTH_INTERACTION_URL", "http://console.example/login/oauth")
	u := e.user("ian@example.com", userPass, "admin") // MFA required, not enrolled
	_ = u
	v, ch := pkce()
	_ = v
	status, loc, _ := e.authorizeRaw(t, map[string][]string{"client_id": {"battery"}, "redirect_uri": {cbBattery}, "response_type": {"code"}, "scope": {"openid"}, "code_challenge": {ch}, "code_challenge_method": {"S256"}, "state": {"z"}})
	if status != 303 || !strings.HasPrefix(loc, "http://console.example/login/oauth?interaction=") {
		t.Fatalf("BF-02: authorize sends the browser to %d %q", status, loc)
	}
	uid := loc[strings.Index(loc, "=")+1:]
	p := "/api/v3/user/interaction/" + uid
	if s, m := e.api(t, "GET", p, "", ""); s != 200 || m["step"] != "login" {
		t.Fatalf("IN-01: %d %v", s, m)
	}
	if s, m := e.api(t, "GET", "/api/v3/user/interaction/nope", "", ""); s != 401 || m["message"] != "Interaction session not found or expired" {
		t.Fatalf("IN-01 unknown: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", p+"/complete", "", ""); s != 400 || m["message"] != `Interaction step "login" is required before completion` {
		t.Fatalf("IN-03 early: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", p+"/login", "", `{"email":"ian@example.com","password":"wrong-Password-1"}`); s != 401 || m["message"] != "Invalid credentials" {
		t.Fatalf("IN-02 wrong: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", p+"/login", "", `{"email":"ian@example.com","password":"`+userPass+`"}`); s != 200 || m["step"] != "enroll" {
		t.Fatalf("IN-02 enroll: %d %v", s, m)
	}
	if s, m := e.api(t, "POST", p+"/complete", "", ""); s != 400 || !strings.Contains(m["message"].(string), `"enroll"`) {
		t.Fatalf("IN-03 before enrolment: %d %v", s, m)
	}
	s, m := e.api(t, "POST", p+"/enroll", "", "")
	if s != 200 || m["step"] != "confirm-enroll" || !strings.HasPrefix(m["otpauthUrl"].(string), "otpauth://totp/") {
		t.Fatalf("enroll: %d %v", s, m)
	}
	code, _ := issuer.TOTPCode(m["secret"].(string), issuer.TOTPStep(time.Now()))
	s, m = e.api(t, "POST", p+"/confirm-enroll", "", `{"code":"`+code+`"}`)
	if s != 200 || m["step"] != "complete" || len(m["recoveryCodes"].([]any)) != 10 {
		t.Fatalf("confirm: %d %v", s, m)
	}
	s, m = e.api(t, "POST", p+"/complete", "", "")
	if s != 200 || m["step"] != "complete" || !strings.HasPrefix(m["redirectTo"].(string), cbBattery+"?code=") {
		t.Fatalf("IN-03 complete: %d %v", s, m)
	}
	if s, _ := e.api(t, "GET", p, "", ""); s != 401 {
		t.Fatalf("interaction survives completion: %d", s)
	}
}

func TestIN02Steps(t *testing.T) {
	e := newIssuerFixture(t)
	ctx := context.Background()
	plain := e.user("plain", userPass)
	_ = plain
	mfa := e.user("mfa", userPass)
	e.enrollTOTP(mfa.ID)
	must := e.user("must", userPass)
	if _, err := e.app.Issuer().Accounts.UpdateAccount(ctx, must.ID, func(a *issuer.Account) error { a.MustChange = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"plain": "complete", "mfa": "mfa", "must": "change-password"} {
		in, err := e.app.Issuer().StartInteraction(ctx, issuer.AuthRequest{ClientID: "battery", RedirectURI: cbBattery, Scope: "openid"})
		if err != nil {
			t.Fatal(err)
		}
		s, m := e.api(t, "POST", "/api/v3/user/interaction/"+in.UID+"/login", "", `{"email":"`+user+`","password":"`+userPass+`"}`)
		if s != 200 || m["step"] != want {
			t.Errorf("%s: %d %v, want step %s", user, s, m, want)
		}
	}
}

func TestIN04ExternalMode501(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get("http://" + f.g.app.HTTPAddr() + "/api/v3/user/interaction/abc")
	if err != nil {
		t.Fatal(err)
	}
	if b := readBody(t, resp); resp.StatusCode != 501 || !strings.Contains(b, "NotImplementedError") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// TestSigningKeysSealedAtRest: the store holds private keys only sealed
// with AUTH_ENCRYPTION_KEY; another key cannot start on that store.
func TestSigningKeysSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	g := start(t, embeddedEnv(t, dir, "AUTH_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="), true)
	keys, err := g.app.Store().SigningKeys(context.Background())
	if err != nil || len(keys) != 1 {
		t.Fatalf("%v %v", keys, err)
	}
	if strings.Contains(string(keys[0].Sealed), `"d"`) || strings.Contains(string(keys[0].PublicJWK), `"d"`) {
		t.Fatal("private key material in clear in the store")
	}
	g.stop()
	env := embeddedEnv(t, dir, "AUTH_ENCRYPTION_KEY", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=", "GRPC_ADDR", "127.0.0.1:0", "HTTP_ADDR", "127.0.0.1:0")
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "AUTH_ENCRYPTION_KEY") {
		t.Fatalf("wrong key: %v", err)
	}
}

package app_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/login"
)

func embeddedEnv(t *testing.T, dir string, kv ...string) map[string]string {
	env := map[string]string{
		"CONTROLLER_PUBLIC_URL": "http://localhost:8080", "AUTH_INSECURE_ALLOW_HTTP": "true", "DATA_DIR": dir,
		"POLICY_EVAL_TIMEOUT": "5s",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func adminID(t *testing.T, g *gh) string {
	t.Helper()
	u, err := g.app.Store().GetUserByLogin(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestBS01toBS04BS06Bootstrap: first start creates the bootstrap admin in
// admin with the system groups; a restart with the same env keeps it; a
// changed password replaces it (new id, old refresh tokens revoked); no env
// keeps it.
func TestBS01toBS04BS06Bootstrap(t *testing.T) {
	dir := t.TempDir()
	boot := []string{"OIDC_BOOTSTRAP_ADMIN_USERNAME", "admin", "OIDC_BOOTSTRAP_ADMIN_PASSWORD", adminPass}
	g := start(t, embeddedEnv(t, dir, boot...), true)
	ctx := context.Background()
	groups, _ := g.app.Store().ListGroups(ctx)
	var names []string
	for _, gr := range groups {
		names = append(names, gr.Name)
	}
	for _, want := range []string{"admin", "developer", "sre", "viewer"} {
		if !slices.Contains(names, want) {
			t.Errorf("BS-06: group %s missing (%v)", want, names)
		}
	}
	id1 := adminID(t, g)
	if gs, _ := g.app.Store().GroupsOf(ctx, id1); !slices.Equal(gs, []string{"admin"}) {
		t.Fatalf("BS-01: groups %v", gs)
	}
	toks, err := g.app.LoginProvider().Login(ctx, login.Credentials{Username: "admin", Password: adminPass})
	if err != nil {
		t.Fatalf("BS-01 login: %v", err)
	}
	if strings.Contains(g.logs.String(), adminPass) {
		t.Fatal("BS-07: the password reached the logs")
	}
	g.stop()

	g = start(t, embeddedEnv(t, dir, boot...), true)
	if adminID(t, g) != id1 {
		t.Fatal("BS-02: restart with the same env replaced the admin")
	}
	if _, err := g.app.LoginProvider().Refresh(ctx, toks.RefreshToken); err != nil {
		t.Fatalf("BS-02: sessions kept: %v", err)
	}
	g.stop()

	g = start(t, embeddedEnv(t, dir), true)
	if adminID(t, g) != id1 {
		t.Fatal("BS-04: restart without env must keep the admin")
	}
	toks, _ = g.app.LoginProvider().Login(ctx, login.Credentials{Username: "admin", Password: adminPass})
	g.stop()

	newPass := "Another-Admin-Pass2"
	g = start(t, embeddedEnv(t, dir, "OIDC_BOOTSTRAP_ADMIN_USERNAME", "admin", "OIDC_BOOTSTRAP_ADMIN_PASSWORD", newPass), true)
	if adminID(t, g) == id1 {
		t.Fatal("BS-03: changed password must replace the user")
	}
	_, err = g.app.LoginProvider().Refresh(ctx, toks.RefreshToken)
	wantInvalid(t, "BS-03 old refresh token", err)
	if _, err := g.app.LoginProvider().Login(ctx, login.Credentials{Username: "admin", Password: newPass}); err != nil {
		t.Fatalf("BS-03 new password: %v", err)
	}
}

func TestBS05BootstrapPasswordPolicy(t *testing.T) {
	env := embeddedEnv(t, t.TempDir(), "OIDC_BOOTSTRAP_ADMIN_USERNAME", "admin", "OIDC_BOOTSTRAP_ADMIN_PASSWORD", "short", "GRPC_ADDR", "127.0.0.1:0", "HTTP_ADDR", "127.0.0.1:0")
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "OIDC_BOOTSTRAP_ADMIN_PASSWORD") || strings.Contains(err.Error(), "short") {
		t.Fatalf("err = %v", err)
	}
}

func TestBS07BootstrapLogOnce(t *testing.T) {
	dir := t.TempDir()
	env := embeddedEnv(t, dir, "OIDC_BOOTSTRAP_ADMIN_USERNAME", "admin", "OIDC_BOOTSTRAP_ADMIN_PASSWORD", adminPass, "AUTH_INSECURE_ALLOW_BOOTSTRAP_LOG", "true")
	g := start(t, env, true)
	if strings.Count(g.logs.String(), adminPass) != 1 {
		t.Fatalf("want the password logged once at creation:\n%s", g.logs.String())
	}
	g.stop()
	g = start(t, embeddedEnv(t, dir, "OIDC_BOOTSTRAP_ADMIN_USERNAME", "admin", "OIDC_BOOTSTRAP_ADMIN_PASSWORD", adminPass, "AUTH_INSECURE_ALLOW_BOOTSTRAP_LOG", "true"), true)
	if strings.Contains(g.logs.String(), adminPass) {
		t.Fatal("logged again on an unchanged restart")
	}
}

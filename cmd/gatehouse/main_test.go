package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
)

func runWith(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := environment{stdout: &out, stderr: &errb, lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
	code := run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		vars   map[string]string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command is a usage error", nil, nil, exitUsage, "Usage: gatehouse", ""},
		{"unknown command", nil, []string{"frobnicate"}, exitUsage, "", "frobnicate"},
		{"serve names the bad variable", map[string]string{"AUTH_MODE": "sideways", "DATA_DIR": dir}, []string{"serve"}, exitFailure, "", "AUTH_MODE"},
		{"external mode needs the issuer", map[string]string{"AUTH_MODE": "external", "DATA_DIR": dir}, []string{"serve"}, exitFailure, "", "OIDC_ISSUER_URL"},
		{"mint needs a subject", map[string]string{"DATA_DIR": dir}, []string{"token", "mint"}, exitUsage, "", "--sub"},
		{"mint refuses external mode", map[string]string{"AUTH_MODE": "external", "OIDC_ISSUER_URL": "https://idp.example", "OIDC_CLIENT_ID": "c", "AUTH_LOGIN_ENABLED": "false", "CONTROLLER_PUBLIC_URL": "https://gh.example", "DATA_DIR": dir}, []string{"token", "mint", "--sub", "a"}, exitFailure, "", "embedded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runWith(t, tt.vars, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
			}
		})
	}
}

func TestServeHelpListsEveryVariable(t *testing.T) {
	code, out, errs := runWith(t, nil, "serve", "--help")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	for _, v := range config.Vars {
		if !strings.Contains(out+errs, v.Name) {
			t.Errorf("serve --help does not list %s", v.Name)
		}
	}
}

// TestTokenMintVerifiesAgainstTheServerKey: the dev token is signed with the
// key in DATA_DIR, for the issuer make run serves.
func TestTokenMintVerifiesAgainstTheServerKey(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runWith(t, map[string]string{"DATA_DIR": dir}, "token", "mint", "--sub", "alice", "--groups", "admin, viewer")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	// The server's keys: the embedded issuer's key ring in DATA_DIR's store.
	cfg, err := config.Load(func(k string) (string, bool) {
		v, ok := map[string]string{"DATA_DIR": dir, "CONTROLLER_PUBLIC_URL": "http://localhost:8080", "AUTH_INSECURE_ALLOW_HTTP": "true"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), config.Storage{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ring, _, err := app.OpenKeyRing(t.Context(), cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Parse(ring.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify([]byte(strings.TrimSpace(out)), jws.WithKeySet(set))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["iss"] != "http://localhost:8080/oidc" || claims["sub"] != "alice" || claims["aud"] == nil {
		t.Fatalf("claims %v", claims)
	}
	if g, _ := claims["groups"].([]any); len(g) != 2 || g[0] != "admin" || g[1] != "viewer" {
		t.Fatalf("groups %v", claims["groups"])
	}
}

func TestStoreCommands(t *testing.T) {
	vars := map[string]string{"DATA_DIR": t.TempDir()}
	runIn := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		env := environment{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
		return run(context.Background(), env, args), out.String(), errb.String()
	}
	steps := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"migrate", "", []string{"migrate"}, 0, "store migrated", ""},
		{"user with a password", "correct horse\n", []string{"user", "create", "alice", "--email", "a@example.com", "--password-stdin"}, 0, "created user alice", ""},
		{"duplicate user changes nothing", "", []string{"user", "create", "alice"}, exitFailure, "", "already exists"},
		{"short password refused", "short\n", []string{"user", "create", "bob", "--password-stdin"}, exitFailure, "", "at least 8"},
		{"group", "", []string{"group", "create", "ops"}, 0, "", ""},
		{"membership", "", []string{"group", "add", "ops", "alice"}, 0, "", ""},
		{"group grant", "", []string{"group", "grant", "ops", "view_show"}, 0, "", ""},
		{"user grant", "", []string{"user", "grant", "alice", "add_show"}, 0, "", ""},
		{"token within the user's permissions", "", []string{"token", "create", "alice", "--permissions", "view_show", "--ttl", "720h"}, 0, "", "shown once"},
		{"token beyond them is refused", "", []string{"token", "create", "alice", "--permissions", "delete_show"}, exitFailure, "", "never carries more"},
		{"unknown user", "", []string{"token", "create", "nobody"}, exitFailure, "", "not found"},
		{"usage error", "", []string{"group", "add", "ops"}, exitUsage, "", "NAME LOGIN"},
		{"help", "", []string{"user", "--help"}, 0, "user create LOGIN", ""},
		{"lists", "", []string{"user", "list"}, 0, "alice", ""},
		{"group list", "", []string{"group", "list"}, 0, "ops", ""},
		{"token list", "", []string{"token", "list", "alice"}, 0, "api", ""},
	}
	for _, s := range steps {
		code, out, errs := runIn(s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.stdout) || !strings.Contains(errs, s.stderr) {
			t.Fatalf("%s: code %d stdout %q stderr %q", s.name, code, out, errs)
		}
	}
	// The secret printed once is a working credential's secret: 43 base64url characters.
	_, out, _ := runIn("", "token", "create", "alice")
	if sec := strings.TrimSpace(out); len(sec) < 43 || strings.ContainsAny(sec, " \n") {
		t.Fatalf("secret %q", sec)
	}
}

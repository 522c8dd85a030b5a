package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// rpDir is the npm fixture with openid-client pinned in package-lock.json.
const rpDir = "../../test/rp"

// requireNode applies the external-server rule to node and the installed
// fixture (`npm ci` in test/rp).
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(rpDir, "node_modules", "openid-client", "package.json"))
		if err != nil {
			err = errors.New("test/rp/node_modules missing: run `npm ci` in test/rp")
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node with openid-client is required (CI=true): %v", err)
		}
		t.Skipf("skipping: node with openid-client unavailable: %v", err)
	}
	return node
}

// TestOpenIDClientInterop: the certified RP openid-client does discovery,
// code + PKCE with the login form submitted over HTTP, ID token
// validation, UserInfo, refresh with rotation, reuse detection, revocation
// and end session; the access tokens it gets pass ext_authz Check.
func TestOpenIDClientInterop(t *testing.T) {
	node := requireNode(t)
	e := startEmbedded(t, "AUTH_REFRESH_REUSE_INTERVAL_SECONDS", "0")
	e.client("rp", "rp-secret", []string{"http://127.0.0.1:1/cb"}, []string{"http://127.0.0.1:1/bye"})
	e.user("rp-user@example.com", userPass, "viewer")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "rp.mjs")
	cmd.Dir = rpDir
	cmd.Env = append(os.Environ(),
		"ISSUER="+e.issuer, "CLIENT_ID=rp", "CLIENT_SECRET=rp-secret",
		"REDIRECT_URI=http://127.0.0.1:1/cb", "POST_LOGOUT_URI=http://127.0.0.1:1/bye",
		"LOGIN_USER=rp-user@example.com", "LOGIN_PASSWORD="+userPass,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("rp.mjs: %v\nstderr:\n%s\nlogs:\n%s", err, stderr.String(), e.logs.String())
	}
	var out struct {
		IDTokenEmail         string         `json:"idTokenEmail"`
		UserInfo             map[string]any `json:"userinfo"`
		RefreshedAccessToken string         `json:"refreshedAccessToken"`
		AccessToken          string         `json:"accessToken"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("rp.mjs output %q: %v", stdout.String(), err)
	}
	if out.IDTokenEmail != "rp-user@example.com" || out.UserInfo["email"] != "rp-user@example.com" {
		t.Fatalf("claims: %+v", out)
	}
	for _, tok := range []string{out.AccessToken, out.RefreshedAccessToken} {
		o := e.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(tok)})
		wantStatus(t, o, 200)
		if o.subject != "rp-user@example.com" || o.groups != "viewer" {
			t.Fatalf("identity %+v", o)
		}
	}
}

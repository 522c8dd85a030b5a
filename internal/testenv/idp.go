package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// IdP is a real OpenID provider (npm oidc-provider, test/idp/idp.mjs) running
// on 127.0.0.1 for the test's lifetime. Its confidential client requires PKCE,
// issues JWT access tokens (aud = Audience) carrying groups, client roles
// (resource_access) and a custom role claim, and accepts the password grant.
// Users: alice / alice-password and bob / bob-password.
type IdP struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Audience is the access tokens' aud (the client id).
	Audience string
	// RoleClaim is the custom role claim alice carries ("administrator").
	RoleClaim string
}

// IdPOptions configure StartIdP.
type IdPOptions struct {
	ClientID, ClientSecret string
	// RedirectURIs registered for the client.
	RedirectURIs []string
	// AccessTokenTTL in seconds (default 600).
	AccessTokenTTL int
}

// Users of the test IdP.
const (
	IdPAlice         = "alice"
	IdPAlicePassword = "alice-password"
	IdPBob           = "bob"
	IdPBobPassword   = "bob-password"
)

// StartIdP starts the npm oidc-provider fixture. Without node or without the
// installed packages (`npm ci` in test/idp) the test is skipped, or fails
// under CI=true.
func StartIdP(t testing.TB, opts IdPOptions) *IdP {
	t.Helper()
	dir, err := idpDir()
	if err != nil {
		t.Fatalf("test/idp: %v", err)
	}
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json"))
		if err != nil {
			err = fmt.Errorf("run `npm ci` in test/idp: %w", err)
		}
	}
	RequireServer(t, "Node.js with test/idp's packages (oidc-provider)", err)

	if opts.ClientID == "" {
		opts.ClientID = "gatehouse"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "gatehouse-test-secret-0123456789"
	}
	cfg, _ := json.Marshal(map[string]any{
		"clientId":       opts.ClientID,
		"clientSecret":   opts.ClientSecret,
		"redirectUris":   opts.RedirectURIs,
		"accessTokenTTL": opts.AccessTokenTTL,
	})
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "idp.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IDP_CONFIG="+string(cfg))
	stdin, err := cmd.StdinPipe() // closing it stops the IdP
	if err != nil {
		cancel()
		t.Fatalf("idp: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("idp: %v", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("idp: start node: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if iss, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- iss
			}
		}
		close(ready)
	}()
	select {
	case iss, ok := <-ready:
		if !ok {
			t.Fatalf("idp exited before READY: %s", stderr.String())
		}
		return &IdP{
			Issuer: iss, ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
			Audience: opts.ClientID, RoleClaim: "https://claims.example.com/role",
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("idp did not print READY within 30s: %s", stderr.String())
	}
	return nil
}

// idpDir finds test/idp from the module root above the working directory.
func idpDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "test", "idp"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

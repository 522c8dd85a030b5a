package config

import (
	"strings"
	"testing"
	"time"
)

func isRemovedVar(name string) bool {
	for _, r := range removedVars {
		if r.name == name {
			return true
		}
	}
	return false
}

func external(kv ...string) func(string) (string, bool) {
	base := []string{"AUTH_MODE", "external", "OIDC_ISSUER_URL", "https://idp.example/realms/r", "OIDC_CLIENT_ID", "pot", "OIDC_CLIENT_SECRET", "s3cr3t-value"}
	return env(append(base, kv...)...)
}

// TestCF01AuthMode: unset → embedded; embedded|external accepted; anything
// else names AUTH_MODE.
func TestCF01AuthMode(t *testing.T) {
	if c, err := Load(env("PUBLIC_URL", "https://a.example")); err != nil || c.Mode != ModeEmbedded {
		t.Fatalf("default mode: %v", err)
	}
	if c, err := Load(external()); err != nil || c.Mode != ModeExternal {
		t.Fatalf("external: %v", err)
	}
	if _, err := Load(env("AUTH_MODE", "keycloak", "PUBLIC_URL", "https://a.example")); err == nil || !strings.Contains(err.Error(), "AUTH_MODE") {
		t.Fatalf("bad mode err = %v", err)
	}
}

// TestCF02EmbeddedNeedsPublicURL names CONTROLLER_PUBLIC_URL.
func TestCF02EmbeddedNeedsPublicURL(t *testing.T) {
	if _, err := Load(env()); err == nil || !strings.Contains(err.Error(), "CONTROLLER_PUBLIC_URL") {
		t.Fatalf("err = %v", err)
	}
}

// TestCF03ExternalNeedsIssuerClientSecret names each missing variable and
// never prints the secret.
func TestCF03ExternalNeedsIssuerClientSecret(t *testing.T) {
	for _, tc := range []struct {
		drop string
	}{{"OIDC_ISSUER_URL"}, {"OIDC_CLIENT_ID"}, {"OIDC_CLIENT_SECRET"}} {
		kv := map[string]string{"AUTH_MODE": "external", "OIDC_ISSUER_URL": "https://idp.example", "OIDC_CLIENT_ID": "pot", "OIDC_CLIENT_SECRET": "very-secret-value"}
		delete(kv, tc.drop)
		_, err := Load(func(k string) (string, bool) { v, ok := kv[k]; return v, ok })
		if err == nil || !strings.Contains(err.Error(), tc.drop) {
			t.Errorf("without %s: err = %v", tc.drop, err)
			continue
		}
		if strings.Contains(err.Error(), "very-secret-value") {
			t.Errorf("error echoes the secret: %v", err)
		}
	}
	// A bad session secret is named, not echoed.
	_, err := Load(external("AUTH_SESSION_SECRET", "short-secret"))
	if err == nil || !strings.Contains(err.Error(), "AUTH_SESSION_SECRET") || strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("session secret err = %v", err)
	}
}

// TestCF04HTTPRefusedUnlessAllowed: http: public, console and issuer URLs
// need AUTH_INSECURE_ALLOW_HTTP=true.
func TestCF04HTTPRefusedUnlessAllowed(t *testing.T) {
	for _, name := range []string{"CONTROLLER_PUBLIC_URL", "CONSOLE_URL", "OIDC_ISSUER_URL"} {
		_, err := Load(external(name, "http://x.example"))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s http: err = %v", name, err)
		}
		if _, err := Load(external(name, "http://x.example", "AUTH_INSECURE_ALLOW_HTTP", "true")); err != nil {
			t.Errorf("%s http allowed: %v", name, err)
		}
	}
}

// TestCF06ConsoleURLDefaultsToPublicURL.
func TestCF06ConsoleURLDefaultsToPublicURL(t *testing.T) {
	c, err := Load(external("CONTROLLER_PUBLIC_URL", "https://gh.example/"))
	if err != nil || c.ConsoleURL != "https://gh.example" {
		t.Fatalf("console = %q, %v", c.ConsoleURL, err)
	}
	c, err = Load(external("CONTROLLER_PUBLIC_URL", "https://gh.example", "CONSOLE_URL", "https://console.example/"))
	if err != nil || c.ConsoleURL != "https://console.example" {
		t.Fatalf("console = %q, %v", c.ConsoleURL, err)
	}
}

// TestCF07RateLimitDefaults.
func TestCF07RateLimitDefaults(t *testing.T) {
	c, err := Load(external())
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != (RateLimit{Enabled: true, MaxRequests: 60, Window: time.Minute}) {
		t.Fatalf("rate limit = %+v", c.RateLimit)
	}
	for _, name := range []string{"AUTH_RATE_LIMIT_MAX_REQUESTS", "AUTH_RATE_LIMIT_WINDOW_MS", "AUTH_RATE_LIMIT_ENABLED"} {
		if _, err := Load(external(name, "-1")); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=-1: err = %v", name, err)
		}
	}
}

// TestCF08SessionStoreType: memory on SQLite, database on PostgreSQL; other
// values name the variable.
func TestCF08SessionStoreType(t *testing.T) {
	if c, _ := Load(external()); c.SessionStore != SessionMemory {
		t.Fatalf("sqlite default = %q", c.SessionStore)
	}
	if c, _ := Load(external("DATABASE_URL", "postgres://u@h/db")); c.SessionStore != SessionDatabase {
		t.Fatalf("postgres default = %q", c.SessionStore)
	}
	if _, err := Load(external("AUTH_SESSION_STORE_TYPE", "redis")); err == nil || !strings.Contains(err.Error(), "AUTH_SESSION_STORE_TYPE") {
		t.Fatalf("err = %v", err)
	}
}

// TestCF09SessionTTL: default 600000 ms; zero, negative or non-numeric
// name the variable.
func TestCF09SessionTTL(t *testing.T) {
	if c, _ := Load(external()); c.SessionTTL != 10*time.Minute {
		t.Fatalf("ttl = %v", c.SessionTTL)
	}
	for _, v := range []string{"0", "-5", "ten"} {
		if _, err := Load(external("AUTH_SESSION_STORE_TTL_MS", v)); err == nil || !strings.Contains(err.Error(), "AUTH_SESSION_STORE_TTL_MS") {
			t.Errorf("%q: err = %v", v, err)
		}
	}
}

// TestCF15RemovedVariablesWarn: KC_* and OIDC_VIEWER_CLIENT_ID are not read
// but give a start-up warning.
func TestCF15RemovedVariablesWarn(t *testing.T) {
	c, err := Load(external("KC_URL", "https://kc.example", "KC_CLIENT_SECRET", "kc-secret-value", "OIDC_VIEWER_CLIENT_ID", "viewer"))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings, "\n")
	for _, name := range []string{"KC_URL", "KC_CLIENT_SECRET", "OIDC_VIEWER_CLIENT_ID"} {
		if !strings.Contains(w, name) {
			t.Errorf("no warning for %s: %q", name, w)
		}
	}
	if strings.Contains(w, "kc-secret-value") || c.IssuerURL != "https://idp.example/realms/r" {
		t.Fatalf("removed variables leaked or were read: %q %+v", w, c)
	}
}

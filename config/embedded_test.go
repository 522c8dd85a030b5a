package config

import (
	"strings"
	"testing"
	"time"
)

func loadMap(m map[string]string) (*Config, error) {
	return Load(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

func embeddedBase(kv ...string) map[string]string {
	m := map[string]string{"CONTROLLER_PUBLIC_URL": "https://gh.example"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestCF05EmbeddedClientIDDefault(t *testing.T) {
	c, err := loadMap(embeddedBase())
	if err != nil || c.ClientID != "controller" {
		t.Fatalf("%v %v", c, err)
	}
}

func TestCF11TokenTTLs(t *testing.T) {
	c, err := loadMap(embeddedBase())
	if err != nil || c.Embedded.AccessTTL != 900*time.Second || c.Embedded.RefreshTTL != 3600*time.Second {
		t.Fatalf("defaults %+v %v", c.Embedded, err)
	}
	c, err = loadMap(embeddedBase("AUTH_ACCESS_TOKEN_TTL_SECONDS", "120.9"))
	if err != nil || c.Embedded.AccessTTL != 120*time.Second {
		t.Fatalf("floored %v %v", c.Embedded.AccessTTL, err)
	}
	for _, name := range []string{"AUTH_ACCESS_TOKEN_TTL_SECONDS", "AUTH_REFRESH_TOKEN_TTL_SECONDS"} {
		for _, bad := range []string{"0", "-5", "abc"} {
			_, err := loadMap(embeddedBase(name, bad))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: %v", name, bad, err)
			}
		}
	}
}

func TestCF12OIDCTTLChain(t *testing.T) {
	c, err := loadMap(embeddedBase("AUTH_ACCESS_TOKEN_TTL_SECONDS", "300", "AUTH_REFRESH_TOKEN_TTL_SECONDS", "7200", "AUTH_OIDC_INTERACTION_TTL_SECONDS", "90"))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Embedded
	if e.InteractionTTL != 90*time.Second || e.GrantTTL != 90*time.Second || e.SessionTTL != 7200*time.Second || e.IDTokenTTL != 300*time.Second {
		t.Fatalf("%+v", e)
	}
	c, _ = loadMap(embeddedBase())
	if c.Embedded.InteractionTTL != 600*time.Second {
		t.Fatalf("interaction default %v (the session store TTL's default)", c.Embedded.InteractionTTL)
	}
}

func TestEmbeddedIssuerVariables(t *testing.T) {
	c, err := loadMap(embeddedBase())
	if err != nil || c.Embedded.ReuseInterval != 10*time.Second || c.Embedded.InteractionURL != "" || c.Embedded.EncryptionKey != nil {
		t.Fatalf("defaults %+v %v", c.Embedded, err)
	}
	secret := "bm90LWEtMzItYnl0ZS1rZXk="
	_, err = loadMap(embeddedBase("AUTH_ENCRYPTION_KEY", secret))
	if err == nil || !strings.Contains(err.Error(), "AUTH_ENCRYPTION_KEY") || strings.Contains(err.Error(), secret) {
		t.Fatalf("short key: %v", err)
	}
	_, err = loadMap(embeddedBase("DATABASE_URL", "postgres://x/y"))
	if err == nil || !strings.Contains(err.Error(), "AUTH_ENCRYPTION_KEY") {
		t.Fatalf("PostgreSQL without a key: %v", err)
	}
	c, err = loadMap(embeddedBase("DATABASE_URL", "postgres://x/y", "AUTH_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "AUTH_REFRESH_REUSE_INTERVAL_SECONDS", "0", "AUTH_INTERACTION_URL", "https://console.example/login/oauth"))
	if err != nil || len(c.Embedded.EncryptionKey) != 32 || c.Embedded.ReuseInterval != 0 || c.Embedded.InteractionURL == "" {
		t.Fatalf("%+v %v", c.Embedded, err)
	}
	if _, err := loadMap(embeddedBase("AUTH_INTERACTION_URL", "http://console.example/x")); err == nil {
		t.Fatal("http interaction URL without AUTH_INSECURE_ALLOW_HTTP")
	}
	if _, err := loadMap(embeddedBase("OIDC_BOOTSTRAP_ADMIN_USERNAME", "admin")); err == nil {
		t.Fatal("bootstrap username without password")
	}
}

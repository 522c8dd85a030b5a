package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileLookup(t *testing.T) {
	p := writeFile(t, `
AUTH_MODE: external
OIDC_ISSUER_URL: https://idp.example
OIDC_CLIENT_ID: pot
AUTH_LOGIN_ENABLED: false
OIDC_AUDIENCES: [pot, "api://x"]
IDENTITY_CACHE_SIZE: 500
LOG_LEVEL: debug
`)
	lookup, err := FileLookup(p, env("LOG_LEVEL", "warn", "OIDC_CLIENT_ID", ""))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeExternal || c.LoginEnabled || c.IdentityCacheSize != 500 || strings.Join(c.Audiences, "|") != "pot|api://x" {
		t.Fatalf("file values not applied: %+v", c)
	}
	if c.LogLevel.String() != "WARN" {
		t.Fatalf("the environment must win over the file: LOG_LEVEL %v", c.LogLevel)
	}
	if c.ClientID != "pot" {
		t.Fatalf("an empty environment variable must not hide the file: %q", c.ClientID)
	}
}

func TestFileLookupRefuses(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"misspelt key", "AUTH_MOD: external\n", "AUTH_MOD"},
		{"nested map", "AUTH_MODE: {a: b}\n", "AUTH_MODE"},
		{"not YAML", "AUTH_MODE: [\n", "--config"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FileLookup(writeFile(t, tt.text), env())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
	if _, err := FileLookup(filepath.Join(t.TempDir(), "missing.yaml"), env()); err == nil {
		t.Fatal("a missing file is an error")
	}
}

func TestEffectiveMasksSecrets(t *testing.T) {
	got := map[string]Setting{}
	for _, s := range Effective(env("OIDC_CLIENT_SECRET", "s3cr3t", "DATABASE_URL", "postgres://u:pw@db/x", "PUBLIC_URL", "https://gh.example")) {
		got[s.Name] = s
	}
	if got["OIDC_CLIENT_SECRET"].Value != "****" || got["DATABASE_URL"].Value != "****" {
		t.Fatalf("secrets shown: %+v %+v", got["OIDC_CLIENT_SECRET"], got["DATABASE_URL"])
	}
	if got["GRPC_ADDR"].Value != ":9191" || got["GRPC_ADDR"].Source != "default" {
		t.Fatalf("defaults: %+v", got["GRPC_ADDR"])
	}
	if got["CONTROLLER_PUBLIC_URL"].Value != "https://gh.example" {
		t.Fatalf("PUBLIC_URL alias: %+v", got["CONTROLLER_PUBLIC_URL"])
	}
}

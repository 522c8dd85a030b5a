package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadDefaultsEmbedded(t *testing.T) {
	c, err := Load(env("CONTROLLER_PUBLIC_URL", "https://gh.example.com/"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeEmbedded || c.ClientID != "controller" || c.PublicURL != "https://gh.example.com" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.EmbeddedIssuer() != "https://gh.example.com/oidc" {
		t.Fatalf("issuer %q", c.EmbeddedIssuer())
	}
	if got := strings.Join(c.Audiences, ","); got != "controller" {
		t.Fatalf("audiences default to the client id, got %q", got)
	}
	if c.GRPCAddr != ":9191" || c.HTTPAddr != ":8080" || c.DataDir != "./data" || c.PolicyEvalTimeout != 100*time.Millisecond {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.Headers.Subject != "x-gatehouse-subject" || c.Headers.DecisionID != "x-gatehouse-decision-id" {
		t.Fatalf("header defaults: %+v", c.Headers)
	}
}

func TestLoadPublicURLAlias(t *testing.T) {
	c, err := Load(env("PUBLIC_URL", "https://a.example"))
	if err != nil || c.PublicURL != "https://a.example" {
		t.Fatalf("PUBLIC_URL alias: %v %+v", err, c)
	}
}

func TestLoadExternal(t *testing.T) {
	c, err := Load(env("AUTH_MODE", "external", "OIDC_ISSUER_URL", "https://idp.example/realms/x", "OIDC_CLIENT_ID", "pot", "OIDC_CLIENT_SECRET", "s3cr3t",
		"OIDC_AUDIENCES", "pot, api://x", "OIDC_EXTRA_ISSUERS", "https://other.example/"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Audiences, "|") != "pot|api://x" || strings.Join(c.ExtraIssuers, "|") != "https://other.example" {
		t.Fatalf("lists: %+v", c)
	}
	// Decision-only deployments need no secret.
	if _, err := Load(env("AUTH_MODE", "external", "OIDC_ISSUER_URL", "https://idp.example", "OIDC_CLIENT_ID", "pot", "AUTH_LOGIN_ENABLED", "false")); err != nil {
		t.Fatalf("decision-only external mode: %v", err)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name   string
		env    func(string) (string, bool)
		want   []string
		secret string
	}{
		{"bad mode", env("AUTH_MODE", "keycloak", "PUBLIC_URL", "https://a"), []string{"AUTH_MODE", `"keycloak"`}, ""},
		{"embedded needs public URL", env(), []string{"CONTROLLER_PUBLIC_URL"}, ""},
		{"external needs all three", env("AUTH_MODE", "external"), []string{"OIDC_ISSUER_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"}, ""},
		{"external secret never echoed", env("AUTH_MODE", "external", "OIDC_CLIENT_SECRET", "hunter2hunter2"), []string{"OIDC_ISSUER_URL"}, "hunter2hunter2"},
		{"http refused", env("CONTROLLER_PUBLIC_URL", "http://localhost:8080"), []string{"CONTROLLER_PUBLIC_URL", "AUTH_INSECURE_ALLOW_HTTP"}, ""},
		{"http issuer refused", env("AUTH_MODE", "external", "OIDC_ISSUER_URL", "http://idp", "OIDC_CLIENT_ID", "c", "OIDC_CLIENT_SECRET", "s"), []string{"OIDC_ISSUER_URL", "https"}, ""},
		{"extra issuer not a URL", env("PUBLIC_URL", "https://a", "OIDC_EXTRA_ISSUERS", "idp.example"), []string{"OIDC_EXTRA_ISSUERS"}, ""},
		{"bad boolean", env("PUBLIC_URL", "https://a", "AUTH_INSECURE_ALLOW_HTTP", "maybe"), []string{"AUTH_INSECURE_ALLOW_HTTP"}, ""},
		{"bad duration", env("PUBLIC_URL", "https://a", "JWT_LEEWAY", "soon"), []string{"JWT_LEEWAY"}, ""},
		{"zero duration", env("PUBLIC_URL", "https://a", "POLICY_EVAL_TIMEOUT", "0s"), []string{"POLICY_EVAL_TIMEOUT"}, ""},
		{"bad int", env("PUBLIC_URL", "https://a", "IDENTITY_CACHE_SIZE", "-1"), []string{"IDENTITY_CACHE_SIZE"}, ""},
		{"database URL of another kind", env("PUBLIC_URL", "https://a", "DATABASE_URL", "mysql://u:hunter2@db/x"), []string{"DATABASE_URL"}, "hunter2"},
		{"negative cache size", env("PUBLIC_URL", "https://a", "DECISION_CACHE_SIZE", "-1"), []string{"DECISION_CACHE_SIZE"}, ""},
		{"bad addr", env("PUBLIC_URL", "https://a", "GRPC_ADDR", "9191"), []string{"GRPC_ADDR"}, ""},
		{"bad header", env("PUBLIC_URL", "https://a", "HEADER_SUBJECT", "x subject"), []string{"HEADER_SUBJECT"}, ""},
		{"bad log level", env("PUBLIC_URL", "https://a", "LOG_LEVEL", "loud"), []string{"LOG_LEVEL"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.env)
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error echoes the secret: %q", err)
			}
		})
	}
}

func TestInsecureHTTPAllowed(t *testing.T) {
	c, err := Load(env("PUBLIC_URL", "http://localhost:8080", "AUTH_INSECURE_ALLOW_HTTP", "TRUE"))
	if err != nil || !c.InsecureAllowHTTP {
		t.Fatalf("dev settings refused: %v", err)
	}
}

func TestEveryVarIsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars {
		if v.Help == "" || seen[v.Name] {
			t.Errorf("%s: missing help or listed twice", v.Name)
		}
		seen[v.Name] = true
	}
	// Every variable Load reads must be in the table.
	read := map[string]bool{}
	Load(func(k string) (string, bool) { read[k] = true; return "", false }) //nolint:errcheck // only the names matter
	for k := range read {
		if !seen[k] && k != "PUBLIC_URL" && !isRemovedVar(k) {
			t.Errorf("Load reads %s but Vars does not document it", k)
		}
	}
}

// TestREADMEConfigTable keeps the README's configuration table in step with
// Vars. On failure it prints the table to paste.
func TestREADMEConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range Vars {
		d := v.Default
		if d != "" {
			d = "`" + d + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, d, v.Help)
	}
	if !strings.Contains(string(readme), b.String()) {
		t.Fatalf("README.md's configuration table is out of date; replace it with:\n\n%s", b.String())
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := map[string]string{"CONTROLLER_PUBLIC_URL": "https://gh.example", "DATA_DIR": dir,
		"DATABASE_URL": "postgres://gatehouse:hunter2@db/gatehouse", "AUTH_TOKENS": "svc:tok-s3cr3t:view_x",
		"AUTH_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	code, out, errs := runWith(t, good, "config", "check")
	if code != 0 || !strings.Contains(out, "configuration OK") {
		t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "tok-s3cr3t") || strings.Contains(out, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=") || !strings.Contains(out, "DATABASE_URL=****") {
		t.Fatalf("secrets not masked:\n%s", out)
	}
	if !strings.Contains(out, "GRPC_ADDR=:9191") {
		t.Fatalf("defaults missing:\n%s", out)
	}

	// Each bad value is refused with a message naming its variable.
	bad := []struct{ name, value string }{
		{"AUTH_MODE", "sideways"},
		{"AUTH_INSECURE_ALLOW_HTTP", "maybe"},
		{"GRPC_ADDR", "9191"},
		{"HTTP_ADDR", "localhost"},
		{"POLICY_EVAL_TIMEOUT", "fast"},
		{"IDENTITY_CACHE_SIZE", "-1"},
		{"DECISION_CACHE_SIZE", "many"},
		{"JWT_LEEWAY", "-5s"},
		{"HEADER_SUBJECT", "bad header"},
		{"LOG_LEVEL", "loud"},
		{"LOG_DECISIONS", "sometimes"},
		{"SHUTDOWN_TIMEOUT", "0s"},
		{"CONTROLLER_PUBLIC_URL", "http://gh.example"},
		{"OIDC_EXTRA_ISSUERS", "not a url"},
		{"DATABASE_URL", "mysql://x"},
		{"FORWARD_AUTH_TRUSTED_PROXIES", "10.0.0.0/99"},
		{"OTEL_TRACES_SAMPLER_ARG", "2"},
		{"PPROF_ADDR", "nowhere"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range good {
				vars[k] = v
			}
			vars[b.name] = b.value
			code, out, errs := runWith(t, vars, "config", "check")
			if code != exitFailure || !strings.Contains(errs, b.name) {
				t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
			}
			if strings.Contains(errs, "hunter2") {
				t.Fatalf("a secret was echoed: %s", errs)
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(p, []byte("CONTROLLER_PUBLIC_URL: https://file.example\nLOG_LEVEL: debug\nOIDC_CLIENT_SECRET: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runWith(t, map[string]string{"DATA_DIR": dir, "LOG_LEVEL": "warn"}, "config", "check", "--config", p)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	for _, want := range []string{"CONTROLLER_PUBLIC_URL=https://file.example", "LOG_LEVEL=warn", "OIDC_CLIENT_SECRET=****"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if err := os.WriteFile(p, []byte("LOG_LEVL: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runWith(t, map[string]string{"DATA_DIR": dir}, "config", "check", "--config", p); code != exitFailure || !strings.Contains(errs, "LOG_LEVL") {
		t.Fatalf("misspelt file key: code %d %s", code, errs)
	}
	// serve reads the same file: a bad value there stops start-up naming it.
	if err := os.WriteFile(p, []byte("CONTROLLER_PUBLIC_URL: https://file.example\nAUTH_MODE: sideways\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runWith(t, map[string]string{"DATA_DIR": dir}, "serve", "--config", p); code != exitFailure || !strings.Contains(errs, "AUTH_MODE") {
		t.Fatalf("serve --config: code %d %s", code, errs)
	}
	if code, _, _ := runWith(t, nil, "config"); code != exitUsage {
		t.Fatalf("config without check: code %d", code)
	}
}

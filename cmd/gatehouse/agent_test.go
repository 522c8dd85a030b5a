package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
)

func TestAgentProvisionKey(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"DATA_DIR": dir}
	code, out, errs := runWith(t, vars, "agent", "provision-key", "edge-1", "--ttl", "5m")
	if code != 0 {
		t.Fatalf("code %d stderr %q", code, errs)
	}
	key := strings.TrimSpace(out)
	if len(key) != 43 || !strings.Contains(errs, "edge-1") || !strings.Contains(errs, "single use") || strings.Contains(errs, key) {
		t.Fatalf("stdout %q stderr %q", out, errs)
	}
	st, err := app.OpenStore(context.Background(), config.Storage{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.GetAgentByName(context.Background(), "edge-1")
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.ProvisioningKey(context.Background(), secret.Digest(key))
	if err != nil || k.AgentID != a.ID || k.ExpiresAt.Sub(k.CreatedAt).Round(time.Minute) != 5*time.Minute {
		t.Fatalf("stored key %+v, %v", k, err)
	}
	st.Close()

	runSteps(t, vars, []cliStep{
		{"by uuid", []string{"agent", "provision-key", a.ID}, 0, "", "uuid " + a.ID},
		{"list", []string{"agent", "list"}, 0, "edge-1", ""},
		{"no agent", []string{"agent", "provision-key"}, exitUsage, "", "AGENT"},
		{"bad ttl", []string{"agent", "provision-key", "x", "--ttl", "-1m"}, exitUsage, "", "--ttl"},
		{"help", []string{"agent", "provision-key", "--help"}, 0, "provision-key", ""},
		{"delete", []string{"agent", "delete", "edge-1"}, 0, "", ""},
		{"delete unknown", []string{"agent", "delete", "edge-1"}, exitFailure, "", "not found"},
	})
}

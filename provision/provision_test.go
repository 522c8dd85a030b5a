package provision_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/provision"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestNewKey(t *testing.T) {
	k1, d1, err := provision.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _, _ := provision.NewKey()
	if len(k1) != 43 || k1 == k2 || d1 != secret.Digest(k1) {
		t.Fatalf("keys %q %q", k1, k2)
	}
}

func TestIssueKeyResolvesOrCreatesTheAgent(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Now()

	byName, err := provision.IssueKey(ctx, st, "edge-1", 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if byName.Agent.Name != "edge-1" || len(byName.Agent.ID) != 36 || !byName.ExpiresAt.Equal(now.Add(provision.DefaultKeyTTL).UTC().Truncate(time.Microsecond)) {
		t.Fatalf("by name: %+v", byName)
	}
	const fog = "9f0c1a52-8d5e-4c3b-9a7e-2b1d4e6f8a90"
	byUUID, err := provision.IssueKey(ctx, st, fog, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if byUUID.Agent.ID != fog || byUUID.Agent.Name != fog {
		t.Fatalf("by uuid: %+v", byUUID.Agent)
	}
	// Known agents are found by ID or by name, and a new key replaces the
	// earlier one.
	again, err := provision.IssueKey(ctx, st, byName.Agent.ID, 0, now)
	if err != nil || again.Agent.ID != byName.Agent.ID {
		t.Fatalf("by ID: %+v, %v", again.Agent, err)
	}
	latest, err := provision.IssueKey(ctx, st, "edge-1", 0, now)
	if err != nil || latest.Agent.ID != byName.Agent.ID {
		t.Fatalf("by name again: %+v, %v", latest.Agent, err)
	}
	svc := provision.NewService(st, "ns", nil, nil)
	for _, old := range []string{byName.Key, again.Key} {
		if _, err := svc.Provision(ctx, old, 1); !errors.Is(err, provision.ErrInvalidKey) {
			t.Fatalf("replaced key: %v", err)
		}
	}
	if _, err := svc.Provision(ctx, latest.Key, 1); err != nil {
		t.Fatalf("latest key: %v", err)
	}
	if _, err := provision.IssueKey(ctx, st, " ", 0, now); err == nil {
		t.Fatal("empty ref accepted")
	}
	list, _ := st.ListAgents(ctx)
	if len(list) != 2 {
		t.Fatalf("%d agents, want 2", len(list))
	}
}

func TestProvision(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	at := time.Now()
	svc := provision.NewService(st, "datasance", func() time.Time { return at }, nil)
	is, err := provision.IssueKey(ctx, st, "edge", time.Minute, at)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Provision(ctx, is.Key, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.UUID != is.Agent.ID || res.Namespace != "datasance" {
		t.Fatalf("result %+v", res)
	}
	priv, err := provision.DecodePrivateKey(res.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.GetAgent(ctx, res.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.PublicKey, priv.Public().(ed25519.PublicKey)) || a.ArchType != 2 || a.ProvisionedAt.IsZero() {
		t.Fatalf("stored agent %+v", a)
	}
	if _, err := svc.Provision(ctx, is.Key, 2); !errors.Is(err, provision.ErrInvalidKey) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := svc.Provision(ctx, "no-such-key", 0); !errors.Is(err, provision.ErrInvalidKey) {
		t.Fatalf("unknown key: %v", err)
	}
	late, err := provision.IssueKey(ctx, st, "edge", time.Minute, at)
	if err != nil {
		t.Fatal(err)
	}
	at = at.Add(2 * time.Minute)
	if _, err := svc.Provision(ctx, late.Key, 0); !errors.Is(err, provision.ErrExpiredKey) {
		t.Fatalf("expired key: %v", err)
	}
}

func TestPrivateKeyEncoding(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	s, err := provision.EncodePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := provision.DecodePrivateKey(s)
	if err != nil || !priv.Equal(got) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := provision.DecodePrivateKey("e30="); err == nil { // "{}"
		t.Fatal("empty JWK accepted")
	}
}

type fakeProvisioner struct {
	err      error
	key      string
	archType int
}

func (f *fakeProvisioner) Provision(_ context.Context, key string, archType int) (provision.Result, error) {
	f.key, f.archType = key, archType
	return provision.Result{UUID: "u", PrivateKey: "p", Namespace: "n"}, f.err
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name, body string
		err        error
		status     int
		want       map[string]any
	}{
		{"ok", `{"type":1,"key":"k","engine":"docker"}`, nil, 200, map[string]any{"uuid": "u", "privateKey": "p", "namespace": "n"}},
		{"no type", `{"key":"k"}`, nil, 400, map[string]any{"name": "ValidationError", "message": "Required field 'type' is missing"}},
		{"no key", `{"type":0}`, nil, 400, map[string]any{"name": "ValidationError", "message": "Required field 'key' is missing"}},
		{"type out of range", `{"type":3,"key":"k"}`, nil, 400, map[string]any{"name": "ValidationError", "message": "Invalid format for field 'type'"}},
		{"type not an integer", `{"type":1.5,"key":"k"}`, nil, 400, map[string]any{"name": "ValidationError", "message": "Invalid format for field 'type'"}},
		{"key not a string", `{"type":1,"key":7}`, nil, 400, map[string]any{"name": "ValidationError", "message": "Invalid format for field 'key'"}},
		{"not JSON", `type=1`, nil, 400, map[string]any{"name": "ValidationError"}},
		{"data after the object (found by fuzzing)", `{"type":0,"key":"k"}0`, nil, 400, map[string]any{"name": "ValidationError"}},
		{"unknown key", `{"type":1,"key":"k"}`, provision.ErrInvalidKey, 404, map[string]any{"name": "NotFoundError", "message": "Invalid Provisioning Key"}},
		{"expired key", `{"type":1,"key":"k"}`, provision.ErrExpiredKey, 401, map[string]any{"name": "AuthenticationError", "message": "Expired provision key"}},
		{"store down", `{"type":1,"key":"k"}`, provision.ErrUnavailable, 503, map[string]any{"name": "ServiceUnavailableError"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeProvisioner{err: tt.err}
			mux := http.NewServeMux()
			mux.Handle(provision.Route, provision.Handler(p, nil))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v3/agent/provision", strings.NewReader(tt.body)))
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %q, want %d: %s", rec.Code, rec.Header().Get("Content-Type"), tt.status, rec.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s = %v, want %v (%s)", k, got[k], v, rec.Body)
				}
			}
			if tt.status == 200 && (p.key != "k" || p.archType != 1) {
				t.Fatalf("provisioner got %q %d", p.key, p.archType)
			}
		})
	}
}

package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/token"
)

func TestNewKIDAcceptedWithoutRestart(t *testing.T) {
	f := newFixture(t, "JWKS_UNKNOWN_KID_INTERVAL", "1ms")
	kid := f.iss.AddKey()
	tok := f.iss.Mint(f.iss.Claims(), testenv.WithKID(kid))
	// The first Check with the new kid may land within 1ms of the last
	// fetch; a few attempts bound that without timing anything.
	for attempt := 0; ; attempt++ {
		o := f.g.decide(req{method: "GET", path: "/api/v3/user/profile", headers: bearer(tok)})
		if o.status == 200 {
			return
		}
		if attempt == 50 {
			t.Fatalf("new kid still refused: %+v", o)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestIssuerDownKeepsCachedKeysServing(t *testing.T) {
	f := newFixture(t)
	f.iss.SetDown(true)
	// A token never seen before (not in the identity cache) verifies under
	// the cached keys.
	tok := f.token(func(c map[string]any) { c["jti"] = "fresh"; c["groups"] = []string{"viewer"} })
	wantStatus(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)}), 200)
	// Still ready: the keys are loaded.
	f.g.waitServing(healthpb.HealthCheckResponse_SERVING)
}

func TestUnknownKIDBurstFetchesBoundedly(t *testing.T) {
	f := newFixture(t) // default JWKS_UNKNOWN_KID_INTERVAL: 10s
	before := f.iss.JWKSRequests()
	attacker := testenv.NewIssuer(t)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		tok := attacker.Mint(f.iss.Claims(), testenv.WithKID("unknown-"+string(rune('a'+i%26))+string(rune('a'+i/26))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o := f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)}); o.status != 401 {
				t.Errorf("unknown kid: status %d", o.status)
			}
		}()
	}
	wg.Wait()
	if n := f.iss.JWKSRequests() - before; n > 1 {
		t.Fatalf("100 unknown-kid tokens caused %d JWKS fetches, want at most 1", n)
	}
}

func TestHealthServingOnlyOnceKeysLoaded(t *testing.T) {
	iss := testenv.NewIssuer(t)
	iss.SetDown(true)
	g := start(t, externalEnv(t, iss), false)
	g.waitServing(healthpb.HealthCheckResponse_NOT_SERVING)
	code, _, body := g.httpDo("GET", "/readyz", "")
	if code != 503 || !strings.Contains(body, iss.URL()) {
		t.Fatalf("readyz while the issuer is down: %d %s", code, body)
	}
	// Keys unavailable is a failure to decide: 503, never 401 or allow.
	tok := iss.Mint(iss.Claims())
	o := g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)})
	wantReason(t, o, 503, "KEYS_UNAVAILABLE")
	iss.SetDown(false)
	g.waitServing(healthpb.HealthCheckResponse_SERVING)
	if code, _, _ := g.httpDo("GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz after recovery: %d", code)
	}
}

func TestPolicyRuntimeErrorIs503(t *testing.T) {
	dir := t.TempDir()
	copyPolicyData(t, dir)
	// Two complete definitions with different values: a runtime conflict.
	writeFile(t, filepath.Join(dir, "authz.rego"), `package gatehouse.authz

decision := {"allow": true, "status": 200, "reason": "A", "subject": "", "groups": []} if input.request.path == "/api/v3/microservices"
decision := {"allow": false, "status": 403, "reason": "B", "subject": "", "groups": []} if input.request.method == "GET"
decision := {"allow": false, "status": 403, "reason": "PERMISSION_DENIED", "subject": "", "groups": []} if input.request.method != "GET"
`)
	f := &fixture{iss: testenv.NewIssuer(t)}
	f.g = start(t, externalEnv(t, f.iss, "POLICY_DIR", dir), true)
	o := f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.withGroups("admin"))})
	wantReason(t, o, 503, "POLICY_ERROR")
	if !strings.Contains(o.body, "Authorization is temporarily unavailable") {
		t.Fatalf("503 body %s", o.body)
	}
	// The error is for that request only.
	wantStatus(t, f.g.decide(req{method: "POST", path: "/api/v3/iofog", headers: bearer(f.withGroups("admin"))}), 403)
}

func TestOperatorEndpoints(t *testing.T) {
	f := newFixture(t)
	f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))})
	f.g.decide(req{method: "GET", path: "/api/v3/microservices"})
	if code, _, body := f.g.httpDo("GET", "/healthz", ""); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz %d %s", code, body)
	}
	if code, _, _ := f.g.httpDo("GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	code, _, metrics := f.g.httpDo("GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("metrics %d", code)
	}
	for _, series := range []string{
		`gatehouse_decisions_total{reason="PERMITTED",result="allow",status="200"} 1`,
		`gatehouse_decisions_total{reason="NO_CREDENTIAL",result="deny",status="401"} 1`,
		`gatehouse_check_duration_seconds_count 2`,
		`gatehouse_jwks_fetches_total{issuer="` + f.iss.URL() + `",result="ok"}`,
		`gatehouse_identity_cache_misses_total 1`,
		`gatehouse_identity_cache_entries 1`,
		`gatehouse_policy_last_reload_ok 1`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("metrics lack %s", series)
		}
	}
	code, _, body := f.g.httpDo("GET", "/nope", "")
	if code != 404 || !strings.Contains(body, `"name":"NotFoundError"`) {
		t.Fatalf("unknown route %d %s", code, body)
	}

	// Reflection lists the doors, so grpcurl works without proto files.
	stream, err := reflectionpb.NewServerReflectionClient(f.g.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"envoy.service.auth.v3.Authorization", "gatehouse.v1.AuthService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lacks %s: %v", want, names)
		}
	}
}

func TestDecisionLogNeverHoldsTheToken(t *testing.T) {
	f := newFixture(t)
	good := f.withGroups("viewer")
	bad := testenv.CorruptSignature(good)
	f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(good)})
	o := f.g.decide(req{method: "GET", path: "/api/v3/microservices?token=" + good, headers: bearer(bad)})
	logs := f.g.logs.String()
	sig := good[strings.LastIndexByte(good, '.')+1:]
	if strings.Contains(logs, sig) || strings.Contains(logs, good[:40]) {
		t.Fatal("a token reached the logs")
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(o.body), &body)
	found := false
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, `"msg":"decision"`) {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"decision_id", "allow", "status", "reason", "method", "path", "route", "kind", "subject", "latency_us"} {
			if _, ok := entry[k]; !ok {
				t.Errorf("decision log lacks %s: %s", k, line)
			}
		}
		if entry["decision_id"] == body["decisionId"] {
			found = true
			if entry["detail"] == nil || entry["reason"] != "TOKEN_SIGNATURE_INVALID" {
				t.Errorf("refusal detail missing from the log: %s", line)
			}
		}
	}
	if !found {
		t.Fatalf("the deny's decision id %v is not in the logs", body["decisionId"])
	}
}

func TestEmbeddedModeTrustsItself(t *testing.T) {
	env := map[string]string{
		"CONTROLLER_PUBLIC_URL":    "http://localhost:8080",
		"AUTH_INSECURE_ALLOW_HTTP": "true",
		"DATA_DIR":                 t.TempDir(),
	}
	g := start(t, env, true)
	code, _, body := g.httpDo("GET", "/oidc/.well-known/openid-configuration", "")
	if code != 200 || !strings.Contains(body, `"issuer":"http://localhost:8080/oidc"`) || !strings.Contains(body, `"jwks_uri":"http://localhost:8080/oidc/jwks"`) {
		t.Fatalf("discovery %d %s", code, body)
	}
	code, hdr, jwks := g.httpDo("GET", "/oidc/jwks", "")
	if code != 200 || !strings.Contains(jwks, g.app.Signer().KeyID()) || strings.Contains(jwks, `"d":`) || hdr.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("jwks %d %s", code, jwks)
	}
	// What `gatehouse token mint` does: sign with the issuer's current key.
	tok, err := g.app.Signer().MintAccess(token.AccessClaims{Issuer: "http://localhost:8080/oidc", Audience: "controller", Subject: "alice", Groups: []string{"admin"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	o := g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)})
	wantStatus(t, o, 200)
	if o.subject != "alice" || o.groups != "admin" {
		t.Fatalf("identity %+v", o)
	}
	wantStatus(t, g.decide(req{method: "GET", path: "/api/v3/microservices"}), 401)
}

func TestGracefulStopTurnsHealthOff(t *testing.T) {
	f := newFixture(t)
	watch, err := f.g.health.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: "gatehouse.v1.AuthService"})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := watch.Recv(); err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first status %v %v", first, err)
	}
	f.g.cancel()
	next, err := watch.Recv()
	if err == nil && next.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("status after stop %v", next.GetStatus())
	}
	select {
	case err := <-f.g.done:
		if err != nil {
			t.Fatal(err)
		}
		f.g.done <- nil // for the cleanup's stop
	case <-time.After(15 * time.Second):
		t.Fatal("did not stop")
	}
}

// copyPolicyData copies the default catalog and roles into dir so a test
// policy can replace only the Rego.
func copyPolicyData(t *testing.T, dir string) {
	t.Helper()
	for _, rel := range []string{"gatehouse/catalog/data.yaml", "gatehouse/roles/data.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "policies", rel))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, rel), string(b))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

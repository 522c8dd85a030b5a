package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/provision"
)

// agentRoute is an agent-only route of the Controller's catalog.
const agentRoute = "/api/v3/agent/config"

var jtiCounter atomic.Int64

// fog is one provisioned agent: its UUID and the private key the
// provisioning response handed out.
type fog struct {
	uuid string
	key  ed25519.PrivateKey
}

// signAgentJWT makes a compact JWS with EdDSA over header and claims.
func signAgentJWT(t *testing.T, key ed25519.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(in)))
}

// claims are what an agent signs for one request: sub, a fresh jti, iat,
// nbf and a one-minute exp.
func (f fog) claims() map[string]any {
	now := time.Now()
	return map[string]any{"sub": f.uuid, "jti": fmt.Sprint("jti-", jtiCounter.Add(1)), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}

// token signs the agent's claims after edit, as the agent would.
func (f fog) token(t *testing.T, edit func(h, c map[string]any)) string {
	h, c := map[string]any{"alg": "EdDSA", "typ": "JWT"}, f.claims()
	if edit != nil {
		edit(h, c)
	}
	return signAgentJWT(t, f.key, h, c)
}

// issueKey makes a provisioning key the way the CLI and admin API do.
func issueKey(t *testing.T, g *gh, ref string, ttl time.Duration, now time.Time) provision.Issued {
	t.Helper()
	is, err := provision.IssueKey(context.Background(), g.app.Store(), ref, ttl, now)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

type provisionResponse struct {
	UUID       string `json:"uuid"`
	PrivateKey string `json:"privateKey"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Message    string `json:"message"`
}

func (g *gh) provision(t *testing.T, body string) (int, provisionResponse) {
	t.Helper()
	status, _, raw := g.httpDo("POST", "/api/v3/agent/provision", body)
	var r provisionResponse
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("provision answered %d %q: %v", status, raw, err)
	}
	return status, r
}

// provisionFog issues a key for name and provisions with it over HTTP.
func provisionFog(t *testing.T, g *gh, name string) fog {
	t.Helper()
	is := issueKey(t, g, name, 0, time.Now())
	status, r := g.provision(t, fmt.Sprintf(`{"type":1,"key":%q}`, is.Key))
	if status != 200 {
		t.Fatalf("provision: %d %+v", status, r)
	}
	key, err := provision.DecodePrivateKey(r.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return fog{uuid: r.UUID, key: key}
}

// agentBody is the Controller's agent authentication error envelope.
type agentBody struct {
	Name      string `json:"name"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// wantAgentDeny checks an agent-route refusal: status, the AGENT_… code and
// the envelope.
func wantAgentDeny(t *testing.T, o outcome, status int, code string) agentBody {
	t.Helper()
	wantStatus(t, o, status)
	var b agentBody
	if err := json.Unmarshal([]byte(o.body), &b); err != nil {
		t.Fatalf("deny body %q: %v", o.body, err)
	}
	wantName, retryable := "AgentAuthenticationError", false
	if status == 503 {
		wantName, retryable = "ServiceUnavailableError", true
	}
	if b.Code != code || b.Name != wantName || b.Retryable != retryable || b.Message == "" {
		t.Fatalf("body %s, want %s %s retryable=%v", o.body, wantName, code, retryable)
	}
	return b
}

func TestAG01ProvisionReturnsTheKeyPairOnce(t *testing.T) {
	f := newFixture(t, "CONTROLLER_NAMESPACE", "edge-ns")
	g := f.g
	// The route is public at the decision door: the key is the credential.
	wantStatus(t, g.decide(req{method: "POST", path: "/api/v3/agent/provision"}), 200)

	is := issueKey(t, g, "edge-1", 0, time.Now())
	status, r := g.provision(t, fmt.Sprintf(`{"type":1,"key":%q}`, is.Key))
	if status != 200 || r.UUID != is.Agent.ID || r.Namespace != "edge-ns" || r.PrivateKey == "" {
		t.Fatalf("provision: %d %+v", status, r)
	}
	priv, err := provision.DecodePrivateKey(r.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := g.app.Store().GetAgent(context.Background(), r.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(a.PublicKey)) || a.ArchType != 1 {
		t.Fatalf("stored agent %+v does not hold the handed-out key's public half", a)
	}
	// The key cannot be used twice.
	status, r = g.provision(t, fmt.Sprintf(`{"type":1,"key":%q}`, is.Key))
	if status != 404 || r.Name != "NotFoundError" || r.Message != "Invalid Provisioning Key" {
		t.Fatalf("second use: %d %+v", status, r)
	}
}

func TestAG02UnknownAndExpiredProvisioningKeys(t *testing.T) {
	f := newFixture(t)
	g := f.g
	status, r := g.provision(t, `{"type":0,"key":"no-such-key"}`)
	if status != 404 || r.Name != "NotFoundError" || r.Message != "Invalid Provisioning Key" {
		t.Fatalf("unknown key: %d %+v", status, r)
	}
	old := issueKey(t, g, "edge-2", time.Minute, time.Now().Add(-time.Hour))
	status, r = g.provision(t, fmt.Sprintf(`{"type":0,"key":%q}`, old.Key))
	if status != 401 || r.Name != "AuthenticationError" || r.Message != "Expired provision key" {
		t.Fatalf("expired key: %d %+v", status, r)
	}
	status, r = g.provision(t, `{"key":"x"}`)
	if status != 400 || r.Name != "ValidationError" || r.Message != "Required field 'type' is missing" {
		t.Fatalf("schema: %d %+v", status, r)
	}
}

func TestAG03SignedAgentCallPasses(t *testing.T) {
	f := newFixture(t)
	g := f.g
	fg := provisionFog(t, g, "edge-3")
	before := time.Now().Add(-time.Second)
	for _, path := range []string{agentRoute, "/api/v3/agent/microservices", "/api/v3/agent/microservices/" + fg.uuid} {
		method := "GET"
		o := g.decide(req{method: method, path: path, headers: bearer(fg.token(t, nil))})
		wantStatus(t, o, 200)
		if o.subject != fg.uuid || o.upstream["x-gatehouse-identity-kind"] != "agent" {
			t.Fatalf("%s: upstream %v", path, o.upstream)
		}
	}
	a, err := g.app.Store().GetAgent(context.Background(), fg.uuid)
	if err != nil {
		t.Fatal(err)
	}
	if a.LastActiveAt.Before(before) {
		t.Fatalf("last-active time %v not updated", a.LastActiveAt)
	}
	// The gatehouse.v1 door agrees.
	if o := g.checkV1(req{method: "GET", path: agentRoute, headers: bearer(fg.token(t, nil))}); !o.allowed || o.subject != fg.uuid {
		t.Fatalf("gatehouse.v1: %+v", o)
	}
}

func TestAG04ReplayedJTIIsRefused(t *testing.T) {
	f := newFixture(t)
	g := f.g
	fg := provisionFog(t, g, "edge-4")
	tok := fg.token(t, nil)
	wantStatus(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(tok)}), 200)
	b := wantAgentDeny(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(tok)}), 401, "AGENT_JWT_ALREADY_USED")
	if b.Message != "Agent JWT already used" {
		t.Fatalf("message %q", b.Message)
	}
	// A fresh jti passes again.
	wantStatus(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(fg.token(t, nil))}), 200)
}

// TestAG04ReplayAcrossReplicasOnPostgres: a jti used on one replica is
// refused on another sharing the PostgreSQL store.
func TestAG04ReplayAcrossReplicasOnPostgres(t *testing.T) {
	url := testenv.PostgresSchemaURL(t, "gh_agents")
	iss := testenv.NewIssuer(t)
	a := start(t, externalEnv(t, iss, "DATABASE_URL", url), true)
	b := start(t, externalEnv(t, iss, "DATABASE_URL", url), true)
	fg := provisionFog(t, a, "edge-ha")
	tok := fg.token(t, nil)
	if o := b.decide(req{method: "GET", path: agentRoute, headers: bearer(tok)}); o.status != 200 {
		t.Fatalf("replica b: %d %s; logs:\n%s", o.status, o.body, b.logs.String())
	}
	wantAgentDeny(t, a.decide(req{method: "GET", path: agentRoute, headers: bearer(tok)}), 401, "AGENT_JWT_ALREADY_USED")
	wantAgentDeny(t, b.decide(req{method: "GET", path: agentRoute, headers: bearer(tok)}), 401, "AGENT_JWT_ALREADY_USED")
}

func TestAG05TypedFailures(t *testing.T) {
	f := newFixture(t)
	g := f.g
	fg := provisionFog(t, g, "edge-5")
	// An agent that has a key issued but never provisioned has no public key.
	pending := issueKey(t, g, "edge-pending", 0, time.Now())
	noKey := fog{uuid: pending.Agent.ID, key: fg.key}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	good := fg.token(t, nil)
	parts := strings.Split(good, ".")
	tests := []struct {
		name    string
		headers map[string]string
		code    string
		message string
	}{
		{"missing header", nil, "AGENT_AUTH_HEADER_INVALID", "Authorization header required"},
		{"Token scheme", map[string]string{"authorization": "Token " + good}, "AGENT_AUTH_HEADER_INVALID", "Bearer authorization required"},
		{"Basic scheme", basicHeader("a", "b"), "AGENT_AUTH_HEADER_INVALID", "Bearer authorization required"},
		{"two segments", bearer(parts[0] + "." + parts[1]), "AGENT_JWT_MALFORMED", "Agent JWT is malformed"},
		{"not a JWT", bearer("hello"), "AGENT_JWT_MALFORMED", "Agent JWT is malformed"},
		{"no sub", bearer(fg.token(t, func(_, c map[string]any) { delete(c, "sub") })), "AGENT_JWT_MISSING_SUBJECT", "Agent JWT missing subject claim"},
		{"unknown fog", bearer(fg.token(t, func(_, c map[string]any) { c["sub"] = "00000000-0000-4000-8000-000000000000" })), "AGENT_FOG_NOT_FOUND", "Agent fog not found"},
		{"bad signature", bearer(signAgentJWT(t, stranger, map[string]any{"alg": "EdDSA"}, fg.claims())), "AGENT_JWT_SIGNATURE_INVALID", "Agent JWT signature invalid"},
		{"expired", bearer(fg.token(t, func(_, c map[string]any) {
			c["iat"], c["nbf"], c["exp"] = time.Now().Add(-3*time.Minute).Unix(), time.Now().Add(-3*time.Minute).Unix(), time.Now().Add(-2*time.Minute).Unix()
		})), "AGENT_JWT_EXPIRED", "Agent JWT expired"},
		{"no stored key", bearer(noKey.token(t, nil)), "AGENT_PUBLIC_KEY_NOT_FOUND", "Agent public key not found"},
		{"alg HS256", bearer(fg.token(t, func(h, _ map[string]any) { h["alg"] = "HS256" })), "AGENT_JWT_SIGNATURE_INVALID", ""},
		{"alg ES256", bearer(fg.token(t, func(h, _ map[string]any) { h["alg"] = "ES256" })), "AGENT_JWT_SIGNATURE_INVALID", ""},
		{"alg none", bearer(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."), "AGENT_JWT_MALFORMED", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := g.decide(req{method: "GET", path: agentRoute, headers: tt.headers})
			b := wantAgentDeny(t, o, 401, tt.code)
			if tt.message != "" && b.Message != tt.message {
				t.Fatalf("message %q, want %q", b.Message, tt.message)
			}
			if o.client["www-authenticate"] == "" {
				t.Fatalf("no challenge: %v", o.client)
			}
		})
	}
}

func TestAG06StoreOutageIsRetryable503(t *testing.T) {
	f := newFixture(t)
	g := f.g
	fg := provisionFog(t, g, "edge-6")
	wantStatus(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(fg.token(t, nil))}), 200)
	// The store goes away: agent requests fail closed and retryable, while
	// requests that never need the store (a user JWT) still decide.
	if err := g.app.Store().Close(); err != nil {
		t.Fatal(err)
	}
	b := wantAgentDeny(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(fg.token(t, nil))}), 503, "CONTROLLER_DB_UNAVAILABLE")
	if b.Message != "Database temporarily unavailable" {
		t.Fatalf("message %q", b.Message)
	}
	wantStatus(t, g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))}), 200)
}

func TestAG07UserAndAgentTokensStayOnTheirRoutes(t *testing.T) {
	f := newFixture(t)
	g := f.g
	fg := provisionFog(t, g, "edge-7")
	// A valid user token (even an admin's) on an agent route.
	wantAgentDeny(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(f.withGroups("admin"))}), 401, "AGENT_JWT_SIGNATURE_INVALID")
	// A valid agent token on a user route: the user verifier does not know it.
	o := g.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(fg.token(t, nil))})
	wantStatus(t, o, 401)
	if !strings.Contains(o.body, `"error":"Unauthorized: No authentication information found"`) {
		t.Fatalf("body %s", o.body)
	}
	// And the agent token is not burnt by that refusal: the agent route
	// still takes it (the user route never reached the jti store).
	tok := fg.token(t, nil)
	wantStatus(t, g.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(tok)}), 401)
	wantStatus(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(tok)}), 200)
}

func TestAG08ExpiryRequiredAndLifetimeBounded(t *testing.T) {
	f := newFixture(t, "AGENT_JWT_MAX_LIFETIME", "2m")
	g := f.g
	fg := provisionFog(t, g, "edge-8")
	now := time.Now()
	tests := []struct {
		name   string
		edit   func(h, c map[string]any)
		reason string
	}{
		{"no exp", func(_, c map[string]any) { delete(c, "exp") }, "TOKEN_EXPIRY_MISSING"},
		{"exp beyond the maximum", func(_, c map[string]any) { delete(c, "iat"); c["exp"] = now.Add(time.Hour).Unix() }, "TOKEN_LIFETIME_TOO_LONG"},
		{"exp - iat beyond the maximum", func(_, c map[string]any) {
			c["iat"] = now.Add(-5 * time.Minute).Unix()
			c["exp"] = now.Add(time.Minute).Unix()
		}, "TOKEN_LIFETIME_TOO_LONG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := g.decide(req{method: "GET", path: agentRoute, headers: bearer(fg.token(t, tt.edit))})
			wantAgentDeny(t, o, 401, "AGENT_JWT_MALFORMED")
			if o.reason != tt.reason {
				t.Fatalf("reason %q, want %s", o.reason, tt.reason)
			}
		})
	}
	// Within the maximum it passes.
	ok := fg.token(t, func(_, c map[string]any) { c["exp"] = now.Add(2 * time.Minute).Unix() })
	wantStatus(t, g.decide(req{method: "GET", path: agentRoute, headers: bearer(ok)}), 200)
}

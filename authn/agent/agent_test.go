package agent_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/agent"
	"github.com/gatehouse-authz/gatehouse/internal/replay"
)

type fakeStore struct {
	agents  map[string]gatehouse.Agent
	err     error
	touched map[string]time.Time
	calls   int
}

func (f *fakeStore) GetAgent(_ context.Context, id string) (gatehouse.Agent, error) {
	f.calls++
	if f.err != nil {
		return gatehouse.Agent{}, f.err
	}
	a, ok := f.agents[id]
	if !ok {
		return gatehouse.Agent{}, fmt.Errorf("agent %q: %w", id, gatehouse.ErrNotFound)
	}
	return a, nil
}

func (f *fakeStore) TouchAgent(_ context.Context, id string, at time.Time) error {
	f.touched[id] = at
	return nil
}

type failingGuard struct{}

func (failingGuard) ClaimOnce(context.Context, string, string, time.Time) error {
	return errors.New("connection refused")
}

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// sign makes a compact JWS over header and claims with key.
func sign(t *testing.T, key ed25519.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(in)))
}

type fixture struct {
	store *fakeStore
	auth  *agent.Authenticator
	key   ed25519.PrivateKey
	n     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{touched: map[string]time.Time{}, agents: map[string]gatehouse.Agent{
		"fog-1":      {ID: "fog-1", Name: "edge", PublicKey: pub},
		"unprovided": {ID: "unprovided", Name: "new"},
	}}
	a, err := agent.New(agent.Options{Store: st, Replay: &replay.Memory{Now: clock}, MaxLifetime: 5 * time.Minute, Leeway: 10 * time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: st, auth: a, key: priv}
}

// claims returns valid claims for fog-1 with a fresh jti.
func (f *fixture) claims() map[string]any {
	f.n++
	return map[string]any{"sub": "fog-1", "jti": fmt.Sprint("jti-", f.n), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}

func (f *fixture) token(t *testing.T, edit func(h, c map[string]any)) string {
	h, c := map[string]any{"alg": "EdDSA", "typ": "JWT"}, f.claims()
	if edit != nil {
		edit(h, c)
	}
	return sign(t, f.key, h, c)
}

func (f *fixture) authenticate(tok string) (*gatehouse.Identity, error) {
	return f.auth.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: tok}, nil)
}

func TestValidTokenProvesTheAgent(t *testing.T) {
	f := newFixture(t)
	id, err := f.authenticate(f.token(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if id.Kind != gatehouse.KindAgent || id.Subject != "fog-1" || !id.ExpiresAt.Equal(now.Add(time.Minute)) || id.Claims["jti"] != "jti-1" {
		t.Fatalf("identity %+v", id)
	}
	if !f.store.touched["fog-1"].Equal(now) {
		t.Fatalf("last activity not recorded: %v", f.store.touched)
	}
}

func TestReplayedJTIIsRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, nil)
	if _, err := f.authenticate(tok); err != nil {
		t.Fatal(err)
	}
	_, err := f.authenticate(tok)
	wantCode(t, err, gatehouse.CodeAgentJWTAlreadyUsed, false)
	// Another agent may use the same jti value: claims are per agent.
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	f.store.agents["fog-2"] = gatehouse.Agent{ID: "fog-2", PublicKey: pub2}
	c := f.claims()
	c["sub"], c["jti"] = "fog-2", "jti-1"
	if _, err := f.authenticate(sign(t, priv2, map[string]any{"alg": "EdDSA"}, c)); err != nil {
		t.Fatalf("same jti, other agent: %v", err)
	}
}

func wantCode(t *testing.T, err error, code string, internal bool) *gatehouse.AuthError {
	t.Helper()
	var ae *gatehouse.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an AuthError", err)
	}
	if ae.Code != code || ae.Internal != internal {
		t.Fatalf("code %s internal %v (%v), want %s internal %v", ae.Code, ae.Internal, err, code, internal)
	}
	if ae.Message == "" {
		t.Fatalf("no caller-facing message: %v", err)
	}
	return ae
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	good := f.token(t, nil)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"fog-1","jti":"x","exp":`+fmt.Sprint(now.Add(time.Minute).Unix())+`}`)) + "." + parts[2]
	hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + parts[1] + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	tests := []struct {
		name, token, code string
		reason            gatehouse.Reason
		store             bool // whether the store may be consulted
	}{
		{"empty bearer", "", gatehouse.CodeAgentAuthHeaderInvalid, gatehouse.ReasonCredentialMalformed, false},
		{"two segments", parts[0] + "." + parts[1], gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"four segments", good + ".x", gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"padding", good + "=", gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"oversized, as a peer token", good + strings.Repeat("A", 8<<10), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonCredentialTooLarge, false},
		{"payload not JSON", parts[0] + ".bm90IGpzb24." + parts[2], gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"alg HS256", hs, gatehouse.CodeAgentJWTSignatureInvalid, gatehouse.ReasonTokenAlgorithm, false},
		{"alg none", none, gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"alg ES256", f.token(t, func(h, _ map[string]any) { h["alg"] = "ES256" }), gatehouse.CodeAgentJWTSignatureInvalid, gatehouse.ReasonTokenAlgorithm, false},
		{"alg lower-case", f.token(t, func(h, _ map[string]any) { h["alg"] = "eddsa" }), gatehouse.CodeAgentJWTSignatureInvalid, gatehouse.ReasonTokenAlgorithm, false},
		{"crit header", f.token(t, func(h, _ map[string]any) { h["crit"] = []string{"b64"}; h["b64"] = false }), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenCritical, false},
		{"no sub", f.token(t, func(_, c map[string]any) { delete(c, "sub") }), gatehouse.CodeAgentJWTMissingSubject, gatehouse.ReasonTokenMalformed, false},
		{"numeric sub", f.token(t, func(_, c map[string]any) { c["sub"] = 7 }), gatehouse.CodeAgentJWTMissingSubject, gatehouse.ReasonTokenMalformed, false},
		{"no exp", f.token(t, func(_, c map[string]any) { delete(c, "exp") }), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenNoExpiry, false},
		{"exp as a string", f.token(t, func(_, c map[string]any) { c["exp"] = "soon" }), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"expired", f.token(t, func(_, c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), gatehouse.CodeAgentJWTExpired, gatehouse.ReasonTokenExpired, false},
		{"exp beyond the maximum lifetime", f.token(t, func(_, c map[string]any) { delete(c, "iat"); c["exp"] = now.Add(time.Hour).Unix() }), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenLifetime, false},
		{"exp - iat beyond the maximum lifetime", f.token(t, func(_, c map[string]any) { c["iat"] = now.Add(-time.Hour).Unix() }), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenLifetime, false},
		{"no jti", f.token(t, func(_, c map[string]any) { delete(c, "jti") }), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"huge jti", f.token(t, func(_, c map[string]any) { c["jti"] = strings.Repeat("j", 300) }), gatehouse.CodeAgentJWTMalformed, gatehouse.ReasonTokenMalformed, false},
		{"unknown fog", f.token(t, func(_, c map[string]any) { c["sub"] = "fog-9" }), gatehouse.CodeAgentFogNotFound, gatehouse.ReasonAgentUnknown, true},
		{"fog without a key", f.token(t, func(_, c map[string]any) { c["sub"] = "unprovided" }), gatehouse.CodeAgentPublicKeyNotFound, gatehouse.ReasonAgentKeyNotFound, true},
		{"signed by another key", sign(t, other, map[string]any{"alg": "EdDSA"}, f.claims()), gatehouse.CodeAgentJWTSignatureInvalid, gatehouse.ReasonTokenSignature, true},
		{"tampered payload", tampered, gatehouse.CodeAgentJWTSignatureInvalid, gatehouse.ReasonTokenSignature, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.store.calls
			id, err := f.authenticate(tt.token)
			if id != nil {
				t.Fatalf("identity %+v with error %v", id, err)
			}
			ae := wantCode(t, err, tt.code, false)
			if ae.Reason != tt.reason {
				t.Fatalf("reason %s, want %s (%v)", ae.Reason, tt.reason, err)
			}
			if !tt.store && f.store.calls != before {
				t.Fatalf("a token refused on its face reached the store")
			}
		})
	}
}

func TestStoreOutageIsUnavailable(t *testing.T) {
	f := newFixture(t)
	f.store.err = errors.New("dial tcp 127.0.0.1:5432: connection refused")
	_, err := f.authenticate(f.token(t, nil))
	if ae := wantCode(t, err, gatehouse.CodeControllerDBUnavailable, true); ae.Reason != gatehouse.ReasonStoreUnavailable {
		t.Fatalf("reason %s", ae.Reason)
	}

	// The replay memory failing is an outage too, never an allow.
	f = newFixture(t)
	a, err := agent.New(agent.Options{Store: f.store, Replay: failingGuard{}, MaxLifetime: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: f.token(t, nil)}, nil)
	wantCode(t, err, gatehouse.CodeControllerDBUnavailable, true)
}

func TestClockAheadIsRetryable(t *testing.T) {
	f := newFixture(t)
	_, err := f.authenticate(f.token(t, func(_, c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }))
	wantCode(t, err, gatehouse.CodeControllerAuthVerificationFailed, true)
	// Within the leeway it passes.
	if _, err := f.authenticate(f.token(t, func(_, c map[string]any) { c["nbf"] = now.Add(5 * time.Second).Unix() })); err != nil {
		t.Fatal(err)
	}
}

func TestNewChecksOptions(t *testing.T) {
	st := &fakeStore{}
	for _, o := range []agent.Options{
		{Replay: &replay.Memory{}, MaxLifetime: time.Minute},
		{Store: st, MaxLifetime: time.Minute},
		{Store: st, Replay: &replay.Memory{}},
		{Store: st, Replay: &replay.Memory{}, MaxLifetime: time.Minute, Leeway: -time.Second},
	} {
		if _, err := agent.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

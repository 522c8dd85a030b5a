package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/agent"
	"github.com/gatehouse-authz/gatehouse/internal/replay"
)

// Fixed keys, so the seed corpus holds tokens that verify: fog-1 holds
// fuzzKeyA's public half; fuzzKeyB signed a seed but is registered nowhere;
// fuzzKeyC never signs anything.
var (
	fuzzKeyA = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{'A'}, ed25519.SeedSize))
	fuzzKeyB = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{'B'}, ed25519.SeedSize))
	fuzzKeyC = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{'C'}, ed25519.SeedSize))
)

// FuzzAgentToken feeds bearer values to the agent authenticator. It never
// panics; every error is a refusal with an agent code; nothing verifies
// against a key that did not sign it; what verifies is an EdDSA JWS whose
// signature checks with the registered key on its own. The seeds
// (testdata/fuzz/FuzzAgentToken) hold a token signed with fuzzKeyA for
// fog-1 at the test clock, and broken variants of it.
func FuzzAgentToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, tok string) {
		auth := func(pub ed25519.PrivateKey) (*gatehouse.Identity, error) {
			st := &fakeStore{touched: map[string]time.Time{}, agents: map[string]gatehouse.Agent{
				"fog-1":      {ID: "fog-1", PublicKey: pub.Public().(ed25519.PublicKey)},
				"unprovided": {ID: "unprovided"},
			}}
			a, err := agent.New(agent.Options{Store: st, Replay: &replay.Memory{Now: clock}, MaxLifetime: 5 * time.Minute, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			return a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: tok}, nil)
		}
		// fog-1 registered with a key that never signed anything.
		if id, err := auth(fuzzKeyC); err == nil {
			t.Fatalf("verified without the key: %+v", id)
		} else {
			wantRefusal(t, err)
		}
		id, err := auth(fuzzKeyA)
		var ae *gatehouse.AuthError
		if errors.As(err, &ae) && ae.Internal && ae.Code == gatehouse.CodeControllerAuthVerificationFailed {
			id, err = nil, nil // a genuine token from a clock running ahead: checked below
		} else if err != nil {
			wantRefusal(t, err)
			return
		}
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("verified %d segments", len(parts))
		}
		h, err := base64.RawURLEncoding.DecodeString(parts[0])
		var hdr struct{ Alg string }
		if err != nil || json.Unmarshal(h, &hdr) != nil || hdr.Alg != "EdDSA" {
			t.Fatalf("verified a header %q that is not alg EdDSA", h)
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || !ed25519.Verify(fuzzKeyA.Public().(ed25519.PublicKey), []byte(parts[0]+"."+parts[1]), sig) {
			t.Fatalf("verified %q without a valid signature", tok)
		}
		if id != nil && (id.Kind != gatehouse.KindAgent || id.Subject != "fog-1" || !id.ExpiresAt.After(now.Add(-time.Minute))) {
			t.Fatalf("identity %+v", id)
		}
	})
}

// wantRefusal: a refusal (never a failure to decide: the store answers)
// carrying one of the Controller's agent codes.
func wantRefusal(t *testing.T, err error) {
	t.Helper()
	var ae *gatehouse.AuthError
	if !errors.As(err, &ae) || ae.Internal || !strings.HasPrefix(ae.Code, "AGENT_") {
		t.Fatalf("error %v (%+v) is not an agent refusal", err, ae)
	}
}

package jwt

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// The fuzz verifier trusts a fixed issuer name so that the committed corpus
// (testdata/fuzz/FuzzVerify) reaches key lookup and signature checks; its
// keys are generated afresh on every run, so no stored token can verify.
const (
	fuzzIssuer   = "https://fuzz.gatehouse.test"
	fuzzAudience = "gatehouse-fuzz"
)

func fuzzClaims(iss *testenv.Issuer) map[string]any {
	return with(iss.Claims(), "iss", fuzzIssuer, "aud", fuzzAudience)
}

// FuzzVerify: arbitrary token strings never panic, never verify, always come
// back as a *gatehouse.AuthError, and never echo the token in the error.
func FuzzVerify(f *testing.F) {
	iss := testenv.NewIssuer(f, testenv.WithEC(), testenv.WithEd25519())
	set, err := KeySetFromJWKS(iss.JWKS())
	if err != nil {
		f.Fatal(err)
	}
	v, err := New(Options{Issuers: []IssuerConfig{{URL: fuzzIssuer, Audiences: []string{fuzzAudience}, Keys: NewStaticKeySource(set)}}})
	if err != nil {
		f.Fatal(err)
	}

	// Runtime seeds: well-formed tokens one step from valid.
	valid := iss.Mint(fuzzClaims(iss))
	for _, s := range []string{
		testenv.CorruptSignature(valid),
		testenv.ReplacePayload(valid, with(fuzzClaims(iss), "sub", "admin")),
		testenv.CorruptSignature(iss.Mint(fuzzClaims(iss), testenv.WithKID("ec-1"))),
		testenv.CorruptSignature(iss.Mint(fuzzClaims(iss), testenv.WithKID("ed-1"))),
		testenv.CorruptSignature(iss.Mint(fuzzClaims(iss), testenv.WithoutKID())),
		iss.Mint(fuzzClaims(iss), testenv.WithAlg("none")),
		iss.Mint(fuzzClaims(iss), testenv.WithAlg("HS256"), testenv.WithSigningKey(testenv.PublicKeyPEM(iss.Key("rsa-1").Public))),
		testenv.JSONSerialization(valid),
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Verify(t.Context(), token)
		if err == nil || id != nil {
			t.Fatalf("token verified: %q", token)
		}
		var ae *gatehouse.AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("error %T is not an AuthError: %v", err, err)
		}
		if len(token) >= 32 && strings.Contains(err.Error(), token) {
			t.Fatalf("error echoes the token: %v", err)
		}
	})
}

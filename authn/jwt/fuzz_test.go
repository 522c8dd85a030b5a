package jwt

import (
	"errors"
	"slices"
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

// FuzzKeySetFromJWKS: a JWKS document is outside input (whatever the IdP, or
// whoever sits between, serves). Arbitrary bytes never panic; a set built
// from them has only keys that may verify (no symmetric key, every key with
// at least one allowed algorithm), and its problems name what was dropped.
func FuzzKeySetFromJWKS(f *testing.F) {
	iss := testenv.NewIssuer(f, testenv.WithEC(), testenv.WithEd25519())
	for _, s := range []string{
		string(iss.JWKS()),
		`{"keys":[]}`,
		`{"keys":null}`,
		`{"keys":[null,42,"x",[],{}]}`,
		`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`,
		`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB","alg":"HS256"}]}`,
		`{"keys":[{"kty":"EC","kid":"e","crv":"P-256","x":"","y":""}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		set, err := KeySetFromJWKS(doc)
		if err != nil {
			if set != nil {
				t.Fatal("a key set and an error")
			}
			return
		}
		if set.Len() == 0 {
			t.Fatal("an empty key set without an error")
		}
		for _, k := range set.keys {
			if len(k.algs) == 0 {
				t.Fatalf("key %q allows no algorithm", k.kid)
			}
			for _, a := range k.algs {
				if !slices.Contains(DefaultAllowedAlgs(), a) {
					t.Fatalf("key %q allows %q", k.kid, a)
				}
			}
		}
	})
}

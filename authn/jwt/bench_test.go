package jwt

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// The three benchmarks verify the same RS256 token with the same key: the
// full Verifier, the bare signature check (the floor), and jwx's jwt.Parse
// with a key set (the naive path). Figures go to docs/benchmarks.md.

func benchIssuer(b *testing.B) (*testenv.Issuer, string) {
	b.Helper()
	iss := testenv.NewIssuer(b)
	claims := with(iss.Claims(), "email", "alice@example.com", "groups", []string{"sre", "admin"},
		"resource_access", map[string]any{"gatehouse-test": map[string]any{"roles": []string{"admin"}}},
		"token_use", "access", "jti", "3f1c6f0e-9a41-4e55-8f1e-1b8d4c7a2e90")
	return iss, iss.Mint(claims)
}

func BenchmarkVerifyRS256(b *testing.B) {
	iss, tok := benchIssuer(b)
	set, err := KeySetFromJWKS(iss.JWKS())
	if err != nil {
		b.Fatal(err)
	}
	v, err := New(Options{Issuers: []IssuerConfig{{URL: iss.URL(), Audiences: []string{iss.Audience()}, Keys: NewStaticKeySource(set)}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareJWSVerifyRS256(b *testing.B) {
	iss, tok := benchIssuer(b)
	pub := iss.Key("rsa-1").Public
	dot := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := jwsbb.Verify(pub, "RS256", input, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWXParse(b *testing.B) {
	iss, tok := benchIssuer(b)
	set, err := jwk.Parse(iss.JWKS())
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte(tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jwxjwt.Parse(raw, jwxjwt.WithKeySet(set), jwxjwt.WithIssuer(iss.URL()), jwxjwt.WithAudience(iss.Audience())); err != nil {
			b.Fatal(err)
		}
	}
}

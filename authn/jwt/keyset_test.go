package jwt

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// A JWKS with unusable keys: each is dropped on its own and the good keys in
// the same document keep working.
func TestJWKSHygiene(t *testing.T) {
	hmacSecret := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, fixtureOpts{issuer: []testenv.IssuerOption{
		testenv.WithKey(testenv.KeyRSA(1024), testenv.KeyID("weak")),
		testenv.WithKey(testenv.KeyOct(hmacSecret), testenv.KeyID("hmac")),
		testenv.WithKey(testenv.KeyID("enc"), testenv.KeyUse("enc")),
		testenv.WithKey(testenv.KeyID("rsa-hs"), testenv.KeyAlg("HS256")),
		testenv.WithKey(testenv.KeyID("priv"), testenv.KeyPublishPrivate()),
		testenv.WithKey(testenv.KeyID("noalg"), testenv.KeyNoAlg()),
	}})
	set := f.src.Keys()
	if got, want := set.KIDs(), []string{"rsa-1", "priv", "noalg"}; !slices.Equal(got, want) {
		t.Fatalf("usable kids %v, want %v", got, want)
	}
	problems := strings.Join(set.Problems(), "\n")
	for _, want := range []string{`"weak": dropped: `, `"hmac": dropped: symmetric`, `"enc": dropped: use "enc"`,
		`"rsa-hs": dropped: alg "HS256" does not fit`, `"priv": private key published`} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}

	iss := f.iss
	tests := []struct {
		name   string
		token  func() string
		reason gatehouse.Reason
	}{
		{"token signed with the 1024-bit key", func() string { return iss.Mint(iss.Claims(), testenv.WithKID("weak")) }, gatehouse.ReasonTokenKeyUnknown},
		{"HS256 token with the published oct key", func() string { return iss.Mint(iss.Claims(), testenv.WithKID("hmac")) }, gatehouse.ReasonTokenAlgorithm},
		{"oct-signed token claiming RS256", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("hmac"), testenv.WithHeaderAlg("RS256"))
		}, gatehouse.ReasonTokenKeyUnknown},
		{"token signed with the use:enc key", func() string { return iss.Mint(iss.Claims(), testenv.WithKID("enc")) }, gatehouse.ReasonTokenKeyUnknown},
		{"good key in the same JWKS", func() string { return iss.Mint(iss.Claims()) }, ""},
		{"private key published: its public half verifies", func() string { return iss.Mint(iss.Claims(), testenv.WithKID("priv")) }, ""},
		{"RSA key without alg allows PS256", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("noalg"), testenv.WithAlg("PS256"))
		}, ""},
		{"RSA key without alg allows RS512", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("noalg"), testenv.WithAlg("RS512"))
		}, ""},
		{"RSA key without alg does not allow ES256", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("noalg"), testenv.WithHeaderAlg("ES256"))
		}, gatehouse.ReasonTokenAlgorithm},
		{"RSA key with alg RS256 allows only RS256", func() string {
			return iss.Mint(iss.Claims(), testenv.WithAlg("RS384"))
		}, gatehouse.ReasonTokenAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := f.verify(tt.token())
			wantReason(t, id, err, tt.reason, false)
		})
	}
}

func TestKeySetFromJWKS(t *testing.T) {
	iss := testenv.NewIssuer(t)
	good := mustJSON(testenv.PublicJWK(iss.Key("rsa-1").Public, "good"))
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xJWK := mustJSON(testenv.PublicJWK(x25519.PublicKey(), "x"))
	ec := testenv.NewIssuer(t, testenv.WithEC()).Key("ec-1").Public
	ecWrongAlg := withMember(testenv.PublicJWK(ec, "ec"), "alg", "ES384")
	encOps := withMember(testenv.PublicJWK(iss.Key("rsa-1").Public, "ops"), "key_ops", []string{"encrypt"})
	verifyOps := withMember(testenv.PublicJWK(iss.Key("rsa-1").Public, "vops"), "key_ops", []string{"verify"})

	tests := []struct {
		name     string
		doc      string
		wantKIDs []string // nil: an error
	}{
		{"not JSON", `{`, nil},
		{"no keys member", `{"kids":[]}`, nil},
		{"empty key list", `{"keys":[]}`, nil},
		{"only unusable keys", `{"keys":[{"kty":"oct","k":"AAAA","kid":"o"}]}`, nil},
		{"garbage key beside a good one", `{"keys":[{"kty":"RSA","n":"!!","e":"AQAB","kid":"bad"},` + good + `,"x"]}`, []string{"good"}},
		{"unknown kty beside a good one", `{"keys":[{"kty":"XYZ","kid":"u"},` + good + `]}`, []string{"good"}},
		{"X25519 key cannot verify", `{"keys":[` + xJWK + `,` + good + `]}`, []string{"good"}},
		{"EC key whose alg does not fit its curve", `{"keys":[` + ecWrongAlg + `,` + good + `]}`, []string{"good"}},
		{"key_ops without verify", `{"keys":[` + encOps + `,` + good + `]}`, []string{"good"}},
		{"key_ops with verify", `{"keys":[` + verifyOps + `]}`, []string{"vops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := KeySetFromJWKS([]byte(tt.doc))
			if tt.wantKIDs == nil {
				if err == nil {
					t.Fatalf("accepted, kids %v", set.KIDs())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(set.KIDs(), tt.wantKIDs) {
				t.Fatalf("kids %v, want %v (problems %v)", set.KIDs(), tt.wantKIDs, set.Problems())
			}
		})
	}
}

// The embedded issuer hands its jwx keys over directly.
func TestKeySetFromKeys(t *testing.T) {
	iss := testenv.NewIssuer(t)
	priv, err := jwk.Import(iss.Key("rsa-1").Private)
	if err != nil {
		t.Fatal(err)
	}
	_ = priv.Set(jwk.KeyIDKey, "rsa-1")
	_ = priv.Set(jwk.AlgorithmKey, "RS256")
	set, err := KeySetFromKeys(priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{Issuers: []IssuerConfig{{URL: iss.URL(), Audiences: []string{iss.Audience()}, Keys: NewStaticKeySource(set)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), iss.Mint(iss.Claims())); err != nil {
		t.Fatal(err)
	}
	if _, err := KeySetFromKeys(); err == nil {
		t.Fatal("an empty key set was accepted")
	}
}

// Key rotation in-process: Replace swaps the served set.
func TestStaticKeySourceReplace(t *testing.T) {
	iss := testenv.NewIssuer(t)
	first, err := KeySetFromJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	src := NewStaticKeySource(first)
	v, err := New(Options{Issuers: []IssuerConfig{{URL: iss.URL(), Audiences: []string{iss.Audience()}, Keys: src}}})
	if err != nil {
		t.Fatal(err)
	}
	kid := iss.AddKey()
	tok := iss.Mint(iss.Claims(), testenv.WithKID(kid))
	id, err := v.Verify(t.Context(), tok)
	wantReason(t, id, err, gatehouse.ReasonTokenKeyUnknown, false)
	second, err := KeySetFromJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	src.Replace(second)
	id, err = v.Verify(t.Context(), tok)
	wantReason(t, id, err, "", false)
}

func withMember(m map[string]any, k string, v any) string {
	m[k] = v
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

package jwt

import (
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// TestVerify runs every token shape through a Verifier whose keys came from
// the test issuer over real HTTP on loopback.
func TestVerify(t *testing.T) {
	f := newFixture(t, fixtureOpts{issuer: []testenv.IssuerOption{testenv.WithEC(), testenv.WithEd25519()}})
	iss := f.iss
	rsaPub := iss.Key("rsa-1").Public

	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// An attacker's JWKS server: it must never be asked for anything.
	var attackerHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[` + mustJSON(testenv.PublicJWK(attacker, "evil")) + `]}`))
	}))
	t.Cleanup(evil.Close)

	valid := iss.Mint(iss.Claims())
	segs := strings.Split(valid, ".")

	tests := []struct {
		name     string
		token    func() string
		reason   gatehouse.Reason
		internal bool
	}{
		{"TV-01 valid RS256 token", func() string { return valid }, "", false},
		{"valid ES256 token", func() string { return iss.Mint(iss.Claims(), testenv.WithKID("ec-1")) }, "", false},
		{"valid EdDSA token", func() string { return iss.Mint(iss.Claims(), testenv.WithKID("ed-1")) }, "", false},
		{"valid token without kid tries keys allowing alg", func() string { return iss.Mint(iss.Claims(), testenv.WithoutKID()) }, "", false},
		{"aud array holding the audience", func() string {
			return iss.Mint(with(iss.Claims(), "aud", []any{"other", iss.Audience()}))
		}, "", false},
		{"expired within leeway is accepted", func() string {
			return iss.Mint(with(iss.Claims(), "exp", t0.Add(-20*time.Second).Unix()))
		}, "", false},
		{"nbf within leeway is accepted", func() string {
			return iss.Mint(with(iss.Claims(), "nbf", t0.Add(20*time.Second).Unix()))
		}, "", false},
		{"token_use access is accepted", func() string { return iss.Mint(with(iss.Claims(), "token_use", "access")) }, "", false},

		{"TV-02 wrong audience (api://default)", func() string {
			return iss.Mint(with(iss.Claims(), "aud", "api://default"))
		}, gatehouse.ReasonTokenAudience, false},
		{"TV-02 aud array without the audience", func() string {
			return iss.Mint(with(iss.Claims(), "aud", []any{"graph", "api://default"}))
		}, gatehouse.ReasonTokenAudience, false},
		{"TV-02 no aud", func() string { return iss.Mint(with(iss.Claims(), "aud", nil)) }, gatehouse.ReasonTokenAudience, false},
		{"TV-02 aud of the wrong type", func() string { return iss.Mint(with(iss.Claims(), "aud", 42)) }, gatehouse.ReasonTokenAudience, false},
		{"TV-03 token_use refresh", func() string {
			return iss.Mint(with(iss.Claims(), "token_use", "refresh"))
		}, gatehouse.ReasonTokenUse, false},
		{"TV-03 Keycloak typ Refresh", func() string {
			return iss.Mint(with(iss.Claims(), "typ", "Refresh"))
		}, gatehouse.ReasonTokenUse, false},
		{"TV-05 no exp", func() string { return iss.Mint(with(iss.Claims(), "exp", nil)) }, gatehouse.ReasonTokenNoExpiry, false},
		{"TV-05 exp not a number", func() string {
			return iss.Mint(with(iss.Claims(), "exp", "2099-01-01"))
		}, gatehouse.ReasonTokenNoExpiry, false},
		{"TV-05 alg outside the key's allow-list (PS256 with an RS256 key)", func() string {
			return iss.Mint(iss.Claims(), testenv.WithAlg("PS256"))
		}, gatehouse.ReasonTokenAlgorithm, false},
		{"TV-05 alg outside the key's allow-list (RS256 claimed for the EC key)", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("ec-1"), testenv.WithHeaderAlg("RS256"))
		}, gatehouse.ReasonTokenAlgorithm, false},
		{"TV-05 alg none", func() string { return iss.Mint(iss.Claims(), testenv.WithAlg("none")) }, gatehouse.ReasonTokenAlgorithm, false},
		{"TV-05 alg None", func() string { return iss.Mint(iss.Claims(), testenv.WithAlg("None")) }, gatehouse.ReasonTokenAlgorithm, false},
		{"TV-05 alg none with a signature appended", func() string {
			return iss.Mint(iss.Claims(), testenv.WithAlg("none")) + segs[2]
		}, gatehouse.ReasonTokenAlgorithm, false},
		{"TV-05 nbf in the future", func() string {
			return iss.Mint(with(iss.Claims(), "nbf", t0.Add(2*time.Minute).Unix()))
		}, gatehouse.ReasonTokenNotYetValid, false},
		{"nbf not a number", func() string { return iss.Mint(with(iss.Claims(), "nbf", "soon")) }, gatehouse.ReasonTokenMalformed, false},
		{"expired beyond leeway", func() string {
			return iss.Mint(with(iss.Claims(), "exp", t0.Add(-time.Minute).Unix()))
		}, gatehouse.ReasonTokenExpired, false},
		{"bad signature", func() string { return testenv.CorruptSignature(valid) }, gatehouse.ReasonTokenSignature, false},
		{"empty signature", func() string { return segs[0] + "." + segs[1] + "." }, gatehouse.ReasonTokenSignature, false},
		{"tampered payload", func() string {
			return testenv.ReplacePayload(valid, with(iss.Claims(), "sub", "admin"))
		}, gatehouse.ReasonTokenSignature, false},
		{"signed by an unpublished key under a published kid", func() string {
			return iss.Mint(iss.Claims(), testenv.WithSigningKey(attacker))
		}, gatehouse.ReasonTokenSignature, false},
		{"wrong iss", func() string {
			return iss.Mint(with(iss.Claims(), "iss", "https://evil.example"))
		}, gatehouse.ReasonTokenIssuer, false},
		{"iss with a trailing slash is another issuer", func() string {
			return iss.Mint(with(iss.Claims(), "iss", iss.URL()+"/"))
		}, gatehouse.ReasonTokenIssuer, false},
		{"no iss", func() string { return iss.Mint(with(iss.Claims(), "iss", nil)) }, gatehouse.ReasonTokenIssuer, false},
		{"HS256 signed with the RSA public key PEM", func() string {
			return iss.Mint(iss.Claims(), testenv.WithAlg("HS256"), testenv.WithSigningKey(testenv.PublicKeyPEM(rsaPub)))
		}, gatehouse.ReasonTokenAlgorithm, false},
		{"HS256 signed with the RSA public key DER", func() string {
			return iss.Mint(iss.Claims(), testenv.WithAlg("HS256"), testenv.WithSigningKey(testenv.PublicKeyDER(rsaPub)))
		}, gatehouse.ReasonTokenAlgorithm, false},
		{"lower-case rs256", func() string {
			return iss.Mint(iss.Claims(), testenv.WithHeaderAlg("rs256"))
		}, gatehouse.ReasonTokenAlgorithm, false},
		{"missing alg", func() string {
			return iss.Mint(iss.Claims(), testenv.WithHeader("alg", nil))
		}, gatehouse.ReasonTokenAlgorithm, false},
		{"unknown kid", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("nope"))
		}, gatehouse.ReasonTokenKeyUnknown, false},
		{"jku header pointing to an attacker JWKS is ignored", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("evil"), testenv.WithSigningKey(attacker),
				testenv.WithHeader("jku", evil.URL))
		}, gatehouse.ReasonTokenKeyUnknown, false},
		{"x5u header pointing to an attacker is ignored", func() string {
			return iss.Mint(iss.Claims(), testenv.WithKID("evil"), testenv.WithSigningKey(attacker),
				testenv.WithHeader("x5u", evil.URL))
		}, gatehouse.ReasonTokenKeyUnknown, false},
		{"embedded jwk header with the attacker key is ignored", func() string {
			return iss.Mint(iss.Claims(), testenv.WithSigningKey(attacker),
				testenv.WithHeader("jwk", testenv.PublicJWK(attacker, "rsa-1")))
		}, gatehouse.ReasonTokenSignature, false},
		{"embedded jwk header without kid is ignored", func() string {
			return iss.Mint(iss.Claims(), testenv.WithoutKID(), testenv.WithSigningKey(attacker),
				testenv.WithHeader("jwk", testenv.PublicJWK(attacker, "")))
		}, gatehouse.ReasonTokenSignature, false},
		{"x5c header is ignored", func() string {
			return iss.Mint(iss.Claims(), testenv.WithSigningKey(attacker),
				testenv.WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(testenv.PublicKeyDER(&attacker.PublicKey))}))
		}, gatehouse.ReasonTokenSignature, false},
		{"unknown crit header", func() string {
			return iss.Mint(iss.Claims(), testenv.WithHeader("crit", []string{"http://example.com/x"}), testenv.WithHeader("http://example.com/x", true))
		}, gatehouse.ReasonTokenCritical, false},
		{"crit naming a registered header", func() string {
			return iss.Mint(iss.Claims(), testenv.WithHeader("crit", []string{"exp"}))
		}, gatehouse.ReasonTokenCritical, false},
		{"empty crit", func() string { return iss.Mint(iss.Claims(), testenv.WithHeader("crit", []string{})) }, gatehouse.ReasonTokenCritical, false},
		{"b64 false", func() string {
			return iss.Mint(iss.Claims(), testenv.WithHeader("b64", false), testenv.WithHeader("crit", nil))
		}, gatehouse.ReasonTokenCritical, false},
		{"JSON serialization", func() string { return testenv.JSONSerialization(valid) }, gatehouse.ReasonTokenMalformed, false},
		{"padded base64", func() string { return pad(segs[0]) + "." + pad(segs[1]) + "." + pad(segs[2]) }, gatehouse.ReasonTokenMalformed, false},
		{"standard base64 alphabet", func() string {
			return strings.NewReplacer("-", "+", "_", "/").Replace(valid)
		}, gatehouse.ReasonTokenMalformed, false},
		{"two segments", func() string { return segs[0] + "." + segs[1] }, gatehouse.ReasonTokenMalformed, false},
		{"four segments", func() string { return valid + "." + segs[2] }, gatehouse.ReasonTokenMalformed, false},
		{"five segments (JWE shape)", func() string { return segs[0] + "..." + segs[1] + "." + segs[2] }, gatehouse.ReasonTokenMalformed, false},
		{"line break inside", func() string { return segs[0] + ".\n" + segs[1] + "." + segs[2] }, gatehouse.ReasonTokenMalformed, false},
		{"space inside", func() string { return segs[0] + ". " + segs[1] + "." + segs[2] }, gatehouse.ReasonTokenMalformed, false},
		{"empty token", func() string { return "" }, gatehouse.ReasonTokenMalformed, false},
		{"empty header segment", func() string { return "." + segs[1] + "." + segs[2] }, gatehouse.ReasonTokenMalformed, false},
		{"oversized token", func() string { return strings.Repeat("a", MaxTokenBytes+1) }, gatehouse.ReasonTokenMalformed, false},
		{"header is not an object", func() string {
			return b64url(`["RS256"]`) + "." + segs[1] + "." + segs[2]
		}, gatehouse.ReasonTokenMalformed, false},
		{"header null", func() string { return b64url(`null`) + "." + segs[1] + "." + segs[2] }, gatehouse.ReasonTokenMalformed, false},
		{"payload null", func() string {
			return iss.Mint(nil, testenv.WithRawPayload([]byte("null")))
		}, gatehouse.ReasonTokenMalformed, false},
		{"payload not JSON", func() string {
			return iss.Mint(nil, testenv.WithRawPayload([]byte("hello")))
		}, gatehouse.ReasonTokenMalformed, false},
		{"sub not a string", func() string { return iss.Mint(with(iss.Claims(), "sub", 7)) }, gatehouse.ReasonTokenMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := f.verify(tt.token())
			wantReason(t, id, err, tt.reason, tt.internal)
		})
	}
	if n := attackerHits.Load(); n != 0 {
		t.Fatalf("the attacker's server was asked %d times", n)
	}
}

// TV-01: the identity carries what the policy needs, and nothing invented.
func TestVerifyIdentity(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	claims := with(f.iss.Claims(), "groups", []any{"SRE"}, "email", "alice@example.com")
	id, err := f.verify(f.iss.Mint(claims))
	if err != nil {
		t.Fatal(err)
	}
	if id.Kind != gatehouse.KindUser || id.Subject != "user-1" || id.Issuer != f.iss.URL() {
		t.Fatalf("identity %+v", id)
	}
	if !id.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ExpiresAt %v, want %v", id.ExpiresAt, t0.Add(time.Hour))
	}
	if id.Claims["preferred_username"] != "alice" || id.Claims["email"] != "alice@example.com" {
		t.Fatalf("claims %v", id.Claims)
	}
	if len(id.Groups) != 0 || len(id.Permissions) != 0 {
		t.Fatal("JWT identities leave group mapping to the policy")
	}
}

func TestVerifyOtherSchemes(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	_, err := f.v.Authenticate(t.Context(), gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: f.iss.Mint(f.iss.Claims())}, nil)
	wantReason(t, nil, err, gatehouse.ReasonCredentialUnsupported, false)
}

func TestVerifyNarrowedAlgs(t *testing.T) {
	f := newFixture(t, fixtureOpts{
		issuer:   []testenv.IssuerOption{testenv.WithEC()},
		verifier: func(o *Options) { o.AllowedAlgs = []string{"ES256"} },
	})
	id, err := f.verify(f.iss.Mint(f.iss.Claims(), testenv.WithKID("ec-1")))
	wantReason(t, id, err, "", false)
	id, err = f.verify(f.iss.Mint(f.iss.Claims()))
	wantReason(t, id, err, gatehouse.ReasonTokenAlgorithm, false)
}

func TestVerifyLeewayOptions(t *testing.T) {
	tests := []struct {
		name   string
		leeway time.Duration
		expAgo time.Duration
		reason gatehouse.Reason
	}{
		{"default leeway accepts 29s late", 0, 29 * time.Second, ""},
		{"default leeway refuses 31s late", 0, 31 * time.Second, gatehouse.ReasonTokenExpired},
		{"negative means none", -1, time.Second, gatehouse.ReasonTokenExpired},
		{"custom leeway", 2 * time.Minute, 90 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{verifier: func(o *Options) { o.Leeway = tt.leeway }})
			id, err := f.verify(f.iss.Mint(with(f.iss.Claims(), "exp", t0.Add(-tt.expAgo).Unix())))
			wantReason(t, id, err, tt.reason, false)
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	keys := NewStaticKeySource(nil)
	ok := IssuerConfig{URL: "https://idp.example", Audiences: []string{"gatehouse"}, Keys: keys}
	tests := []struct {
		name string
		opts Options
	}{
		{"no issuer", Options{}},
		{"alg none", Options{Issuers: []IssuerConfig{ok}, AllowedAlgs: []string{"none"}}},
		{"HS256", Options{Issuers: []IssuerConfig{ok}, AllowedAlgs: []string{"RS256", "HS256"}}},
		{"unknown alg", Options{Issuers: []IssuerConfig{ok}, AllowedAlgs: []string{"rs256"}}},
		{"empty URL", Options{Issuers: []IssuerConfig{{Audiences: []string{"a"}, Keys: keys}}}},
		{"no audience", Options{Issuers: []IssuerConfig{{URL: "https://x", Keys: keys}}}},
		{"empty audience", Options{Issuers: []IssuerConfig{{URL: "https://x", Audiences: []string{""}, Keys: keys}}}},
		{"no keys", Options{Issuers: []IssuerConfig{{URL: "https://x", Audiences: []string{"a"}}}}},
		{"duplicate issuer", Options{Issuers: []IssuerConfig{ok, ok}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Fatal("New accepted bad options")
			}
		})
	}
	if _, err := New(Options{Issuers: []IssuerConfig{ok}}); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
}

// Keys never loaded: the Verifier cannot decide, which is a 503, not a 401.
func TestVerifyKeysUnavailable(t *testing.T) {
	f := newFixture(t, fixtureOpts{noLoad: true})
	id, err := f.verify(f.iss.Mint(f.iss.Claims()))
	wantReason(t, id, err, gatehouse.ReasonKeysUnavailable, true)
}

// Two issuers, each token verified against its own keys and audiences only.
func TestVerifyMultipleIssuers(t *testing.T) {
	a := testenv.NewIssuer(t, testenv.WithAudience("aud-a"))
	b := testenv.NewIssuer(t, testenv.WithAudience("aud-b"), testenv.WithIssuerPath("/realms/b"))
	setA, err := KeySetFromJWKS(a.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	setB, err := KeySetFromJWKS(b.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{Issuers: []IssuerConfig{
		{URL: a.URL(), Audiences: []string{"aud-a"}, Keys: NewStaticKeySource(setA)},
		{URL: b.URL(), Audiences: []string{"aud-b"}, Keys: NewStaticKeySource(setB)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		token  string
		reason gatehouse.Reason
	}{
		{"issuer a", a.Mint(a.Claims()), ""},
		{"issuer b", b.Mint(b.Claims()), ""},
		{"a's iss signed by b's key (same kid)", b.Mint(with(b.Claims(), "iss", a.URL(), "aud", "aud-a")), gatehouse.ReasonTokenSignature},
		{"b's audience on a's token", a.Mint(with(a.Claims(), "aud", "aud-b")), gatehouse.ReasonTokenAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tt.token)
			wantReason(t, id, err, tt.reason, false)
		})
	}
}

// An EC key on P-384 allows exactly ES384; P-256 and P-521 likewise.
func TestVerifyECCurves(t *testing.T) {
	f := newFixture(t, fixtureOpts{issuer: []testenv.IssuerOption{
		testenv.WithKey(testenv.KeyEC(elliptic.P384()), testenv.KeyID("p384"), testenv.KeyNoAlg()),
		testenv.WithKey(testenv.KeyEC(elliptic.P521()), testenv.KeyID("p521"), testenv.KeyNoAlg()),
	}})
	tests := []struct {
		name   string
		opts   []testenv.MintOption
		reason gatehouse.Reason
	}{
		{"ES384 on P-384", []testenv.MintOption{testenv.WithKID("p384")}, ""},
		{"ES512 on P-521", []testenv.MintOption{testenv.WithKID("p521")}, ""},
		{"ES256 claimed on P-384", []testenv.MintOption{testenv.WithKID("p384"), testenv.WithHeaderAlg("ES256")}, gatehouse.ReasonTokenAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := f.verify(f.iss.Mint(f.iss.Claims(), tt.opts...))
			wantReason(t, id, err, tt.reason, false)
		})
	}
}

func pad(s string) string {
	for len(s)%4 != 0 {
		s += "="
	}
	return s
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestHeaderCache: a cached header spares decoding, never a check. Tokens
// sharing a verified token's header are still refused for a bad signature or
// a disallowed alg, a header is cached only once its token verified, and
// the cache stays bounded.
func TestHeaderCache(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	valid := f.iss.Mint(f.iss.Claims())
	segs := strings.Split(valid, ".")
	rawHeader, err := base64.RawURLEncoding.DecodeString(segs[0])
	if err != nil {
		t.Fatal(err)
	}

	// A forged signature under a header nobody verified yet: refused, not cached.
	forged := segs[0] + "." + segs[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 256))
	id, err := f.verify(forged)
	wantReason(t, id, err, gatehouse.ReasonTokenSignature, false)
	if _, ok := f.v.headers.get(rawHeader); ok {
		t.Fatal("the header of a token that failed verification was cached")
	}

	if _, err := f.verify(valid); err != nil {
		t.Fatal(err)
	}
	if h, ok := f.v.headers.get(rawHeader); !ok || h.Alg != "RS256" || h.Kid != "rsa-1" {
		t.Fatalf("verified token's header cached as %+v, %v", h, ok)
	}
	id, err = f.verify(forged)
	wantReason(t, id, err, gatehouse.ReasonTokenSignature, false)

	// The allow-list is applied to cached headers too.
	narrowed, err := New(Options{
		Issuers:     []IssuerConfig{{URL: f.iss.URL(), Audiences: []string{f.iss.Audience()}, Keys: f.src}},
		AllowedAlgs: []string{"ES256"},
		Now:         f.clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	narrowed.headers.add(rawHeader, header{Alg: "RS256", Kid: "rsa-1"})
	id, err = narrowed.Verify(context.Background(), valid)
	wantReason(t, id, err, gatehouse.ReasonTokenAlgorithm, false)

	var c headerCache
	for i := range 3 * maxCachedHeaders {
		c.add([]byte(fmt.Sprintf(`{"alg":"RS256","kid":"k%d"}`, i)), header{Alg: "RS256"})
		if n := len(*c.m.Load()); n > maxCachedHeaders {
			t.Fatalf("%d headers cached, bound is %d", n, maxCachedHeaders)
		}
	}
}

// TestRSAAlgorithms: RS256/384/512 are verified with the key prepared once
// (internal/rsapkcs1), PS256 through jwx; every one accepts its own valid
// token and refuses it with one signature bit flipped or under another RS
// algorithm's name.
func TestRSAAlgorithms(t *testing.T) {
	// A key that names no alg allows the whole RSA family.
	f := newFixture(t, fixtureOpts{issuer: []testenv.IssuerOption{testenv.WithKey(testenv.KeyRSA(3072), testenv.KeyID("rsa-any"), testenv.KeyNoAlg())}})
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			tok := f.iss.Mint(f.iss.Claims(), testenv.WithKID("rsa-any"), testenv.WithAlg(alg))
			if _, err := f.verify(tok); err != nil {
				t.Fatalf("valid %s token: %v", alg, err)
			}
			segs := strings.Split(tok, ".")
			sig, err := base64.RawURLEncoding.DecodeString(segs[2])
			if err != nil {
				t.Fatal(err)
			}
			sig[len(sig)/2] ^= 0x10
			id, err := f.verify(segs[0] + "." + segs[1] + "." + base64.RawURLEncoding.EncodeToString(sig))
			wantReason(t, id, err, gatehouse.ReasonTokenSignature, false)
			other := map[string]string{"RS256": "RS384", "RS384": "RS512", "RS512": "RS256", "PS256": "RS256"}[alg]
			id, err = f.verify(f.iss.Mint(f.iss.Claims(), testenv.WithKID("rsa-any"), testenv.WithAlg(alg), testenv.WithHeaderAlg(other)))
			wantReason(t, id, err, gatehouse.ReasonTokenSignature, false)
		})
	}
}

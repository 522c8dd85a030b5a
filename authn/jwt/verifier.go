package jwt

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/jws"
)

// DefaultAllowedAlgs returns the asymmetric signature algorithms accepted
// unless Options.AllowedAlgs narrows them. It is a function, not a variable,
// so no caller can widen the list for everyone.
func DefaultAllowedAlgs() []string {
	return []string{
		"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512", "EdDSA", "Ed25519",
	}
}

// DefaultLeeway is the clock skew tolerated on exp and nbf.
const DefaultLeeway = 30 * time.Second

// IssuerConfig is one trusted issuer.
type IssuerConfig struct {
	// URL is the exact iss value of its tokens.
	URL string
	// Audiences lists accepted aud values; a token must carry one of them.
	Audiences []string
	// Keys supplies the issuer's verification keys.
	Keys KeySource
}

// Options configures a Verifier.
type Options struct {
	Issuers []IssuerConfig
	// Leeway is the clock skew tolerated on exp and nbf: zero means
	// DefaultLeeway, a negative value none.
	Leeway time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// AllowedAlgs narrows DefaultAllowedAlgs(). Only names from that list may
	// appear: "none" and HMAC algorithms are refused at construction,
	// because an HMAC "public" key is no key at all.
	AllowedAlgs []string
	Logger      *slog.Logger
}

type issuer struct {
	url  string
	auds []string
	keys KeySource
}

// Verifier verifies bearer JWT access tokens. It is safe for concurrent use.
type Verifier struct {
	issuers map[string]*issuer
	allowed []string
	leeway  time.Duration
	now     func() time.Time
	log     *slog.Logger
	headers headerCache
}

var _ gatehouse.Authenticator = (*Verifier)(nil)

// New checks opts and builds a Verifier.
func New(opts Options) (*Verifier, error) {
	v := &Verifier{
		issuers: map[string]*issuer{},
		leeway:  opts.Leeway,
		now:     opts.Now,
		log:     opts.Logger,
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	defaults := DefaultAllowedAlgs()
	if len(opts.AllowedAlgs) == 0 {
		v.allowed = defaults
	}
	for _, a := range opts.AllowedAlgs {
		if !slices.Contains(defaults, a) {
			return nil, fmt.Errorf("jwt: algorithm %q may not be allowed (allowed are %v)", a, defaults)
		}
		v.allowed = append(v.allowed, a)
	}
	if len(opts.Issuers) == 0 {
		return nil, errors.New("jwt: no trusted issuer")
	}
	for _, ic := range opts.Issuers {
		switch {
		case ic.URL == "":
			return nil, errors.New("jwt: issuer with an empty URL")
		case len(ic.Audiences) == 0 || slices.Contains(ic.Audiences, ""):
			return nil, fmt.Errorf("jwt: issuer %q: audiences must be non-empty", ic.URL)
		case ic.Keys == nil:
			return nil, fmt.Errorf("jwt: issuer %q: no key source", ic.URL)
		case v.issuers[ic.URL] != nil:
			return nil, fmt.Errorf("jwt: issuer %q configured twice", ic.URL)
		}
		v.issuers[ic.URL] = &issuer{url: ic.URL, auds: slices.Clone(ic.Audiences), keys: ic.Keys}
	}
	return v, nil
}

// Authenticate verifies a Bearer credential.
func (v *Verifier) Authenticate(ctx context.Context, cred gatehouse.Credential, _ *gatehouse.Request) (*gatehouse.Identity, error) {
	if cred.Scheme != gatehouse.SchemeBearer {
		return nil, gatehouse.Refuse(gatehouse.ReasonCredentialUnsupported, "jwt: scheme %q is not bearer", cred.Scheme)
	}
	return v.Verify(ctx, cred.Value)
}

// Verify verifies a compact JWT and returns the identity it proves. Errors are
// *gatehouse.AuthError: a refusal with a TOKEN_* reason, or KEYS_UNAVAILABLE
// (Internal) when the issuer's keys are not loaded. Error details name kid,
// alg and iss, never the token.
func (v *Verifier) Verify(ctx context.Context, token string) (*gatehouse.Identity, error) {
	if len(token) == 0 {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "jwt: empty token")
	}
	if len(token) > MaxTokenBytes {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "jwt: token of %d bytes exceeds %d", len(token), MaxTokenBytes)
	}
	tok, err := jws.Parse(token)
	if err != nil {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "jwt: %w", err)
	}
	hdr, knownHeader := v.headers.get(tok.Header)
	if !knownHeader {
		if hdr, err = decodeHeader(tok.Header); err != nil {
			return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "jwt: %w", err)
		}
	}
	// Exact, case-sensitive names: "none", "None", "HS256" and "rs256" are
	// all outside the list.
	if !slices.Contains(v.allowed, hdr.Alg) {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenAlgorithm, "jwt: alg %s not allowed", clip(hdr.Alg))
	}
	if len(hdr.Crit) > 0 {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenCritical, "jwt: crit header present: %s", clip(string(hdr.Crit)))
	}
	if hdr.B64 != nil && !*hdr.B64 {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenCritical, "jwt: unencoded payload (b64:false) not supported")
	}
	claims, err := decodeClaims(tok.Payload)
	if err != nil {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "jwt: %w", err)
	}
	issValue, _ := claims["iss"].(string)
	iss := v.issuers[issValue]
	if iss == nil {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenIssuer, "jwt: issuer %s not trusted", clip(issValue))
	}

	keys, aerr := v.candidates(ctx, iss, hdr)
	if aerr != nil {
		return nil, aerr
	}
	if !verifyAny(keys, hdr.Alg, tok) {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenSignature, "jwt: signature invalid (iss %s, kid %s, alg %s)", clip(iss.url), clip(hdr.Kid), hdr.Alg)
	}
	if !knownHeader {
		v.headers.add(tok.Header, hdr)
	}
	return v.identity(iss, claims)
}

// candidates returns the keys that may verify this token: by kid, or, with
// no kid, every key allowing alg. A kid missing from the current set gets
// one (rate-limited) refresh before the token is refused.
func (v *Verifier) candidates(ctx context.Context, iss *issuer, hdr header) ([]*verifyKey, *gatehouse.AuthError) {
	set := iss.keys.Keys()
	if set == nil {
		return nil, gatehouse.Unavailable(gatehouse.ReasonKeysUnavailable, fmt.Errorf("jwt: no keys loaded for issuer %q", iss.url))
	}
	if hdr.Kid == "" {
		var out []*verifyKey
		for _, k := range set.keys {
			if k.allows(hdr.Alg) {
				out = append(out, k)
			}
		}
		if len(out) == 0 {
			return nil, gatehouse.Refuse(gatehouse.ReasonTokenAlgorithm, "jwt: no key of issuer %q allows alg %s", iss.url, hdr.Alg)
		}
		return out, nil
	}
	byKID := set.lookup(hdr.Kid)
	if len(byKID) == 0 {
		if fresh := iss.keys.RefreshUnknownKID(ctx); fresh != nil {
			byKID = fresh.lookup(hdr.Kid)
		}
		if len(byKID) == 0 {
			return nil, gatehouse.Refuse(gatehouse.ReasonTokenKeyUnknown, "jwt: kid %s unknown for issuer %q", clip(hdr.Kid), iss.url)
		}
		v.log.DebugContext(ctx, "jwt: kid found after refresh", "issuer", iss.url, "kid", hdr.Kid)
	}
	var out []*verifyKey
	for _, k := range byKID {
		// The key's own allow-list is what stops a token signed with HMAC
		// over the RSA public key, or RS256 claimed for an EC key.
		if k.allows(hdr.Alg) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenAlgorithm, "jwt: key %s does not allow alg %s", clip(hdr.Kid), hdr.Alg)
	}
	return out, nil
}

func verifyAny(keys []*verifyKey, alg string, tok jws.Compact) bool {
	if len(tok.Signature) == 0 {
		return false
	}
	input := []byte(tok.SigningInput)
	h := pkcs1Hash(alg)
	var hashed []byte // the RS* digest, computed once for every candidate key
	for _, k := range keys {
		if k.rsa != nil && h != 0 {
			if hashed == nil {
				hashed = pkcs1Digest(h, input)
			}
			if k.rsa.Verify(h, hashed, tok.Signature) == nil {
				return true
			}
			continue
		}
		if jwsbb.Verify(k.pub, alg, input, tok.Signature) == nil {
			return true
		}
	}
	return false
}

func pkcs1Digest(h crypto.Hash, input []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(input)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(input)
		return d[:]
	default:
		d := sha512.Sum512(input)
		return d[:]
	}
}

// pkcs1Hash is the hash of an RSASSA-PKCS1-v1_5 JWS algorithm, 0 for the
// others (PS*, ES*, EdDSA go through jwx).
func pkcs1Hash(alg string) crypto.Hash {
	switch alg {
	case "RS256":
		return crypto.SHA256
	case "RS384":
		return crypto.SHA384
	case "RS512":
		return crypto.SHA512
	}
	return 0
}

// clip quotes an attacker-controlled value for a log line, bounded.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}

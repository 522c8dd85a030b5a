package testenv

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// MintOption shapes one token made by Issuer.Mint.
type MintOption func(*mintSpec)

type mintSpec struct {
	kid       *string // nil: the default key's kid
	noKID     bool
	alg       string // header and signing alg
	headerAlg string // header only
	header    map[string]any
	signKey   any
	payload   []byte
}

// WithKID signs with the issuer's key kid and names it in the header. A kid
// the issuer does not hold is only named: the default key signs.
func WithKID(kid string) MintOption { return func(s *mintSpec) { s.kid = &kid } }

// WithoutKID leaves kid out of the header.
func WithoutKID() MintOption { return func(s *mintSpec) { s.noKID = true } }

// WithAlg sets the header alg and signs with it; "none" (any case) yields an
// empty signature.
func WithAlg(alg string) MintOption { return func(s *mintSpec) { s.alg = alg } }

// WithHeaderAlg writes alg in the header but signs with the key's own
// algorithm ("rs256" over an RS256 signature).
func WithHeaderAlg(alg string) MintOption { return func(s *mintSpec) { s.headerAlg = alg } }

// WithHeader sets one header field; a nil value removes it.
func WithHeader(name string, value any) MintOption {
	return func(s *mintSpec) {
		if s.header == nil {
			s.header = map[string]any{}
		}
		s.header[name] = value
	}
}

// WithSigningKey signs with key (a crypto.Signer, or []byte for HS*)
// instead of the issuer's key.
func WithSigningKey(key any) MintOption { return func(s *mintSpec) { s.signKey = key } }

// WithRawPayload signs these exact bytes as the payload (claims are ignored).
func WithRawPayload(p []byte) MintOption { return func(s *mintSpec) { s.payload = p } }

// Claims returns a fresh set of valid access-token claims for this issuer:
// iss, aud, sub, iat and exp one hour from the issuer's clock.
func (i *Issuer) Claims() map[string]any {
	now := i.cfg.now()
	return map[string]any{
		"iss":                i.url,
		"aud":                i.cfg.audience,
		"sub":                "user-1",
		"preferred_username": "alice",
		"iat":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
	}
}

// Mint signs claims as a compact JWS. Call it from the test goroutine.
func (i *Issuer) Mint(claims map[string]any, opts ...MintOption) string {
	i.t.Helper()
	var spec mintSpec
	for _, o := range opts {
		o(&spec)
	}

	i.mu.Lock()
	key := i.keys[0]
	if spec.kid != nil {
		if k := i.keyLocked(*spec.kid); k != nil {
			key = k
		}
	}
	i.mu.Unlock()

	alg := key.Alg
	if spec.alg != "" {
		alg = spec.alg
	}
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if spec.headerAlg != "" {
		hdr["alg"] = spec.headerAlg
	}
	switch {
	case spec.noKID:
	case spec.kid != nil:
		hdr["kid"] = *spec.kid
	default:
		hdr["kid"] = key.KID
	}
	for name, v := range spec.header {
		if v == nil {
			delete(hdr, name)
		} else {
			hdr[name] = v
		}
	}

	payload := spec.payload
	if payload == nil {
		var err error
		if payload, err = json.Marshal(maps.Clone(claims)); err != nil {
			i.t.Fatalf("testenv: encode claims: %v", err)
		}
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		i.t.Fatalf("testenv: encode header: %v", err)
	}
	input := b64(h) + "." + b64(payload)
	if strings.EqualFold(alg, "none") {
		return input + "."
	}
	signKey := key.Private
	if spec.signKey != nil {
		signKey = spec.signKey
	}
	sig, err := jwsbb.Sign(signKey, alg, []byte(input), nil)
	if err != nil {
		i.t.Fatalf("testenv: sign %s: %v", alg, err)
	}
	return input + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ReplacePayload swaps a token's payload for claims, keeping header and
// signature: a tampered token.
func ReplacePayload(token string, claims map[string]any) string {
	parts := strings.Split(token, ".")
	p, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	parts[1] = b64(p)
	return strings.Join(parts, ".")
}

// CorruptSignature flips one bit in the middle of a token's signature.
func CorruptSignature(token string) string {
	dot := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
	if err != nil || len(sig) == 0 {
		panic("testenv: CorruptSignature: token has no signature")
	}
	sig[len(sig)/2] ^= 0x01
	return token[:dot+1] + b64(sig)
}

// JSONSerialization rewrites a compact token in the flattened JWS JSON
// serialization, which access tokens must never use.
func JSONSerialization(token string) string {
	parts := strings.Split(token, ".")
	b, _ := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
	return string(b)
}

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

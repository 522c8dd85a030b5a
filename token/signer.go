package token

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Signer signs JWTs with one private key and publishes its public half.
type Signer struct {
	key  jwk.Key
	kid  string
	alg  jwa.SignatureAlgorithm
	jwks []byte
}

// NewSigner wraps a private JWK that carries a kid and an alg.
func NewSigner(key jwk.Key) (*Signer, error) {
	kid, ok := key.KeyID()
	if !ok || kid == "" {
		return nil, fmt.Errorf("token: signing key has no kid")
	}
	algv, ok := key.Algorithm()
	if !ok {
		return nil, fmt.Errorf("token: signing key has no alg")
	}
	alg, ok := jwa.LookupSignatureAlgorithm(algv.String())
	if !ok {
		return nil, fmt.Errorf("token: signing key alg %q is not a signature algorithm", algv.String())
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("token: public key: %w", err)
	}
	if err := pub.Set(jwk.KeyUsageKey, "sig"); err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encode JWKS: %w", err)
	}
	return &Signer{key: key, kid: kid, alg: alg, jwks: jwks}, nil
}

// KeyID is the kid of the signing key.
func (s *Signer) KeyID() string { return s.kid }

// JWKS is the public key set document, ready to serve.
func (s *Signer) JWKS() []byte { return s.jwks }

// Sign signs claims as a compact JWS with header typ (e.g. "at+jwt").
func (s *Signer) Sign(claims map[string]any, typ string) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, s.kid); err != nil {
		return "", err
	}
	if typ != "" {
		if err := hdr.Set(jws.TypeKey, typ); err != nil {
			return "", err
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(s.alg, s.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return string(out), nil
}

// AccessClaims are the claims of an access token minted by Gatehouse.
type AccessClaims struct {
	Issuer   string
	Audience string
	Subject  string
	// Username becomes preferred_username; empty means Subject.
	Username string
	Email    string
	Groups   []string
	TTL      time.Duration
	Now      time.Time
	Extra    map[string]any
}

// MintAccess signs an RFC 9068 access token (typ at+jwt) with token_use access.
func (s *Signer) MintAccess(c AccessClaims) (string, error) {
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	claims := map[string]any{}
	for k, v := range c.Extra {
		claims[k] = v
	}
	username := c.Username
	if username == "" {
		username = c.Subject
	}
	groups := c.Groups
	if groups == nil {
		groups = []string{}
	}
	claims["iss"] = c.Issuer
	claims["aud"] = c.Audience
	claims["sub"] = c.Subject
	claims["preferred_username"] = username
	claims["groups"] = groups
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(c.TTL).Unix()
	claims["token_use"] = "access"
	if c.Email != "" {
		claims["email"] = c.Email
	}
	return s.Sign(claims, "at+jwt")
}

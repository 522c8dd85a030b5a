package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse/internal/rsapkcs1"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// MinRSABits is the smallest RSA modulus a key set accepts.
const MinRSABits = 2048

var (
	rsaAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	edAlgs  = []string{"EdDSA", "Ed25519"}
)

// verifyKey is one usable public key: converted to its raw form once, with
// the algorithms it may verify.
type verifyKey struct {
	kid  string
	algs []string
	pub  crypto.PublicKey
	// rsa is pub prepared once for RS256/384/512 (internal/rsapkcs1);
	// nil for other key types.
	rsa *rsapkcs1.PublicKey
}

func (k *verifyKey) allows(alg string) bool { return slices.Contains(k.algs, alg) }

// KeySet is an immutable snapshot of an issuer's usable verification keys,
// built once per fetch. It is safe for concurrent use.
type KeySet struct {
	keys     []*verifyKey
	byKID    map[string][]*verifyKey
	problems []string
}

// Len is the number of usable keys.
func (s *KeySet) Len() int { return len(s.keys) }

// KIDs lists the kids of the usable keys, in document order.
func (s *KeySet) KIDs() []string {
	out := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k.kid)
	}
	return out
}

// Problems lists what was dropped or odd in the source document, one line a
// key, for the log ("kid \"x\": dropped: symmetric (oct) key").
func (s *KeySet) Problems() []string { return slices.Clone(s.problems) }

// lookup returns the keys published under kid.
func (s *KeySet) lookup(kid string) []*verifyKey { return s.byKID[kid] }

// KeySetFromJWKS builds a key set from a JWKS document. Each key is parsed on
// its own, so one unusable key never makes the others unusable; unusable keys
// are dropped and listed in Problems. It fails when the document is not a
// JWKS or holds no usable key (a remote source then keeps its last good set).
func KeySetFromJWKS(doc []byte) (*KeySet, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("jwks: decode: %w", err)
	}
	if raw.Keys == nil {
		return nil, errors.New("jwks: no \"keys\" member")
	}
	b := newBuilder()
	for i, rk := range raw.Keys {
		k, err := jwk.ParseKey(rk)
		if err != nil {
			// Name the key by its kid when the member is readable.
			var named struct {
				Kid string `json:"kid"`
			}
			if json.Unmarshal(rk, &named) == nil && named.Kid != "" {
				b.problem(fmt.Sprintf("kid %q: dropped: %v", named.Kid, err))
			} else {
				b.problem(fmt.Sprintf("key #%d: dropped: %v", i, err))
			}
			continue
		}
		b.add(k)
	}
	return b.build()
}

// KeySetFromKeys builds a key set from jwx keys (public or private: only the
// public half is kept), for an issuer that lives in-process.
func KeySetFromKeys(keys ...jwk.Key) (*KeySet, error) {
	b := newBuilder()
	for _, k := range keys {
		b.add(k)
	}
	return b.build()
}

type builder struct{ set *KeySet }

func newBuilder() *builder {
	return &builder{set: &KeySet{byKID: map[string][]*verifyKey{}}}
}

func (b *builder) problem(p string) { b.set.problems = append(b.set.problems, p) }

func (b *builder) add(k jwk.Key) {
	kid, _ := k.KeyID()
	vk, note, err := convertKey(k)
	if err != nil {
		b.problem(fmt.Sprintf("kid %q: dropped: %v", kid, err))
		return
	}
	if note != "" {
		b.problem(fmt.Sprintf("kid %q: %s", kid, note))
	}
	b.set.keys = append(b.set.keys, vk)
	b.set.byKID[vk.kid] = append(b.set.byKID[vk.kid], vk)
}

func (b *builder) build() (*KeySet, error) {
	if len(b.set.keys) == 0 {
		return nil, fmt.Errorf("jwks: no usable key (%d dropped: %v)", len(b.set.problems), b.set.problems)
	}
	return b.set, nil
}

// convertKey decides whether a JWK may verify tokens, and for which
// algorithms, and converts it to its raw public key once.
func convertKey(k jwk.Key) (*verifyKey, string, error) {
	kid, _ := k.KeyID()
	if use, ok := k.KeyUsage(); ok && use != "sig" {
		return nil, "", fmt.Errorf("use %q is not \"sig\"", use)
	}
	if ops, ok := k.KeyOps(); ok && !slices.Contains(ops, jwk.KeyOpVerify) {
		return nil, "", fmt.Errorf("key_ops %v lack \"verify\"", ops)
	}
	if k.KeyType().String() == "oct" {
		// A symmetric key in a public document is either a mistake or an
		// attack; HMAC is never accepted from a JWKS.
		return nil, "", errors.New("symmetric (oct) key")
	}
	var note string
	if hasPrivateParts(k) {
		note = "private key published; only its public half is used"
	}
	pubJWK, err := k.PublicKey()
	if err != nil {
		return nil, "", fmt.Errorf("public half: %w", err)
	}
	var raw any
	if err := jwk.Export(pubJWK, &raw); err != nil {
		return nil, "", fmt.Errorf("export: %w", err)
	}

	var family []string
	var prepared *rsapkcs1.PublicKey
	switch pub := raw.(type) {
	case *rsa.PublicKey:
		if n := pub.N.BitLen(); n < MinRSABits {
			return nil, "", fmt.Errorf("RSA key of %d bits (minimum %d)", n, MinRSABits)
		}
		if prepared, err = rsapkcs1.New(pub); err != nil {
			return nil, "", fmt.Errorf("RSA key: %w", err)
		}
		family = rsaAlgs
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			family = []string{"ES256"}
		case elliptic.P384():
			family = []string{"ES384"}
		case elliptic.P521():
			family = []string{"ES512"}
		default:
			return nil, "", fmt.Errorf("EC curve %s not supported", pub.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		family = edAlgs
	default:
		return nil, "", fmt.Errorf("key type %s (%T) cannot verify signatures", k.KeyType(), raw)
	}

	algs := family
	if a, ok := k.Algorithm(); ok && a.String() != "" {
		// A key that names its algorithm allows exactly that one, and only
		// if it fits the key: "HS256" on an RSA key is refused here.
		if !slices.Contains(family, a.String()) {
			return nil, "", fmt.Errorf("alg %q does not fit a %s key", a.String(), k.KeyType())
		}
		algs = []string{a.String()}
	}
	return &verifyKey{kid: kid, algs: slices.Clone(algs), pub: raw, rsa: prepared}, note, nil
}

// hasPrivateParts reports whether a JWK carries private members.
func hasPrivateParts(k jwk.Key) bool {
	return slices.Contains(k.Keys(), "d")
}

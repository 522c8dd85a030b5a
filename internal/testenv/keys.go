package testenv

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
)

// KeyOption shapes a key made by Issuer.AddKey.
type KeyOption func(*keySpec)

type keySpec struct {
	kind        string // rsa, ec, ed25519, oct
	bits        int
	curve       elliptic.Curve
	secret      []byte
	kid         string
	alg         string
	noAlg       bool
	use         string
	private     bool
	unpublished bool
}

// KeyRSA makes an RSA key of the given size (2048 unless set). 1024 makes
// the too-weak key a verifier must ignore.
func KeyRSA(bits int) KeyOption { return func(s *keySpec) { s.kind, s.bits = "rsa", bits } }

// KeyEC makes an ECDSA key on P-256, P-384 or P-521.
func KeyEC(curve elliptic.Curve) KeyOption { return func(s *keySpec) { s.kind, s.curve = "ec", curve } }

// KeyEd25519 makes an Ed25519 key (alg EdDSA).
func KeyEd25519() KeyOption { return func(s *keySpec) { s.kind = "ed25519" } }

// KeyOct publishes a symmetric key (kty oct, alg HS256): a verifier must
// never use one from a JWKS.
func KeyOct(secret []byte) KeyOption {
	return func(s *keySpec) { s.kind, s.secret = "oct", secret }
}

// KeyID sets the kid (generated when unset).
func KeyID(kid string) KeyOption { return func(s *keySpec) { s.kid = kid } }

// KeyAlg sets the alg the key signs with and publishes.
func KeyAlg(alg string) KeyOption { return func(s *keySpec) { s.alg = alg } }

// KeyNoAlg publishes the key without an alg member (it still signs with its
// default algorithm or KeyAlg's).
func KeyNoAlg() KeyOption { return func(s *keySpec) { s.noAlg = true } }

// KeyUse publishes a "use" member ("sig", "enc").
func KeyUse(use string) KeyOption { return func(s *keySpec) { s.use = use } }

// KeyPublishPrivate publishes the private key parts too (a careless issuer).
func KeyPublishPrivate() KeyOption { return func(s *keySpec) { s.private = true } }

// KeyUnpublished keeps the key out of the JWKS: it signs, nobody can verify.
func KeyUnpublished() KeyOption { return func(s *keySpec) { s.unpublished = true } }

// Key is one key of the test issuer.
type Key struct {
	KID string
	// Alg is the algorithm Mint signs with by default.
	Alg string
	// Private is a crypto.Signer, or []byte for an oct key.
	Private any
	// Public is the raw public key (or the secret for oct).
	Public any

	spec keySpec
}

func newKey(spec keySpec) (*Key, error) {
	k := &Key{spec: spec}
	switch spec.kind {
	case "", "rsa":
		bits := spec.bits
		if bits == 0 {
			bits = 2048
		}
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA-%d: %w", bits, err)
		}
		k.Private, k.Public, k.Alg = priv, &priv.PublicKey, "RS256"
	case "ec":
		curve := spec.curve
		if curve == nil {
			curve = elliptic.P256()
		}
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate EC: %w", err)
		}
		k.Private, k.Public = priv, &priv.PublicKey
		switch curve {
		case elliptic.P384():
			k.Alg = "ES384"
		case elliptic.P521():
			k.Alg = "ES512"
		default:
			k.Alg = "ES256"
		}
	case "ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate Ed25519: %w", err)
		}
		k.Private, k.Public, k.Alg = priv, pub, "EdDSA"
	case "oct":
		k.Private, k.Public, k.Alg = spec.secret, spec.secret, "HS256"
	default:
		return nil, fmt.Errorf("unknown key kind %q", spec.kind)
	}
	if spec.alg != "" {
		k.Alg = spec.alg
	}
	k.KID = spec.kid
	return k, nil
}

// jwk renders the key as it appears in the issuer's JWKS. It is written by
// hand, not with jwx, so that the issuer can publish what a careful library
// would refuse to build (a 1024-bit RSA key, a private key).
func (k *Key) jwk() (json.RawMessage, error) {
	raw := k.Public
	if k.spec.private {
		raw = k.Private
	}
	m, err := jwkMembers(raw)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.KID, err)
	}
	m["kid"] = k.KID
	if !k.spec.noAlg {
		m["alg"] = k.Alg
	}
	if k.spec.use != "" {
		m["use"] = k.spec.use
	}
	return json.Marshal(m)
}

// jwkMembers renders a raw key's JWK members (RFC 7518 §6, RFC 8037).
func jwkMembers(key any) (map[string]any, error) {
	enc := base64.RawURLEncoding.EncodeToString
	switch k := key.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}, nil
	case *rsa.PrivateKey:
		m, _ := jwkMembers(&k.PublicKey)
		k.Precompute()
		m["d"], m["p"], m["q"] = enc(k.D.Bytes()), enc(k.Primes[0].Bytes()), enc(k.Primes[1].Bytes())
		m["dp"], m["dq"], m["qi"] = enc(k.Precomputed.Dp.Bytes()), enc(k.Precomputed.Dq.Bytes()), enc(k.Precomputed.Qinv.Bytes())
		return m, nil
	case *ecdsa.PublicKey:
		e, err := k.ECDH()
		if err != nil {
			return nil, err
		}
		pt := e.Bytes()[1:] // uncompressed point without its 0x04 prefix
		return map[string]any{"kty": "EC", "crv": k.Curve.Params().Name, "x": enc(pt[:len(pt)/2]), "y": enc(pt[len(pt)/2:])}, nil
	case *ecdsa.PrivateKey:
		m, err := jwkMembers(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		e, err := k.ECDH()
		if err != nil {
			return nil, err
		}
		m["d"] = enc(e.Bytes())
		return m, nil
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(k)}, nil
	case ed25519.PrivateKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(k.Public().(ed25519.PublicKey)), "d": enc(k.Seed())}, nil
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.X25519() {
			return nil, fmt.Errorf("ecdh curve %v not supported", k.Curve())
		}
		return map[string]any{"kty": "OKP", "crv": "X25519", "x": enc(k.Bytes())}, nil
	case []byte:
		return map[string]any{"kty": "oct", "k": enc(k)}, nil
	default:
		return nil, fmt.Errorf("cannot render %T as a JWK", key)
	}
}

// PublicJWK renders a public key (or the public half of a private key) as a
// JWK object, e.g. for an attacker's "jwk" header. An empty kid is left out.
func PublicJWK(key any, kid string) map[string]any {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	m, err := jwkMembers(key)
	if err != nil {
		panic(fmt.Sprintf("testenv: PublicJWK: %v", err))
	}
	if kid != "" {
		m["kid"] = kid
	}
	return m
}

// PublicKeyPEM returns the PKIX PEM encoding of a public key: the bytes an
// algorithm-confusion attacker uses as an HMAC secret.
func PublicKeyPEM(pub any) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: PublicKeyDER(pub)})
}

// PublicKeyDER returns the PKIX DER encoding of a public key.
func PublicKeyDER(pub any) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("testenv: PublicKeyDER: %v", err))
	}
	return der
}

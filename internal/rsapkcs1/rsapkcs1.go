// Package rsapkcs1 verifies RSASSA-PKCS1-v1_5 signatures (JWS RS256, RS384,
// RS512) with a public key prepared once. crypto/rsa converts the public key
// to its constant-time form (bigmod.NewModulus) on every verification, a
// third of an RS256 verification; here that happens once, when the key is
// loaded, with filippo.io/bigmod, the exported copy of the arithmetic
// crypto/rsa itself uses. The steps are crypto/rsa's (RFC 8017 §8.2.2: the
// signature's length, s < n, s^e mod n, and the whole encoded message
// compared), and FuzzVerifyAgreesWithCryptoRSA holds the answers to
// crypto/rsa's. Nothing here is secret, so nothing needs constant time.
package rsapkcs1

import (
	"crypto"
	"crypto/rsa"
	"errors"

	"filippo.io/bigmod"
)

// ErrVerification is every refused signature.
var ErrVerification = errors.New("rsapkcs1: verification error")

// PublicKey is an RSA public key prepared for verification.
type PublicKey struct {
	n    *bigmod.Modulus
	e    uint
	size int // bytes of the modulus: the length of every signature
}

// New prepares pub, refusing the keys crypto/rsa refuses to verify with: an
// even modulus, an exponent that is even, below 3 or above 2³¹-1.
func New(pub *rsa.PublicKey) (*PublicKey, error) {
	switch {
	case pub == nil || pub.N == nil || pub.N.Sign() <= 0:
		return nil, errors.New("rsapkcs1: missing public modulus")
	case pub.N.Bit(0) == 0:
		return nil, errors.New("rsapkcs1: public modulus is even")
	case pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1:
		return nil, errors.New("rsapkcs1: public exponent must be odd, at least 3 and below 2^31")
	}
	n, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, err
	}
	return &PublicKey{n: n, e: uint(pub.E), size: (pub.N.BitLen() + 7) / 8}, nil
}

// digestInfo is the DER prefix of a digest's DigestInfo (RFC 8017 §9.2,
// note 1), "" for a hash this package does not verify.
func digestInfo(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"
	case crypto.SHA384:
		return "\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30"
	case crypto.SHA512:
		return "\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40"
	}
	return ""
}

// Verify checks sig over hashed, the message's digest by hash (SHA-256,
// SHA-384 or SHA-512).
func (k *PublicKey) Verify(hash crypto.Hash, hashed, sig []byte) error {
	prefix := digestInfo(hash)
	tLen := len(prefix) + len(hashed)
	if prefix == "" || len(hashed) != hash.Size() || k.size < tLen+11 || len(sig) != k.size {
		return ErrVerification
	}
	s, err := bigmod.NewNat().SetBytes(sig, k.n) // refuses s ≥ n
	if err != nil {
		return ErrVerification
	}
	em := bigmod.NewNat().ExpShortVarTime(s, k.e, k.n).Bytes(k.n)
	// EM = 0x00 || 0x01 || PS (0xff, at least 8) || 0x00 || DigestInfo || H
	sep := k.size - tLen - 1
	ok := em[0] == 0 && em[1] == 1 && em[sep] == 0 &&
		string(em[sep+1:sep+1+len(prefix)]) == prefix && string(em[k.size-len(hashed):]) == string(hashed)
	for _, b := range em[2:sep] {
		ok = ok && b == 0xff
	}
	if !ok {
		return ErrVerification
	}
	return nil
}

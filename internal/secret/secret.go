package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"unsafe"
)

// Digest returns the SHA-256 digest of s. It does not allocate: the string's
// bytes are hashed in place, which is safe because sha256 only reads its
// input. Caches use it on every request, so this matters.
func Digest(s string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// DigestPrefix returns the first 8 hex characters of the digest of s: enough
// to correlate log lines about one credential, far too little to recover or
// replay it. Log this, never the credential itself.
func DigestPrefix(s string) string {
	d := Digest(s)
	return hex.EncodeToString(d[:4])
}

// Equal reports whether a and b are equal in time that depends only on their
// lengths, so comparing a presented secret with a stored one leaks nothing
// about how many leading bytes matched.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare(
		unsafe.Slice(unsafe.StringData(a), len(a)),
		unsafe.Slice(unsafe.StringData(b), len(b)),
	) == 1
}

// RandomToken returns nbytes of crypto/rand randomness encoded as base64url
// without padding. Use at least 32 bytes for anything that guards access.
func RandomToken(nbytes int) (string, error) {
	if nbytes <= 0 {
		return "", fmt.Errorf("secret: random token of %d bytes", nbytes)
	}
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secret: read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

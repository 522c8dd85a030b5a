// Package token holds Gatehouse's own signing keys and mints the JWTs its
// embedded issuer hands out. Stores and verifiers only ever see public keys
// and digests; private keys stay here.
//
// It imports the domain package, internal/secret and jwx.
package token

// Package secret holds the small crypto hygiene helpers every package that
// touches a credential needs: SHA-256 digests to store and index secrets, a
// short digest prefix to name a secret in logs without revealing it,
// constant-time comparison, and random tokens.
//
// It imports the standard library only.
package secret

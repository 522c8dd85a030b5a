package jwt

import (
	"context"
	"sync/atomic"
)

// KeySource supplies an issuer's verification keys to the Verifier.
type KeySource interface {
	// Keys returns the current key set, or nil when none is loaded (never
	// loaded yet, or too stale to trust): the Verifier then answers
	// KEYS_UNAVAILABLE, a 503, rather than refusing the token.
	Keys() *KeySet
	// RefreshUnknownKID is called when a token names a kid the current set
	// lacks. It may fetch the keys again — rate-limited and single-flight, so
	// a flood of tokens with made-up kids cannot flood the issuer — and
	// returns the set to look in again (possibly the same one, or nil). It
	// waits for an in-flight fetch no longer than ctx allows.
	RefreshUnknownKID(ctx context.Context) *KeySet
}

// StaticKeySource serves a key set held in memory: the embedded issuer's
// keys (replaced on rotation), or tests.
type StaticKeySource struct{ set atomic.Pointer[KeySet] }

var _ KeySource = (*StaticKeySource)(nil)

// NewStaticKeySource serves set until Replace.
func NewStaticKeySource(set *KeySet) *StaticKeySource {
	s := &StaticKeySource{}
	s.set.Store(set)
	return s
}

// Replace swaps the served set atomically (key rotation in-process).
func (s *StaticKeySource) Replace(set *KeySet) { s.set.Store(set) }

// Keys returns the set.
func (s *StaticKeySource) Keys() *KeySet { return s.set.Load() }

// RefreshUnknownKID returns the set: there is nothing to fetch.
func (s *StaticKeySource) RefreshUnknownKID(context.Context) *KeySet { return s.set.Load() }

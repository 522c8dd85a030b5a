// Package replay is the in-process memory of single-use ids (ClaimOnce)
// that the authenticators of single-use tokens (authn/agent, authn/peer)
// use when no shared store provides one: enough for one replica and for
// tests; several replicas need the store's ClaimOnce, or each would accept
// a token once. It imports the domain package and the standard library only.
package replay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// DefaultMaxEntries bounds a Memory made with zero MaxEntries.
const DefaultMaxEntries = 1 << 20

// ErrMemoryFull is returned when a Memory holds MaxEntries live ids.
var ErrMemoryFull = errors.New("replay: memory full")

// Memory remembers (namespace, id) pairs until they expire. The zero value
// is ready to use.
type Memory struct {
	// MaxEntries bounds memory; when every entry is still live, ClaimOnce
	// fails (closed) instead of forgetting one.
	MaxEntries int
	Now        func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time
	nextPrune time.Time
}

// ClaimOnce records (namespace, id) until expires. It returns an error
// wrapping gatehouse.ErrAlreadyExists when the pair was claimed before and
// has not expired, and ErrMemoryFull when no room is left.
func (m *Memory) ClaimOnce(_ context.Context, namespace, id string, expires time.Time) error {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	key := namespace + "\x00" + id
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	if exp, ok := m.seen[key]; ok && now.Before(exp) {
		return fmt.Errorf("replay: id %s/%s: %w", namespace, id, gatehouse.ErrAlreadyExists)
	}
	limit := m.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	// Pruning walks the whole map, so it runs once a minute, or when full.
	if len(m.seen) >= limit || now.After(m.nextPrune) {
		for k, exp := range m.seen {
			if !now.Before(exp) {
				delete(m.seen, k)
			}
		}
		m.nextPrune = now.Add(time.Minute)
		if len(m.seen) >= limit {
			return ErrMemoryFull
		}
	}
	m.seen[key] = expires
	return nil
}

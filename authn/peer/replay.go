package peer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// ReplayNamespace is the ClaimOnce namespace of peer token ids.
const ReplayNamespace = "peer-jti"

// ReplayGuard remembers single-use ids. ClaimOnce returns an error wrapping
// gatehouse.ErrAlreadyExists when (namespace, id) was claimed before and has
// not expired, and any other error when it cannot tell. The stores implement
// it (shared across replicas on PostgreSQL); MemoryReplayGuard serves one
// process.
type ReplayGuard interface {
	ClaimOnce(ctx context.Context, namespace, id string, expires time.Time) error
}

// DefaultMemoryEntries bounds a MemoryReplayGuard made with zero MaxEntries.
const DefaultMemoryEntries = 1 << 20

// MemoryReplayGuard is an in-process ReplayGuard: fine for one replica,
// insufficient for several (each would accept a token once).
type MemoryReplayGuard struct {
	// MaxEntries bounds memory; when every entry is still live, ClaimOnce
	// fails (closed) instead of forgetting one.
	MaxEntries int
	Now        func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time
	nextPrune time.Time
}

var _ ReplayGuard = (*MemoryReplayGuard)(nil)

// ErrReplayMemoryFull is returned when a MemoryReplayGuard holds MaxEntries
// live ids.
var ErrReplayMemoryFull = errors.New("peer: replay memory full")

// ClaimOnce implements ReplayGuard.
func (g *MemoryReplayGuard) ClaimOnce(_ context.Context, namespace, id string, expires time.Time) error {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	key := namespace + "\x00" + id
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	if exp, ok := g.seen[key]; ok && now.Before(exp) {
		return fmt.Errorf("peer: id %s/%s: %w", namespace, id, gatehouse.ErrAlreadyExists)
	}
	max := g.MaxEntries
	if max <= 0 {
		max = DefaultMemoryEntries
	}
	if len(g.seen) >= max || now.After(g.nextPrune) {
		for k, exp := range g.seen {
			if !now.Before(exp) {
				delete(g.seen, k)
			}
		}
		g.nextPrune = now.Add(time.Minute)
		if len(g.seen) >= max {
			return ErrReplayMemoryFull
		}
	}
	g.seen[key] = expires
	return nil
}

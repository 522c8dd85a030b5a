package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Memory is an in-process ReplayGuard: enough for one replica and for
// tests; several replicas need the store's ClaimOnce.
type Memory struct {
	mu     sync.Mutex
	claims map[string]time.Time
	now    func() time.Time
}

var _ ReplayGuard = (*Memory)(nil)

// NewMemory returns an empty Memory; now may be nil.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{claims: make(map[string]time.Time), now: now}
}

// ClaimOnce records (namespace, id) until expires, dropping expired claims
// as it goes.
func (m *Memory) ClaimOnce(_ context.Context, namespace, id string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	key := namespace + "\x00" + id
	if exp, ok := m.claims[key]; ok && now.Before(exp) {
		return fmt.Errorf("claim %s: %w", namespace, gatehouse.ErrAlreadyExists)
	}
	if len(m.claims) > 1024 {
		for k, exp := range m.claims {
			if !now.Before(exp) {
				delete(m.claims, k)
			}
		}
	}
	m.claims[key] = expires
	return nil
}

package storeutil

import "sync"

// WriteHooks are functions a store calls synchronously after each of its own
// committed writes that changed something, before the write returns: for
// in-process caches that must not serve what this very process just
// changed (a revoked token, a disabled user) even for one request.
type WriteHooks struct {
	mu  sync.RWMutex
	fns []func()
}

// Add registers f.
func (h *WriteHooks) Add(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, f)
}

// Run calls every registered function.
func (h *WriteHooks) Run() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, f := range h.fns {
		f()
	}
}

package jwt

import (
	"maps"
	"sync"
	"sync/atomic"
)

// maxCachedHeaders bounds the header cache; an issuer rotating keys adds a
// header per kid.
const maxCachedHeaders = 64

// headerCache remembers the decoded JOSE headers of tokens whose signature
// verified. An issuer signs its tokens with a handful of identical headers
// ({"alg":"RS256","kid":"…","typ":"JWT"}), and decoding one with
// encoding/json was ~4 µs of every new token's verification. Lookups are by
// the exact header bytes, so a hit is what decoding would have produced;
// only verified tokens add entries, so a caller cannot fill it with junk.
// Reads take no lock: the map is replaced, never changed.
type headerCache struct {
	mu sync.Mutex // serialises add
	m  atomic.Pointer[map[string]header]
}

func (c *headerCache) get(raw []byte) (header, bool) {
	m := c.m.Load()
	if m == nil {
		return header{}, false
	}
	h, ok := (*m)[string(raw)]
	return h, ok
}

func (c *headerCache) add(raw []byte, h header) {
	h.Crit = nil // points into the token; a verified token has none
	if h.B64 != nil {
		b64 := *h.B64
		h.B64 = &b64
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]header{}
	if old := c.m.Load(); old != nil {
		if _, ok := (*old)[string(raw)]; ok {
			return
		}
		if len(*old) < maxCachedHeaders { // else start afresh
			next = maps.Clone(*old)
		}
	}
	next[string(raw)] = h
	c.m.Store(&next)
}

package authn

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
)

// Defaults of CacheOptions.
const (
	DefaultCacheSize   = 10000
	DefaultCacheMaxTTL = 5 * time.Minute
	DefaultCacheMargin = 5 * time.Second
)

// CacheOptions configures Cached.
type CacheOptions struct {
	// Size bounds the number of cached identities (LRU). Default 10000.
	Size int
	// MaxTTL bounds how long an identity is served from the cache, also for
	// credentials without expiry. Default 5m.
	MaxTTL time.Duration
	// Margin stops serving an entry this long before the credential
	// expires, so a token is never accepted from the cache after its exp
	// even with some clock skew between replicas. Default 5s.
	Margin time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// CacheStats are counters for metrics.
type CacheStats struct {
	Hits, Misses uint64
	// Size is the number of entries now held (some may be expired).
	Size int
}

// Cached serves the identities an authenticator proved from a bounded LRU
// keyed by the SHA-256 digest of the credential (never the credential
// itself), until shortly before they expire. Only successes are cached.
//
// Wrap only authenticators whose answer depends on the credential alone
// (JWTs, API tokens): not single-use agent tokens (jti replay) nor peer
// signatures over the request. Identities served from the cache are shared:
// callers must not modify them.
type Cached struct {
	inner  gatehouse.Authenticator
	cache  *lru.Cache[cacheKey, *cacheEntry]
	maxTTL time.Duration
	margin time.Duration
	now    func() time.Time

	hits, misses atomic.Uint64
}

var _ gatehouse.Authenticator = (*Cached)(nil)

type cacheKey struct {
	scheme gatehouse.CredentialScheme
	peer   bool
	digest [32]byte
}

type cacheEntry struct {
	id    *gatehouse.Identity
	until time.Time
}

// NewCached wraps inner with a cache.
func NewCached(inner gatehouse.Authenticator, opts CacheOptions) (*Cached, error) {
	if opts.Size <= 0 {
		opts.Size = DefaultCacheSize
	}
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = DefaultCacheMaxTTL
	}
	if opts.Margin <= 0 {
		opts.Margin = DefaultCacheMargin
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c, err := lru.New[cacheKey, *cacheEntry](opts.Size)
	if err != nil {
		return nil, fmt.Errorf("authn: cache: %w", err)
	}
	return &Cached{inner: inner, cache: c, maxTTL: opts.MaxTTL, margin: opts.Margin, now: opts.Now}, nil
}

// Authenticate returns the cached identity for cred while it is fresh, and
// otherwise asks the inner authenticator, caching a success. A hit does not
// allocate.
func (c *Cached) Authenticate(ctx context.Context, cred gatehouse.Credential, req *gatehouse.Request) (*gatehouse.Identity, error) {
	key := cacheKey{scheme: cred.Scheme, peer: cred.Peer, digest: secret.Digest(cred.Value)}
	now := c.now()
	if e, ok := c.cache.Get(key); ok {
		if now.Before(e.until) {
			c.hits.Add(1)
			return e.id, nil
		}
		c.cache.Remove(key)
	}
	c.misses.Add(1)
	id, err := c.inner.Authenticate(ctx, cred, req)
	if err != nil || id == nil {
		return id, err
	}
	until := now.Add(c.maxTTL)
	if !id.ExpiresAt.IsZero() {
		if stop := id.ExpiresAt.Add(-c.margin); stop.Before(until) {
			until = stop
		}
	}
	if now.Before(until) {
		id.ComputeDigest() // once per verified credential, for the decision cache
		c.cache.Add(key, &cacheEntry{id: id, until: until})
	}
	return id, nil
}

// Invalidate drops every cached identity (key rotation, revocation).
func (c *Cached) Invalidate() { c.cache.Purge() }

// Stats returns the hit and miss counters and the current size.
func (c *Cached) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Size: c.cache.Len()}
}

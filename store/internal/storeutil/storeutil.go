// Package storeutil holds what the store backends share: IDs, time
// normalisation, list helpers, AUTH_TOKENS validation and the in-process
// change broadcaster. It has no SQL: each backend owns its queries.
package storeutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

// NewID returns 16 random bytes in hex. crypto/rand never fails on the
// platforms Go supports (it panics rather than return short reads).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Time is t in UTC truncated to the microsecond, the precision both
// backends store; the zero time stays zero so "never" round-trips.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Now is the current time as the stores record it.
func Now() time.Time { return Time(time.Now()) }

// Later returns now, or just after prev when the clock stepped back, so an
// update never moves UpdatedAt backwards.
func Later(prev, now time.Time) time.Time {
	if !now.After(prev) && !prev.IsZero() {
		return prev.Add(time.Microsecond)
	}
	return now
}

// SortedSet returns s sorted without duplicates, as a new slice.
func SortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// EnvPlan is AUTH_TOKENS validated for a sync: the exact permissions per
// login and the set of digests to keep.
type EnvPlan struct {
	Lines []store.EnvToken      // in input order, Permissions sorted and deduplicated
	Keep  map[[32]byte]struct{} // digests of all lines
}

// PlanEnvTokens checks lines against each other before any write: a digest
// may appear once, and a login appearing on several lines must carry the
// same permissions each time (a user cannot hold two exact sets).
func PlanEnvTokens(lines []store.EnvToken) (EnvPlan, error) {
	p := EnvPlan{Keep: make(map[[32]byte]struct{}, len(lines))}
	perms := make(map[string][]string, len(lines))
	for i, l := range lines {
		if l.Login == "" {
			return EnvPlan{}, fmt.Errorf("line %d: empty login: %w", i+1, gatehouse.ErrConflict)
		}
		if _, dup := p.Keep[l.Digest]; dup {
			return EnvPlan{}, fmt.Errorf("line %d (%s): token digest repeated: %w", i+1, l.Login, gatehouse.ErrConflict)
		}
		p.Keep[l.Digest] = struct{}{}
		set := SortedSet(l.Permissions)
		if prev, ok := perms[l.Login]; ok && !slices.Equal(prev, set) {
			return EnvPlan{}, fmt.Errorf("line %d (%s): permissions differ from an earlier line for the same login: %w", i+1, l.Login, gatehouse.ErrConflict)
		}
		perms[l.Login] = set
		p.Lines = append(p.Lines, store.EnvToken{Login: l.Login, Digest: l.Digest, Permissions: set})
	}
	return p, nil
}

// Diff returns what to add to have and what to remove from it to reach
// want; both inputs sorted and deduplicated.
func Diff(have, want []string) (add, remove []string) {
	for _, w := range want {
		if _, found := slices.BinarySearch(have, w); !found {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if _, found := slices.BinarySearch(want, h); !found {
			remove = append(remove, h)
		}
	}
	return add, remove
}

// Broadcaster fans one signal out to every subscriber. Signals coalesce:
// each subscriber channel holds at most one pending signal, so a slow
// reader never blocks a writer.
type Broadcaster struct {
	mu     sync.Mutex
	subs   map[chan struct{}]struct{}
	closed bool
}

// Subscribe returns a channel that receives signals until ctx ends or the
// broadcaster closes; then it is closed.
func (b *Broadcaster) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return ch
	}
	if b.subs == nil {
		b.subs = make(map[chan struct{}]struct{})
	}
	b.subs[ch] = struct{}{}
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	})
	return ch
}

// Notify signals every subscriber without blocking.
func (b *Broadcaster) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending; they coalesce
		}
	}
}

// Close closes every subscriber channel; later subscriptions get a closed
// channel.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

package peer

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Resolver looks up a host name's addresses (net.DefaultResolver's
// LookupNetIP by default).
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

func defaultResolver(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// origins matches source addresses to PEERS entries exactly: equal
// addresses, containing ranges, or the cached addresses of host names.
type origins struct {
	entries  []Entry
	resolve  Resolver
	refresh  time.Duration
	minRetry time.Duration
	now      func() time.Time
	log      *slog.Logger

	table atomic.Pointer[originTable]

	mu       sync.Mutex // serialises resolutions
	resolved map[string][]netip.Addr
	last     atomic.Int64 // unix nanos of the last resolution
	busy     atomic.Bool
}

type originTable struct {
	byAddr   map[netip.Addr][]int // entry indexes: addresses and resolved hosts
	prefixes []int
}

func newOrigins(entries []Entry, resolve Resolver, refresh time.Duration, now func() time.Time, log *slog.Logger) *origins {
	o := &origins{entries: entries, resolve: resolve, refresh: refresh, minRetry: 5 * time.Second, now: now, log: log,
		resolved: map[string][]netip.Addr{}}
	o.build()
	return o
}

func (o *origins) hasHosts() bool {
	return slices.ContainsFunc(o.entries, func(e Entry) bool { return e.Host != "" })
}

// build publishes a new table from the entries and o.resolved (o.mu held or
// not yet shared).
func (o *origins) build() {
	t := &originTable{byAddr: map[netip.Addr][]int{}}
	for i, e := range o.entries {
		switch {
		case e.Prefix.IsValid():
			t.prefixes = append(t.prefixes, i)
		case e.Addr.IsValid():
			t.byAddr[e.Addr] = append(t.byAddr[e.Addr], i)
		default:
			for _, a := range o.resolved[e.Host] {
				t.byAddr[a] = append(t.byAddr[a], i)
			}
		}
	}
	o.table.Store(t)
}

// match returns the entries whose origin holds addr.
func (o *origins) match(addr netip.Addr) []Entry {
	t := o.table.Load()
	var out []Entry
	for _, i := range t.byAddr[addr] {
		out = append(out, o.entries[i])
	}
	for _, i := range t.prefixes {
		if o.entries[i].Prefix.Contains(addr) {
			out = append(out, o.entries[i])
		}
	}
	if len(out) == 0 && o.hasHosts() {
		o.refreshSoon()
	}
	return out
}

// refreshSoon starts a background resolution when an unknown address
// arrives, at most once per minRetry: a peer whose address changed gets in
// on its next attempt without waiting for the periodic refresh.
func (o *origins) refreshSoon() {
	if o.now().UnixNano()-o.last.Load() < int64(o.minRetry) || !o.busy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer o.busy.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		o.resolveAll(ctx)
	}()
}

// resolveAll looks every host name up again. A failed lookup keeps the
// host's previous addresses.
func (o *origins) resolveAll(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last.Store(o.now().UnixNano())
	changed := false
	for _, e := range o.entries {
		if e.Host == "" {
			continue
		}
		addrs, err := o.resolve(ctx, e.Host)
		if err != nil {
			o.log.WarnContext(ctx, "PEERS: host lookup failed; keeping its previous addresses", "host", e.Host, "err", err)
			continue
		}
		for i, a := range addrs {
			addrs[i] = a.Unmap().WithZone("")
		}
		slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
		addrs = slices.Compact(addrs)
		if !slices.Equal(addrs, o.resolved[e.Host]) {
			o.resolved[e.Host] = addrs
			changed = true
		}
	}
	if changed {
		o.build()
	}
}

// run refreshes host names every o.refresh until ctx ends.
func (o *origins) run(ctx context.Context) {
	if !o.hasHosts() {
		return
	}
	t := time.NewTicker(o.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			o.resolveAll(rctx)
			cancel()
		}
	}
}

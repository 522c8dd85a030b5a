package app

import (
	"context"
	"time"

	"github.com/gatehouse-authz/gatehouse/store"
)

// purgeInterval is how often expired rows are deleted.
const purgeInterval = 10 * time.Minute

// purgeExpired deletes, every purgeInterval until ctx ends, what has expired:
// single-use claims, provisioning keys, and the login doors' sessions and
// rate-limit hits. It is the one place for this work, so no request path
// pays for it. Every replica runs it; the deletes are idempotent.
func (a *App) purgeExpired(ctx context.Context) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.purgeOnce(ctx, time.Now())
	}
}

func (a *App) purgeOnce(ctx context.Context, now time.Time) {
	if n, err := a.store.DeleteExpiredClaims(ctx, now); err != nil {
		a.log.WarnContext(ctx, "purging expired claims failed", "error", err)
	} else if n > 0 {
		a.log.DebugContext(ctx, "purged expired claims", "count", n)
	}
	// Expired keys stay a day, so that using one late is told apart from
	// using an unknown one (401 rather than 404).
	if _, err := a.store.DeleteExpiredProvisioningKeys(ctx, now.Add(-24*time.Hour)); err != nil {
		a.log.WarnContext(ctx, "purging expired provisioning keys failed", "error", err)
	}
	if state, ok := a.store.(store.AuthState); ok {
		// Sessions stay an hour past expiry so a late callback is told
		// "expired" rather than "unknown"; hits older than the window
		// count for no key.
		if _, err := state.PruneAuthState(ctx, now.Add(-time.Hour), now.Add(-a.cfg.RateLimit.Window)); err != nil {
			a.log.WarnContext(ctx, "purging login sessions and rate-limit hits failed", "error", err)
		}
	}
}

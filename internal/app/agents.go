package app

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/agent"
	"github.com/gatehouse-authz/gatehouse/provision"
)

// purgeInterval is how often expired single-use claims and provisioning
// keys are deleted.
const purgeInterval = 10 * time.Minute

// agentAuthenticator verifies agent JWTs against the store: public keys,
// and jti claims shared by every replica. The chain calls it on agent
// routes only.
func (a *App) agentAuthenticator() (gatehouse.Authenticator, error) {
	return agent.New(agent.Options{
		Store:       a.store,
		Replay:      a.store,
		MaxLifetime: a.cfg.AgentJWTMaxLifetime,
		Leeway:      a.cfg.JWTLeeway,
		Logger:      a.log,
	})
}

// agentRoutes mounts agent provisioning: the single-use key is the
// credential, so it needs no decision first.
func (a *App) agentRoutes(mux *http.ServeMux) {
	svc := provision.NewService(a.store, a.cfg.ControllerNamespace, nil, a.log)
	mux.Handle(provision.Route, provision.Handler(svc, a.log))
}

// purgeExpired deletes expired claims and provisioning keys until ctx ends.
// Every replica runs it; the deletes are idempotent.
func (a *App) purgeExpired(ctx context.Context) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if n, err := a.store.DeleteExpiredClaims(ctx, now); err != nil {
			a.log.WarnContext(ctx, "purging expired claims failed", "error", err)
		} else if n > 0 {
			a.log.DebugContext(ctx, "purged expired claims", "count", n)
		}
		// Expired keys stay a day, so that using one late is told apart
		// from using an unknown one (401 rather than 404).
		if _, err := a.store.DeleteExpiredProvisioningKeys(ctx, now.Add(-24*time.Hour)); err != nil {
			a.log.WarnContext(ctx, "purging expired provisioning keys failed", "error", err)
		}
	}
}

package app

import (
	"net/http"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/agent"
	"github.com/gatehouse-authz/gatehouse/provision"
)

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

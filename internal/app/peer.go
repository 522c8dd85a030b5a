package app

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/peer"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/decision"
)

// peerResource is the catalog resource of the synchronize routes.
const peerResource = "peerSync"

// peerAuth builds the cluster-peer authenticator (nil when PEER_SECRET is
// unset). Token ids go to the store's single-use claims when it has them
// (shared by every replica on PostgreSQL, kept across restarts on SQLite),
// else to this process's memory.
func (a *App) peerAuth(ctx context.Context) (*peer.Authenticator, error) {
	pc := a.cfg.Peer
	if !pc.Enabled() {
		return nil, nil
	}
	var guard peer.ReplayGuard
	replay := "process"
	if g, ok := a.store.(peer.ReplayGuard); ok {
		guard, replay = g, "store"
	}
	auth, err := peer.New(ctx, peer.Options{
		Secrets:                        pc.Secrets,
		Peers:                          pc.Peers,
		Strict:                         pc.Strict,
		HostID:                         pc.HostID,
		MaxLifetime:                    pc.MaxLifetime,
		Leeway:                         a.cfg.JWTLeeway,
		RequireSignedRequests:          pc.RequireSignedRequests,
		InsecureAcceptReplayableTokens: pc.InsecureAcceptReplayableTokens,
		Replay:                         guard,
		DNSRefresh:                     pc.DNSRefresh,
		Logger:                         a.log,
	})
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "peer authentication on", "peers", len(pc.Peers), "strict", pc.Strict, "host_id", pc.HostID,
		"secrets", len(pc.Secrets), "replay_memory", replay, "signed_requests_required", pc.RequireSignedRequests)
	if pc.InsecureAcceptReplayableTokens {
		a.log.WarnContext(ctx, "PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS=true: HORAO tokens without iat, exp and jti are accepted and can be replayed forever; turn it off once every sender signs short-lived tokens")
	}
	return auth, nil
}

// peerPolicy applies PEER_ROUTES: the default catalog names the default
// synchronize routes; another list replaces them. With the default list the
// engine serves unwrapped (no work on the hot path).
func peerPolicy(p decision.Policy, routes []string) decision.Policy {
	if slices.Equal(routes, config.DefaultPeerRoutes()) {
		return p
	}
	paths := make(map[string]bool, len(routes))
	for _, r := range routes {
		paths[strings.TrimSuffix(r, "/")] = true
	}
	return &peerRoutes{Policy: p, paths: paths}
}

type peerRoutes struct {
	decision.Policy
	paths map[string]bool
}

func (p *peerRoutes) Route(method, path string, websocket bool) gatehouse.RouteMatch {
	if p.paths[strings.TrimSuffix(path, "/")] && !websocket {
		if method != "POST" {
			return gatehouse.RouteMatch{}
		}
		return gatehouse.RouteMatch{Resource: peerResource, Verb: "create", Template: path,
			Credentials: []gatehouse.IdentityKind{gatehouse.KindPeer}}
	}
	m := p.Policy.Route(method, path, websocket)
	if m.Resource == peerResource {
		return gatehouse.RouteMatch{} // a default route PEER_ROUTES dropped
	}
	return m
}

// Package app wires Gatehouse together: configuration in, a running server
// out. It is the only package (with cmd) that knows the concrete
// authenticators, key sources and policy engine; everything else sees
// interfaces. Tests build the whole service in-process through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn"
	"github.com/gatehouse-authz/gatehouse/authn/apitoken"
	"github.com/gatehouse-authz/gatehouse/authn/basic"
	"github.com/gatehouse-authz/gatehouse/authn/jwt"
	"github.com/gatehouse-authz/gatehouse/authn/peer"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/decision"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/storesync"
	"github.com/gatehouse-authz/gatehouse/internal/telemetry"
	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/policies"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/provision"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/server/admin"
	"github.com/gatehouse-authz/gatehouse/server/oidc"
	"github.com/gatehouse-authz/gatehouse/server/userapi"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/token"
)

// App is one Gatehouse process.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *telemetry.Metrics
	engine  *policies.Engine
	remotes []*jwt.RemoteKeySource
	signer  *token.Signer
	store   store.Store
	syncer  *storesync.Syncer
	decider *decision.Decider
	server  *server.Server
	// controller serves the Controller's /api/v3/roles and /rolebindings.
	controller *admin.Controller
	peer       *peer.Authenticator // nil unless PEER_SECRET is set
	// ops and doorDecider: tracing, pprof, decision log file (observability.go).
	ops         ops
	doorDecider server.Decider
	// idpKeys is the external issuer's key source; login the login doors.
	idpKeys *jwt.RemoteKeySource
	login   loginDoors
	// embedded is the embedded issuer (internal/app/embedded.go).
	embedded *embeddedIssuer
}

// New builds every part and binds the listeners; Run serves.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, metrics: telemetry.New()}
	defer func() {
		if err != nil && a.store != nil {
			a.store.Close()
		}
		if err != nil {
			a.closeOps(ctx)
		}
	}()

	a.engine, err = policies.New(ctx, policies.Options{
		Dir: cfg.PolicyDir,
		Config: map[string]any{
			"client_id":          cfg.ClientID,
			"role_claim":         cfg.RoleClaim,
			"administrator_role": cfg.AdministratorRole,
		},
		Logger:            log,
		OnReload:          a.metrics.PolicyReload,
		EvalTimeout:       cfg.PolicyEvalTimeout,
		DecisionCacheSize: cfg.DecisionCacheSize,
	})
	if err != nil {
		return nil, fmt.Errorf("POLICY_DIR: %w", err)
	}

	issuers, err := a.issuers(ctx)
	if err != nil {
		return nil, err
	}
	leeway := cfg.JWTLeeway
	if leeway == 0 {
		leeway = -1 // JWT_LEEWAY=0 means none; jwt.Options reads zero as its default
	}
	verifier, err := jwt.New(jwt.Options{Issuers: issuers, Leeway: leeway, Logger: log})
	if err != nil {
		return nil, err
	}
	cached, err := authn.NewCached(verifier, authn.CacheOptions{Size: cfg.IdentityCacheSize, MaxTTL: cfg.IdentityCacheTTL})
	if err != nil {
		return nil, err
	}
	a.metrics.CacheStats("decision", a.engine.CacheStats)
	a.metrics.CacheStats("identity", func() (uint64, uint64, int) {
		st := cached.Stats()
		return st.Hits, st.Misses, st.Size
	})
	local, err := a.localCredentials(ctx)
	if err != nil {
		return nil, err
	}
	agents, err := a.agentAuthenticator()
	if err != nil {
		return nil, err
	}
	var bearer gatehouse.Authenticator = cached
	if a.embedded != nil {
		// RB-18: a token issued while the user had to change the password
		// passes again once the stored flag is cleared.
		gate := issuer.NewPasswordGate(cached, cfg.EmbeddedIssuer(), a.embedded.svc.Accounts, authn.DefaultStoreDeadline, nil, log)
		if h, ok := a.store.(interface{ OnLocalWrite(func()) }); ok {
			h.OnLocalWrite(gate.Invalidate)
		}
		bearer = gate
	}
	chainOpts := authn.ChainOptions{Bearer: bearer, Token: local.token, Basic: local.basic, Agent: agents}
	if a.peer, err = a.peerAuth(ctx); err != nil {
		return nil, err
	}
	if a.peer != nil { // never a typed nil in the interface
		chainOpts.Peer = a.peer
	}
	chain := authn.NewChain(chainOpts)

	decisionLog, err := a.decisionLogger(log)
	if err != nil {
		return nil, err
	}
	a.decider, err = decision.New(decision.Options{
		Identifier:   chain,
		Policy:       peerPolicy(a.engine, cfg.Peer.Routes),
		Headers:      decision.HeaderNames(cfg.Headers),
		Logger:       decisionLog,
		LogDecisions: cfg.LogDecisions,
		Observer:     a.metrics,
	})
	if err != nil {
		return nil, err
	}

	adminSvc := admin.New(admin.Options{
		Store: a.store, Codenames: a.engine.Codenames, AllowInsecureHTTP: cfg.InsecureAllowHTTP, Logger: log,
		ProvisioningKeys: a.issueProvisioningKey,
	})
	a.controller = admin.NewController(adminSvc, a.decider, cfg.TrustProxy)

	if a.doorDecider, err = a.served(ctx); err != nil {
		return nil, err
	}
	if err := a.listenPprof(); err != nil {
		return nil, err
	}
	if err := a.buildLoginDoors(ctx, verifier); err != nil {
		return nil, err
	}
	// REST calls are decided with the HTTP client's address, which the
	// gateway passes along with its mark (made by buildLoginDoors).
	authorizer := admin.NewAuthorizer(a.decider, admin.AuthorizerOptions{GatewayMark: a.login.gatewayMark})

	a.server, err = server.New(ctx, server.Options{
		GRPCAddr:        cfg.GRPCAddr,
		HTTPAddr:        cfg.HTTPAddr,
		Decider:         a.doorDecider,
		Logger:          log,
		Registry:        a.metrics.Registry,
		Ready:           a.ready,
		Routes:          a.routes,
		ShutdownTimeout: cfg.ShutdownTimeout,
		OnPanic:         a.metrics.Panicked,

		ForwardAuthTrustedProxies: cfg.Ops.ForwardAuthTrustedProxies,
		Unary:                     []grpc.UnaryServerInterceptor{authorizer.Unary},
		Stream:                    []grpc.StreamServerInterceptor{authorizer.Stream},
		Register: func(s *grpc.Server) []string {
			gatehousev1.RegisterAdminServiceServer(s, adminSvc)
			return []string{"gatehouse.v1.AdminService"}
		},
		AuthService:     a.login.authSvc,
		Middleware:      a.login.middleware,
		GatewayMetadata: map[string]string{userapi.GatewayMarkHeader: a.login.gatewayMark},
		TrustProxy:      cfg.TrustProxy,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

type localAuth struct {
	token, basic gatehouse.Authenticator
}

// localCredentials opens the store, applies AUTH_TOKENS, and builds the API
// token and Basic authenticators with caches that every store change
// (revocation, disabled user, new grants) empties, on every replica.
func (a *App) localCredentials(ctx context.Context) (localAuth, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return localAuth{}, err
	}
	lines, err := apitoken.ParseEnv(a.cfg.AuthTokens, a.engine.Codenames())
	if err != nil {
		return localAuth{}, err
	}
	if err := st.SyncEnvTokens(ctx, lines); err != nil {
		return localAuth{}, fmt.Errorf("AUTH_TOKENS: %w", err)
	}
	// Store-backed identities: each store call bounded on the Check path,
	// cached at most StoreBackedMaxTTL (docs/reliability.md, promise 3).
	checkStore := authn.WithStoreDeadline(st, authn.DefaultStoreDeadline)
	opts := authn.CacheOptions{Size: a.cfg.IdentityCacheSize, MaxTTL: min(a.cfg.IdentityCacheTTL, authn.StoreBackedMaxTTL)}
	tokens, err := authn.NewCached(authn.WithDeadline(apitoken.New(checkStore, nil, a.log), authn.DefaultStoreDeadline), opts)
	if err != nil {
		return localAuth{}, err
	}
	b, err := basic.New(checkStore, password.DefaultParams())
	if err != nil {
		return localAuth{}, err
	}
	// Cache misses hash with argon2id: at most GOMAXPROCS at once.
	passwords, err := authn.NewCached(authn.Limited(b, 0, 0), opts)
	if err != nil {
		return localAuth{}, err
	}
	a.metrics.CacheStats("credential", func() (uint64, uint64, int) {
		t, p := tokens.Stats(), passwords.Stats()
		return t.Hits + p.Hits, t.Misses + p.Misses, t.Size + p.Size
	})
	a.syncer = storesync.New(storesync.Options{
		Source: st, Sink: a.engine, Logger: a.log,
		Invalidate: []func(){tokens.Invalidate, passwords.Invalidate},
	})
	if err := a.syncer.Load(ctx); err != nil {
		return localAuth{}, err
	}
	// Writes made through this process (a revocation, a disabled user) take
	// effect at its next request: the stores empty these caches before the
	// write returns. Other replicas' writes arrive through the syncer.
	if h, ok := st.(interface{ OnLocalWrite(func()) }); ok {
		h.OnLocalWrite(tokens.Invalidate)
		h.OnLocalWrite(passwords.Invalidate)
	}
	return localAuth{token: tokens, basic: passwords}, nil
}

// issuers lists every issuer whose tokens Gatehouse trusts.
func (a *App) issuers(ctx context.Context) ([]jwt.IssuerConfig, error) {
	var out []jwt.IssuerConfig
	cfg := a.cfg
	if cfg.Mode == config.ModeEmbedded {
		e, err := a.setupEmbedded(ctx)
		if err != nil {
			return nil, err
		}
		a.embedded, a.signer = e, e.ring.Signer()
		out = append(out, jwt.IssuerConfig{URL: cfg.EmbeddedIssuer(), Audiences: cfg.Audiences, Keys: e.ring})
	} else {
		src, err := a.remote(ctx, cfg.IssuerURL)
		if err != nil {
			return nil, fmt.Errorf("OIDC_ISSUER_URL: %w", err)
		}
		a.idpKeys = src
		out = append(out, jwt.IssuerConfig{URL: cfg.IssuerURL, Audiences: cfg.Audiences, Keys: src})
	}
	for _, u := range cfg.ExtraIssuers {
		src, err := a.remote(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("OIDC_EXTRA_ISSUERS: %w", err)
		}
		out = append(out, jwt.IssuerConfig{URL: u, Audiences: cfg.Audiences, Keys: src})
	}
	return out, nil
}

func (a *App) remote(ctx context.Context, issuer string) (*jwt.RemoteKeySource, error) {
	src, err := jwt.NewRemote(ctx, jwt.RemoteOptions{
		IssuerURL:             issuer,
		AllowInsecureHTTP:     a.cfg.InsecureAllowHTTP,
		RefreshInterval:       a.cfg.JWKSRefresh,
		UnknownKIDMinInterval: a.cfg.JWKSUnknownKID,
		MaxStaleness:          a.cfg.JWKSMaxStaleness,
		Logger:                a.log,
		OnFetch:               a.metrics.JWKSFetch,
	})
	if err != nil {
		return nil, err
	}
	a.remotes = append(a.remotes, src)
	return src, nil
}

// routes mounts the embedded issuer's endpoints.
func (a *App) routes(mux *http.ServeMux) {
	a.agentRoutes(mux)
	if a.controller != nil {
		a.controller.Register(mux)
	}
	if a.login.bff != nil {
		a.login.bff.Register(mux)
	}
	if a.embedded == nil {
		oidc.RegisterExternal(mux)
		oidc.RegisterAdminExternal(mux, decisionGate{a})
		oidc.RegisterUsersExternal(mux, decisionGate{a})
		return
	}
	h, err := oidc.New(oidc.Options{
		Issuer: a.cfg.EmbeddedIssuer(), Keys: a.embedded.ring, Service: a.embedded.svc, Clients: a.store,
		InteractionURL: a.cfg.Embedded.InteractionURL, SecureCookies: strings.HasPrefix(a.cfg.PublicURL, "https:"), Logger: a.log,
	})
	if err != nil { // only a JSON encoding failure of static data
		a.log.Error("embedded issuer disabled", "err", err)
		return
	}
	h.Register(mux, "/oidc")
	h.RegisterAdmin(mux, decisionGate{a}, a.store)
	h.RegisterUsers(mux, decisionGate{a}, a.store)
}

// ready is true once every trusted issuer's keys are loaded.
func (a *App) ready() (bool, string) {
	var waiting []string
	for _, r := range a.remotes {
		if ok, why := r.Ready(); !ok {
			waiting = append(waiting, why)
		}
	}
	if a.login.idp != nil {
		if ok, why := a.login.idp.Ready(); !ok {
			waiting = append(waiting, why)
		}
	}
	if len(waiting) > 0 {
		return false, strings.Join(waiting, "; ")
	}
	return true, ""
}

// Run serves until ctx ends, then stops gracefully.
func (a *App) Run(ctx context.Context) error {
	for _, r := range a.remotes {
		r.Start(ctx)
	}
	if a.login.idp != nil {
		go a.login.idp.Run(ctx)
	}
	go a.engine.Watch(ctx)
	go a.syncer.Run(ctx)
	go a.purgeExpired(ctx)
	if a.peer != nil {
		go a.peer.Run(ctx)
	}
	if a.embedded != nil {
		go a.embedded.ring.Run(ctx)
	}
	defer a.store.Close()
	a.runOps(ctx)
	defer a.closeOps(ctx)
	err := a.server.Run(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// GRPCAddr and HTTPAddr are the bound listener addresses.
func (a *App) GRPCAddr() string { return a.server.GRPCAddr() }

// HTTPAddr is the bound HTTP listener address.
func (a *App) HTTPAddr() string { return a.server.HTTPAddr() }

// Signer is the embedded issuer's signer (nil in external mode).
func (a *App) Signer() *token.Signer {
	if a.embedded != nil {
		return a.embedded.ring.Signer()
	}
	return a.signer
}

// Decider is the decision core every door calls.
func (a *App) Decider() *decision.Decider { return a.decider }

// Store is the process's store (tests and the admin surface use it).
func (a *App) Store() store.Store { return a.store }

// issueProvisioningKey lets the admin API issue agent provisioning keys with
// the same rule as the CLI (provision.IssueKey).
func (a *App) issueProvisioningKey(ctx context.Context, ref string, ttl time.Duration) (admin.ProvisioningKey, error) {
	k, err := provision.IssueKey(ctx, a.store, ref, ttl, time.Now())
	if err != nil {
		return admin.ProvisioningKey{}, err
	}
	return admin.ProvisioningKey{AgentID: k.Agent.ID, AgentName: k.Agent.Name, Key: k.Key, ExpiresAt: k.ExpiresAt}, nil
}

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

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn"
	"github.com/gatehouse-authz/gatehouse/authn/apitoken"
	"github.com/gatehouse-authz/gatehouse/authn/basic"
	"github.com/gatehouse-authz/gatehouse/authn/jwt"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/decision"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/storesync"
	"github.com/gatehouse-authz/gatehouse/internal/telemetry"
	"github.com/gatehouse-authz/gatehouse/policies"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/server/oidc"
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
}

// New builds every part and binds the listeners; Run serves.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, metrics: telemetry.New()}
	defer func() {
		if err != nil && a.store != nil {
			a.store.Close()
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
	chain := authn.NewChain(authn.ChainOptions{Bearer: cached, Token: local.token, Basic: local.basic})

	a.decider, err = decision.New(decision.Options{
		Identifier:   chain,
		Policy:       a.engine,
		Headers:      decision.HeaderNames(cfg.Headers),
		Logger:       log,
		LogDecisions: cfg.LogDecisions,
		Observer:     a.metrics,
	})
	if err != nil {
		return nil, err
	}

	a.server, err = server.New(ctx, server.Options{
		GRPCAddr:        cfg.GRPCAddr,
		HTTPAddr:        cfg.HTTPAddr,
		Decider:         a.decider,
		Logger:          log,
		Registry:        a.metrics.Registry,
		Ready:           a.ready,
		Routes:          a.routes,
		ShutdownTimeout: cfg.ShutdownTimeout,
		OnPanic:         a.metrics.Panicked,
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
	st, err := OpenStore(ctx, config.Storage{DataDir: a.cfg.DataDir, DatabaseURL: a.cfg.DatabaseURL})
	if err != nil {
		return localAuth{}, err
	}
	a.store = st
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
		signer, err := token.LoadOrCreateFileKey(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("DATA_DIR: %w", err)
		}
		a.signer = signer
		set, err := jwt.KeySetFromJWKS(signer.JWKS())
		if err != nil {
			return nil, fmt.Errorf("embedded issuer keys: %w", err)
		}
		out = append(out, jwt.IssuerConfig{URL: cfg.EmbeddedIssuer(), Audiences: cfg.Audiences, Keys: jwt.NewStaticKeySource(set)})
	} else {
		src, err := a.remote(ctx, cfg.IssuerURL)
		if err != nil {
			return nil, fmt.Errorf("OIDC_ISSUER_URL: %w", err)
		}
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
	if a.signer == nil {
		return
	}
	h, err := oidc.New(a.cfg.EmbeddedIssuer(), a.signer)
	if err != nil { // only a JSON encoding failure of static data
		a.log.Error("embedded issuer disabled", "err", err)
		return
	}
	h.Register(mux, "/oidc")
}

// ready is true once every trusted issuer's keys are loaded.
func (a *App) ready() (bool, string) {
	var waiting []string
	for _, r := range a.remotes {
		if ok, why := r.Ready(); !ok {
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
	go a.engine.Watch(ctx)
	go a.syncer.Run(ctx)
	defer a.store.Close()
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
func (a *App) Signer() *token.Signer { return a.signer }

// Decider is the decision core every door calls.
func (a *App) Decider() *decision.Decider { return a.decider }

// Store is the process's store (tests and the admin surface use it).
func (a *App) Store() store.Store { return a.store }

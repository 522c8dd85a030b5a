package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/login/embedded"
	"github.com/gatehouse-authz/gatehouse/server/authhttp"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/token"
)

// embeddedIssuer is the embedded mode's issuer: keys, token service, and
// the login provider for the REST routes.
type embeddedIssuer struct {
	ring     *issuer.KeyRing
	svc      *issuer.Service
	provider *embedded.Provider
	// sealer seals secrets at rest with AUTH_ENCRYPTION_KEY (or the key
	// generated into DATA_DIR).
	sealer *issuer.Sealer
	// ClientSecret is the secret of the built-in confidential client
	// (OIDC_CLIENT_ID), for the in-process OAuth BFF.
	clientSecret string
}

// openStore opens the store once; later calls reuse it.
func (a *App) openStore(ctx context.Context) (store.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	st, err := OpenStore(ctx, config.Storage{DataDir: a.cfg.DataDir, DatabaseURL: a.cfg.DatabaseURL})
	if err != nil {
		return nil, err
	}
	a.store = st
	return st, nil
}

// OpenKeyRing opens the embedded issuer's key ring on st with the
// configured (or DATA_DIR-generated) AUTH_ENCRYPTION_KEY. `gatehouse token
// mint` uses it too.
func OpenKeyRing(ctx context.Context, cfg *config.Config, st store.Store) (*issuer.KeyRing, *issuer.Sealer, error) {
	key := cfg.Embedded.EncryptionKey
	if key == nil {
		var err error
		if key, err = issuer.LoadOrCreateKeyFile(cfg.DataDir); err != nil {
			return nil, nil, fmt.Errorf("DATA_DIR: encryption key: %w", err)
		}
	}
	sealer, err := issuer.NewSealer(key)
	if err != nil {
		return nil, nil, fmt.Errorf("AUTH_ENCRYPTION_KEY: %w", err)
	}
	// A key file in DATA_DIR is what signed before the keys moved into the
	// store: it becomes the first key, so the tokens it issued stay valid.
	first, err := token.ReadFileKey(cfg.DataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("DATA_DIR: signing key file: %w", err)
	}
	e := cfg.Embedded
	keep := max(e.AccessTTL, e.IDTokenTTL) + cfg.JWTLeeway
	ring, err := issuer.NewKeyRing(ctx, issuer.KeyRingOptions{Store: st, Sealer: sealer, Keep: keep, RotateEvery: e.RotateEvery, FirstKey: first})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded issuer keys: %w", err)
	}
	return ring, sealer, nil
}

// setupEmbedded builds the embedded issuer: keys from the store, system
// groups and the bootstrap admin, the built-in client, the token service.
func (a *App) setupEmbedded(ctx context.Context) (*embeddedIssuer, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	cfg := a.cfg
	ring, sealer, err := OpenKeyRing(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	accounts, err := issuer.NewAccounts(st, sealer, password.DefaultParams(), nil, a.log)
	if err != nil {
		return nil, err
	}
	e := cfg.Embedded
	outcome, err := accounts.Bootstrap(ctx, e.BootstrapUsername, e.BootstrapPassword)
	if err != nil {
		return nil, err
	}
	switch outcome {
	case "created", "replaced":
		if e.BootstrapLog {
			a.log.Warn("bootstrap admin "+outcome+" (AUTH_INSECURE_ALLOW_BOOTSTRAP_LOG=true)", "username", e.BootstrapUsername, "password", e.BootstrapPassword)
		} else {
			a.log.Info("bootstrap admin "+outcome, "username", e.BootstrapUsername)
		}
	}
	svc := issuer.NewService(issuer.Config{
		Issuer: cfg.EmbeddedIssuer(), Audience: cfg.ClientID,
		AccessTTL: e.AccessTTL, RefreshTTL: e.RefreshTTL, IDTokenTTL: e.IDTokenTTL, SessionTTL: e.SessionTTL,
		InteractionTTL: e.InteractionTTL, ReuseInterval: e.ReuseInterval,
	}, st, ring, accounts, nil, a.log)
	secret, err := ensureBuiltinClient(ctx, cfg, st, sealer)
	if err != nil {
		return nil, fmt.Errorf("embedded issuer client %q: %w", cfg.ClientID, err)
	}
	return &embeddedIssuer{ring: ring, svc: svc, provider: embedded.New(svc), sealer: sealer, clientSecret: secret}, nil
}

// ensureBuiltinClient registers OIDC_CLIENT_ID as a confidential client
// whose redirect URI is the BFF callback, with OIDC_CLIENT_SECRET or a
// generated secret kept sealed in the store (so every replica shares it).
func ensureBuiltinClient(ctx context.Context, cfg *config.Config, st store.Store, sealer *issuer.Sealer) (string, error) {
	const kind, label = "client-secret", "client-secret"
	sec := cfg.ClientSecret
	if sec == "" {
		rec, err := st.GetIssuerRecord(ctx, kind, cfg.ClientID, time.Now())
		switch {
		case err == nil:
			plain, err := sealer.Open(rec.Data, label)
			if err != nil {
				return "", err
			}
			sec = string(plain)
		case errors.Is(err, gatehouse.ErrNotFound):
			if sec, err = secret.RandomToken(32); err != nil {
				return "", err
			}
			sealed, err := sealer.Seal([]byte(sec), label)
			if err != nil {
				return "", err
			}
			if err := st.PutIssuerRecord(ctx, store.IssuerRecord{Kind: kind, ID: cfg.ClientID, Data: sealed}); err != nil {
				return "", err
			}
		default:
			return "", err
		}
	}
	callback := cfg.PublicURL + "/api/v3/user/oauth/callback"
	c, err := st.GetClient(ctx, cfg.ClientID)
	if err == nil {
		ok, _ := password.Verify(c.SecretHash, sec)
		if ok && !c.Public && strings.Contains(strings.Join(c.RedirectURIs, " "), callback) {
			return sec, nil
		}
		// Changed secret or public URL: re-register.
		if err := st.DeleteClient(ctx, cfg.ClientID); err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return "", err
		}
	} else if !errors.Is(err, gatehouse.ErrNotFound) {
		return "", err
	}
	hash, err := password.Hash(sec, password.DefaultParams())
	if err != nil {
		return "", err
	}
	console := cfg.PublicURL
	if u, err := url.Parse(console); err == nil {
		console = u.Scheme + "://" + u.Host
	}
	_, err = st.CreateClient(ctx, gatehouse.Client{
		ClientID: cfg.ClientID, Name: "Gatehouse (built-in)", SecretHash: hash, ResponseTypes: []string{"code"},
		RedirectURIs: []string{callback}, PostLogoutRedirectURIs: []string{cfg.PublicURL, console + "/"},
	})
	if err != nil && !errors.Is(err, gatehouse.ErrAlreadyExists) { // another replica won
		return "", err
	}
	return sec, nil
}

// Issuer is the embedded issuer's token service (nil in external mode).
func (a *App) Issuer() *issuer.Service {
	if a.embedded == nil {
		return nil
	}
	return a.embedded.svc
}

// LoginProvider is the embedded login.Provider (nil in external mode).
func (a *App) LoginProvider() *embedded.Provider {
	if a.embedded == nil {
		return nil
	}
	return a.embedded.provider
}

// BuiltinClientSecret is the secret of the built-in confidential client.
func (a *App) BuiltinClientSecret() string {
	if a.embedded == nil {
		return ""
	}
	return a.embedded.clientSecret
}

// decisionGate authorizes Gatehouse's own REST routes with the decision
// core, exactly as ext_authz would.
type decisionGate struct{ a *App }

func (g decisionGate) Authorize(r *http.Request) gatehouse.Decision {
	return g.a.decider.Decide(r.Context(), authhttp.DecisionRequest(r, g.a.cfg.TrustProxy))
}

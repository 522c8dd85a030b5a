package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/jwt"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/login"
	"github.com/gatehouse-authz/gatehouse/login/external"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/authhttp"
	"github.com/gatehouse-authz/gatehouse/server/grpcapi"
	"github.com/gatehouse-authz/gatehouse/server/oauth"
	"github.com/gatehouse-authz/gatehouse/server/userapi"
	"github.com/gatehouse-authz/gatehouse/store"
)

// sessionSecretName is the AuthState secret holding the generated
// AUTH_SESSION_SECRET.
const sessionSecretName = "auth_session_secret"

// sealedSessionSecretName holds it sealed with AUTH_ENCRYPTION_KEY (CF-10);
// it is also the seal's label.
const sealedSessionSecretName = "auth_session_secret.sealed"

// loginDoors is the login side of the wiring: the per-IP limit and CORS on
// the HTTP listener (every mode), and when login is enabled the login
// service behind gatehouse.v1's Login/Refresh/Logout/GetProfile and the
// browser BFF, over the IdP client (external mode) or the embedded issuer
// (login_embedded.go).
type loginDoors struct {
	middleware func(http.Handler) http.Handler
	authSvc    gatehousev1.AuthServiceServer
	idp        *external.Provider
	bff        *oauth.Handler
	// gatewayMark marks the REST gateway's own gRPC calls (already limited
	// over HTTP).
	gatewayMark string
	// sealer seals the generated session secret (secretSealer); nil:
	// stored unsealed.
	sealer *issuer.Sealer
}

func (a *App) buildLoginDoors(ctx context.Context, bearer *jwt.Verifier) error {
	cfg := a.cfg
	for _, w := range cfg.Warnings {
		a.log.Warn(w)
	}
	state, _ := a.store.(store.AuthState)
	var limiter authhttp.Limiter
	if state != nil {
		limiter = state
	}
	mark := make([]byte, 16)
	if _, err := rand.Read(mark); err != nil {
		return err
	}
	a.login.gatewayMark = hex.EncodeToString(mark)
	a.login.middleware = authhttp.Middleware(authhttp.Options{
		Limiter:     limiter,
		Enabled:     cfg.RateLimit.Enabled,
		MaxRequests: cfg.RateLimit.MaxRequests,
		Window:      cfg.RateLimit.Window,
		TrustProxy:  cfg.TrustProxy,
		ConsoleURL:  cfg.ConsoleURL,
		Logger:      a.log,
	})
	if !cfg.LoginEnabled {
		return nil
	}
	var err error
	if a.login.sealer, err = a.secretSealer(); err != nil {
		return err
	}
	if cfg.Mode == config.ModeEmbedded {
		return a.embeddedLoginDoors(ctx, bearer, state, limiter)
	}

	idp, err := external.New(external.Options{
		IssuerURL:         cfg.IssuerURL,
		ClientID:          cfg.ClientID,
		ClientSecret:      cfg.ClientSecret,
		Scopes:            cfg.OAuthScopes,
		AllowInsecureHTTP: cfg.InsecureAllowHTTP,
		Logger:            a.log,
	})
	if err != nil {
		return err
	}
	a.login.idp = idp
	svc, err := login.NewService(login.ServiceOptions{
		Provider: idp,
		Verifier: bearer,
		Profile: func(ctx context.Context, token string, _ *gatehouse.Identity) (map[string]any, error) {
			raw, err := idp.UserInfo(ctx, token)
			if err != nil {
				return nil, err
			}
			var p map[string]any
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("%w: userinfo: %v", login.ErrInvalidCredentials, err)
			}
			return p, nil
		},
		RevokeAccessToken: func(ctx context.Context, token string) { idp.Revoke(ctx, token, "access_token") },
		Logger:            a.log,
	})
	if err != nil {
		return err
	}
	a.login.authSvc = a.userAPI(svc, limiter)

	// ID tokens: the IdP's keys, audience = the client id.
	idTokens, err := jwt.New(jwt.Options{
		Issuers: []jwt.IssuerConfig{{URL: cfg.IssuerURL, Audiences: []string{cfg.ClientID}, Keys: a.idpKeys}},
		Leeway:  cfg.JWTLeeway,
		Logger:  a.log,
	})
	if err != nil {
		return err
	}
	return a.buildBFF(ctx, state, idp, idTokens)
}

// buildBFF builds the browser OAuth BFF over broker (the external IdP, or
// the embedded issuer in-process), whatever the mode.
func (a *App) buildBFF(ctx context.Context, state store.AuthState, broker oauth.Broker, idTokens oauth.Verifier) error {
	cfg := a.cfg
	var sessions oauth.Sessions = oauth.NewMemorySessions()
	if cfg.SessionStore == config.SessionDatabase {
		if state == nil {
			return errors.New("AUTH_SESSION_STORE_TYPE: the store keeps no sessions")
		}
		sessions = state
	}
	secret, err := a.sessionSecret(ctx, state)
	if err != nil {
		return err
	}
	a.login.bff, err = oauth.New(oauth.Options{
		Broker:         broker,
		IDTokens:       idTokens,
		Sessions:       sessions,
		PublicURL:      cfg.PublicURL,
		ConsoleURL:     cfg.ConsoleURL,
		Scopes:         cfg.OAuthScopes,
		Secret:         secret,
		TTL:            cfg.SessionTTL,
		InsecureCookie: cfg.InsecureAllowHTTP,
		Logger:         a.log,
	})
	return err
}

// userAPI serves svc as gatehouse.v1's Login, Refresh, Logout and
// GetProfile beside Check, with direct gRPC logins rate-limited. Any mode's
// login.Service (embedded too) is served through it.
func (a *App) userAPI(svc *login.Service, limiter authhttp.Limiter) gatehousev1.AuthServiceServer {
	var limit userapi.RateLimit
	if a.cfg.RateLimit.Enabled && limiter != nil {
		limit = userapi.RateLimit{Limiter: limiter, MaxRequests: a.cfg.RateLimit.MaxRequests, Window: a.cfg.RateLimit.Window,
			GatewayMark: a.login.gatewayMark, Logger: a.log}
	}
	return userapi.New(grpcapi.NewAuthService(a.decider), svc, limit)
}

// sessionSecret is AUTH_SESSION_SECRET, else 32 random bytes generated once
// and kept in the store, so restarts and replicas share it (never a
// built-in constant). The stored value is sealed with AUTH_ENCRYPTION_KEY
// (or the key generated into DATA_DIR) whenever there is one (CF-10).
func (a *App) sessionSecret(ctx context.Context, state store.AuthState) ([]byte, error) {
	if a.cfg.SessionSecret != "" {
		return []byte(a.cfg.SessionSecret), nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if state == nil {
		return fresh, nil
	}
	sealer := a.login.sealer
	if sealer == nil {
		s, err := state.SecretOnce(ctx, sessionSecretName, fresh)
		if err != nil {
			return nil, fmt.Errorf("AUTH_SESSION_SECRET: generating it: %w", err)
		}
		return s, nil
	}
	sealed, err := sealer.Seal(fresh, sealedSessionSecretName)
	if err != nil {
		return nil, err
	}
	stored, err := state.SecretOnce(ctx, sealedSessionSecretName, sealed)
	if err != nil {
		return nil, fmt.Errorf("AUTH_SESSION_SECRET: generating it: %w", err)
	}
	s, err := sealer.Open(stored, sealedSessionSecretName)
	if err != nil {
		return nil, fmt.Errorf("AUTH_SESSION_SECRET: the generated secret in the store does not open with AUTH_ENCRYPTION_KEY (every replica needs the same key): %w", err)
	}
	return s, nil
}

// secretSealer is the sealer for generated secrets at rest: the embedded
// issuer's, else AUTH_ENCRYPTION_KEY, else a key generated into DATA_DIR
// when the store lives there too (SQLite). With PostgreSQL and no
// AUTH_ENCRYPTION_KEY, replicas could not share a generated key: nil, and
// the start-up warns.
func (a *App) secretSealer() (*issuer.Sealer, error) {
	if a.embedded != nil {
		return a.embedded.sealer, nil
	}
	key := a.cfg.Embedded.EncryptionKey
	if key == nil {
		if a.cfg.DatabaseURL != "" {
			if a.cfg.SessionSecret == "" {
				a.log.Warn("AUTH_SESSION_SECRET and AUTH_ENCRYPTION_KEY are unset: the generated session secret is stored unsealed in PostgreSQL; set AUTH_ENCRYPTION_KEY (the same on every replica) to seal it")
			}
			return nil, nil
		}
		var err error
		if key, err = issuer.LoadOrCreateKeyFile(a.cfg.DataDir); err != nil {
			return nil, fmt.Errorf("DATA_DIR: encryption key: %w", err)
		}
	}
	sealer, err := issuer.NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("AUTH_ENCRYPTION_KEY: %w", err)
	}
	return sealer, nil
}

// SessionSecret is the BFF session secret in use (tests check CF-10).
func (a *App) SessionSecret(ctx context.Context) ([]byte, error) {
	state, _ := a.store.(store.AuthState)
	return a.sessionSecret(ctx, state)
}

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

// loginDoors is the login side of the wiring: the per-IP limit and CORS on
// the HTTP listener (every mode), and in external mode the IdP client, the
// login service behind gatehouse.v1's Login/Refresh/Logout/GetProfile, and
// the browser BFF.
type loginDoors struct {
	middleware func(http.Handler) http.Handler
	authSvc    gatehousev1.AuthServiceServer
	idp        *external.Provider
	bff        *oauth.Handler
	// gatewayMark marks the REST gateway's own gRPC calls (already limited
	// over HTTP).
	gatewayMark string
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
	if cfg.Mode != config.ModeExternal || !cfg.LoginEnabled {
		return nil
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
		Broker:         idp,
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
// built-in constant).
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
	s, err := state.SecretOnce(ctx, sessionSecretName, fresh)
	if err != nil {
		return nil, fmt.Errorf("AUTH_SESSION_SECRET: generating it: %w", err)
	}
	return s, nil
}

// SessionSecret is the BFF session secret in use (tests check CF-10).
func (a *App) SessionSecret(ctx context.Context) ([]byte, error) {
	state, _ := a.store.(store.AuthState)
	return a.sessionSecret(ctx, state)
}

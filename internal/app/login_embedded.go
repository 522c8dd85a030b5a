package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/jwt"
	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/login"
	"github.com/gatehouse-authz/gatehouse/server/authhttp"
	"github.com/gatehouse-authz/gatehouse/store"
)

// embeddedLoginDoors serves external mode's login doors from the embedded
// issuer, so the REST routes behave the same in both modes (issue 6):
// gatehouse.v1's Login, Refresh, Logout and GetProfile (and
// /api/v3/user/login, /refresh, /profile, /logout) through login.Service,
// rate-limited alike, and the browser BFF with the issuer as its broker,
// in-process, as the built-in client OIDC_CLIENT_ID (BF-02, BF-11).
func (a *App) embeddedLoginDoors(ctx context.Context, bearer *jwt.Verifier, state store.AuthState, limiter authhttp.Limiter) error {
	p := a.embedded.provider
	svc, err := login.NewService(login.ServiceOptions{
		Provider: p,
		Verifier: bearer,
		// PF-01: the local user's record, for an access token of this issuer.
		Profile: func(ctx context.Context, token string, _ *gatehouse.Identity) (map[string]any, error) {
			prof, err := p.Profile(ctx, token)
			if err != nil {
				return nil, err
			}
			return jsonObject(prof)
		},
		// LO-02: the bearer's user loses every refresh token and issuer
		// session, whether or not the body names a refresh token.
		RevokeAccessToken: func(ctx context.Context, token string) {
			if err := p.Logout(ctx, token); err != nil {
				a.log.Warn("logout: revoking the user's refresh tokens failed (ignored)", "err", err)
			}
		},
		Logger: a.log,
	})
	if err != nil {
		return err
	}
	a.login.authSvc = a.userAPI(svc, limiter)
	return a.buildBFF(ctx, state, p, idTokenVerifier{svc: a.embedded.svc, audience: a.cfg.ClientID})
}

// idTokenVerifier verifies the embedded issuer's ID tokens for the BFF's
// callback: signature by a key of the ring, iss, exp, aud = the built-in
// client and token_use "id". (The decision core's verifier refuses ID tokens
// by design, so it cannot serve here.)
type idTokenVerifier struct {
	svc      *issuer.Service
	audience string
}

func (v idTokenVerifier) Verify(_ context.Context, raw string) (*gatehouse.Identity, error) {
	claims, err := v.svc.Verify(raw, issuer.VerifyOptions{Typ: "JWT", Audience: v.audience})
	if err != nil {
		return nil, fmt.Errorf("id token: %w", err)
	}
	if use, _ := claims["token_use"].(string); use != "id" {
		return nil, errors.New("id token: token_use is not id")
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, errors.New("id token: no sub")
	}
	return &gatehouse.Identity{Kind: gatehouse.KindUser, Subject: sub, Issuer: v.svc.Config().Issuer, Claims: claims}, nil
}

// jsonObject converts v to plain JSON values ([]string becomes []any, ...),
// as gatehouse.v1's GetProfile (a google.protobuf.Struct) requires.
func jsonObject(v map[string]any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return out, nil
}

// Package embedded is login.Provider for AUTH_MODE=embedded: the REST
// routes (/api/v3/user/login, /refresh, /logout) backed by the embedded
// issuer, so they behave as in external mode.
package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	"github.com/gatehouse-authz/gatehouse/issuer"
	"github.com/gatehouse-authz/gatehouse/login"
)

// Scope of CLI logins: what the Controller's BFF asks for.
const Scope = "openid profile email groups offline_access"

// Provider logs users in against the embedded issuer; its tokens belong to
// the issuer's audience client (OIDC_CLIENT_ID).
type Provider struct{ svc *issuer.Service }

var _ login.Provider = (*Provider)(nil)

// New wraps the issuer's service.
func New(svc *issuer.Service) *Provider { return &Provider{svc: svc} }

// Login checks the password, then TOTP or a recovery code when MFA is on
// (LG-01…LG-10). Every refusal is login.ErrInvalidCredentials (joined with
// login.ErrMFARequired when only the second factor is missing).
func (p *Provider) Login(ctx context.Context, c login.Credentials) (login.Tokens, error) {
	u, _, err := p.svc.Accounts.PasswordLogin(ctx, c.Username, c.Password, c.TOTP)
	if err != nil {
		return login.Tokens{}, mapErr(err)
	}
	t, err := p.svc.Issue(ctx, issuer.Grant{UserID: u.ID, ClientID: p.svc.Config().Audience, Scope: Scope})
	if err != nil {
		return login.Tokens{}, mapErr(err)
	}
	return tokens(t), nil
}

// Refresh rotates a refresh token (RF-01…RF-05).
func (p *Provider) Refresh(ctx context.Context, refreshToken string) (login.Tokens, error) {
	if strings.TrimSpace(refreshToken) == "" {
		return login.Tokens{}, login.ErrInvalidCredentials
	}
	t, err := p.svc.Refresh(ctx, refreshToken, p.svc.Config().Audience)
	if err != nil {
		return login.Tokens{}, mapErr(err)
	}
	return tokens(t), nil
}

// Logout revokes every refresh token of the user (LO-02). It takes a
// refresh token, or the bearer access token the route was called with.
func (p *Provider) Logout(ctx context.Context, token string) error {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil
	}
	userID := ""
	if strings.Count(token, ".") == 2 {
		if claims, err := p.svc.Verify(token, issuer.VerifyOptions{Typ: "at+jwt", AllowExpired: true}); err == nil {
			userID, _ = claims["sub"].(string)
		}
	}
	if userID == "" {
		var err error
		if userID, err = p.svc.RefreshTokenUser(ctx, token); err != nil {
			return mapErr(err)
		}
	}
	if userID == "" {
		return nil
	}
	if err := p.svc.LogoutUser(ctx, userID, ""); err != nil {
		return mapErr(err)
	}
	return nil
}

// Profile is PF-01's answer for the user of a verified access token.
func (p *Provider) Profile(ctx context.Context, accessToken string) (map[string]any, error) {
	claims, err := p.svc.Verify(accessToken, issuer.VerifyOptions{Typ: "at+jwt", Audience: p.svc.Config().Audience})
	if err != nil {
		return nil, login.ErrInvalidCredentials
	}
	sub, _ := claims["sub"].(string)
	prof, err := p.svc.Profile(ctx, sub)
	if err != nil {
		return nil, login.ErrInvalidCredentials
	}
	return prof, nil
}

func tokens(t issuer.Tokens) login.Tokens {
	return login.Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, IDToken: t.IDToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn}
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, issuer.ErrMFARequired):
		return errors.Join(login.ErrInvalidCredentials, login.ErrMFARequired)
	case errors.Is(err, issuer.ErrInvalidCredentials), errors.Is(err, issuer.ErrInvalidGrant):
		return login.ErrInvalidCredentials
	}
	return errors.Join(login.ErrUnavailable, err)
}

// LoginSubject mints the CLI-shaped token pair for the subject of an ID
// token the embedded issuer returned to the OAuth BFF (BF-11): the user
// must still exist and be active.
func (p *Provider) LoginSubject(ctx context.Context, userID string) (login.Tokens, error) {
	t, err := p.svc.Issue(ctx, issuer.Grant{UserID: userID, ClientID: p.svc.Config().Audience, Scope: Scope})
	if err != nil {
		return login.Tokens{}, mapErr(err)
	}
	return tokens(t), nil
}

// AuthCodeURL and Exchange make the provider the OAuth BFF's broker in
// embedded mode (BF-02, BF-11): the browser goes to the issuer's /auth with
// prompt=login as the built-in confidential client, and the code exchange
// runs in-process. The client is OIDC_CLIENT_ID, which is also the access
// tokens' audience, so the pair is the CLI-shaped one.
func (p *Provider) AuthCodeURL(redirectURL, state, nonce, verifier string, scopes []string) (string, error) {
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {p.svc.Config().Audience}, "redirect_uri": {redirectURL}, "response_type": {"code"},
		"scope": {strings.Join(scopes, " ")}, "state": {state}, "nonce": {nonce}, "prompt": {"login"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	return p.svc.Config().Issuer + "/auth?" + q.Encode(), nil
}

// Exchange redeems a code the issuer sent to the BFF's callback.
func (p *Provider) Exchange(ctx context.Context, redirectURL, code, verifier string) (login.Tokens, error) {
	t, err := p.svc.ExchangeCode(ctx, code, p.svc.Config().Audience, redirectURL, verifier)
	if err != nil {
		return login.Tokens{}, mapErr(err)
	}
	return tokens(t), nil
}

// Package external is the login.Provider of AUTH_MODE=external: an
// enterprise OpenID provider (Keycloak, Auth0, Okta, Entra ID, ...) found
// through discovery and spoken to with golang.org/x/oauth2. CLI login is the
// resource-owner password grant, refresh the refresh_token grant, logout a
// best-effort revocation (RFC 7009); the browser BFF uses the same client for
// the authorization-code exchange.
package external

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-authz/gatehouse/login"
)

const discoveryPath = "/.well-known/openid-configuration"

// Options configure a Provider.
type Options struct {
	IssuerURL    string
	ClientID     string
	ClientSecret string
	// Scopes requested on the password grant (and by the BFF).
	Scopes []string
	// HTTPClient makes every IdP call (a client with a 10s timeout when nil).
	HTTPClient *http.Client
	// AllowInsecureHTTP accepts http:// issuer and endpoint URLs.
	AllowInsecureHTTP bool
	Logger            *slog.Logger
	// MinBackoff and MaxBackoff bound the discovery retry (500ms, 30s).
	MinBackoff, MaxBackoff time.Duration
}

// Metadata is the part of the issuer's discovery document Gatehouse uses.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
}

// Provider talks to one external IdP. Discovery runs in the background
// (Run) until it succeeds; until then every call is login.ErrUnavailable and
// Ready says why.
type Provider struct {
	opts   Options
	client *http.Client
	log    *slog.Logger

	md      atomic.Pointer[Metadata]
	mu      sync.Mutex
	lastErr error
	loaded  chan struct{}
	once    sync.Once
}

var _ login.Provider = (*Provider)(nil)

// New checks opts; it does no I/O.
func New(opts Options) (*Provider, error) {
	switch {
	case opts.IssuerURL == "":
		return nil, errors.New("external: OIDC_ISSUER_URL is empty")
	case opts.ClientID == "":
		return nil, errors.New("external: OIDC_CLIENT_ID is empty")
	}
	opts.IssuerURL = strings.TrimSuffix(opts.IssuerURL, "/")
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if len(opts.Scopes) == 0 {
		opts.Scopes = []string{"openid", "profile", "email", "groups", "offline_access"}
	}
	p := &Provider{opts: opts, client: opts.HTTPClient, log: opts.Logger, loaded: make(chan struct{})}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.lastErr = errors.New("issuer discovery has not run yet")
	return p, nil
}

// ClientID is the OAuth client id.
func (p *Provider) ClientID() string { return p.opts.ClientID }

// Issuer is the configured issuer URL.
func (p *Provider) Issuer() string { return p.opts.IssuerURL }

// Loaded is closed once discovery succeeded.
func (p *Provider) Loaded() <-chan struct{} { return p.loaded }

// Ready reports whether discovery succeeded and, if not, why.
func (p *Provider) Ready() (bool, string) {
	if p.md.Load() != nil {
		return true, ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return false, fmt.Sprintf("OIDC_ISSUER_URL %s: %v", p.opts.IssuerURL, p.lastErr)
}

// Metadata returns the discovered endpoints, or login.ErrUnavailable.
func (p *Provider) Metadata() (Metadata, error) {
	if md := p.md.Load(); md != nil {
		return *md, nil
	}
	_, why := p.Ready()
	return Metadata{}, fmt.Errorf("%w: %s", login.ErrUnavailable, why)
}

// Run retries discovery with exponential backoff (and jitter) until it
// succeeds or ctx ends.
func (p *Provider) Run(ctx context.Context) {
	backoff := p.opts.MinBackoff
	for p.md.Load() == nil {
		err := p.Discover(ctx)
		if err == nil {
			return
		}
		p.log.Warn("external IdP discovery failed; retrying", "issuer", p.opts.IssuerURL, "in", backoff.String(), "err", err)
		t := time.NewTimer(backoff + time.Duration(rand.Int64N(int64(backoff)/5+1)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, p.opts.MaxBackoff)
	}
}

// Discover fetches and checks the discovery document once: the issuer must
// match exactly and the authorization, token, JWKS and UserInfo endpoints
// must be present (revocation is optional).
func (p *Provider) Discover(ctx context.Context) error {
	md, err := p.discover(ctx)
	if err != nil {
		p.mu.Lock()
		p.lastErr = err
		p.mu.Unlock()
		return err
	}
	p.md.Store(md)
	p.once.Do(func() { close(p.loaded) })
	p.log.Info("external IdP discovered", "issuer", md.Issuer, "revocation", md.RevocationEndpoint != "")
	return nil
}

func (p *Provider) discover(ctx context.Context) (*Metadata, error) {
	u := p.opts.IssuerURL + discoveryPath
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: %s answered %s", u, resp.Status)
	}
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("discovery: decode: %w", err)
	}
	if md.Issuer != p.opts.IssuerURL {
		return nil, fmt.Errorf("discovery: issuer %q does not match the configured %q", md.Issuer, p.opts.IssuerURL)
	}
	var missing []string
	for _, e := range []struct{ name, v string }{
		{"authorization_endpoint", md.AuthorizationEndpoint},
		{"token_endpoint", md.TokenEndpoint},
		{"jwks_uri", md.JWKSURI},
		{"userinfo_endpoint", md.UserinfoEndpoint},
	} {
		if e.v == "" {
			missing = append(missing, e.name)
			continue
		}
		if err := p.checkURL(e.v); err != nil {
			return nil, fmt.Errorf("discovery: %s: %w", e.name, err)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("discovery: missing %s", strings.Join(missing, ", "))
	}
	if md.RevocationEndpoint != "" {
		if err := p.checkURL(md.RevocationEndpoint); err != nil {
			return nil, fmt.Errorf("discovery: revocation_endpoint: %w", err)
		}
	}
	return &md, nil
}

func (p *Provider) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https", u.Scheme == "http" && p.opts.AllowInsecureHTTP:
		return nil
	}
	return fmt.Errorf("%q is not https (AUTH_INSECURE_ALLOW_HTTP is off)", raw)
}

// OAuth2 returns the oauth2 client configuration for redirectURL (empty for
// the password and refresh grants).
func (p *Provider) OAuth2(redirectURL string, scopes []string) (*oauth2.Config, error) {
	md, err := p.Metadata()
	if err != nil {
		return nil, err
	}
	if scopes == nil {
		scopes = p.opts.Scopes
	}
	return &oauth2.Config{
		ClientID:     p.opts.ClientID,
		ClientSecret: p.opts.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   md.AuthorizationEndpoint,
			TokenURL:  md.TokenEndpoint,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: redirectURL,
		Scopes:      scopes,
	}, nil
}

// ctx adds the provider's HTTP client for oauth2.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.client)
}

// Login is the password grant with username and password; every IdP refusal
// is login.ErrInvalidCredentials.
func (p *Provider) Login(ctx context.Context, c login.Credentials) (login.Tokens, error) {
	cfg, err := p.OAuth2("", nil)
	if err != nil {
		return login.Tokens{}, err
	}
	tok, err := cfg.PasswordCredentialsToken(p.ctx(ctx), c.Username, c.Password)
	if err != nil {
		return login.Tokens{}, p.tokenError("password grant", err)
	}
	return Convert(tok), nil
}

// Refresh is the refresh_token grant.
func (p *Provider) Refresh(ctx context.Context, refreshToken string) (login.Tokens, error) {
	if refreshToken == "" {
		return login.Tokens{}, login.ErrInvalidCredentials
	}
	cfg, err := p.OAuth2("", nil)
	if err != nil {
		return login.Tokens{}, err
	}
	// Expiry in the past forces the refresh.
	src := cfg.TokenSource(p.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)})
	tok, err := src.Token()
	if err != nil {
		return login.Tokens{}, p.tokenError("refresh grant", err)
	}
	return Convert(tok), nil
}

// Exchange redeems an authorization code with its PKCE verifier.
func (p *Provider) Exchange(ctx context.Context, redirectURL, code, verifier string) (login.Tokens, error) {
	cfg, err := p.OAuth2(redirectURL, nil)
	if err != nil {
		return login.Tokens{}, err
	}
	tok, err := cfg.Exchange(p.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return login.Tokens{}, p.tokenError("code exchange", err)
	}
	return Convert(tok), nil
}

// Logout revokes the refresh token at the IdP when it advertises revocation.
// Best effort: failures are logged, never returned.
func (p *Provider) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken != "" {
		p.Revoke(ctx, refreshToken, "refresh_token")
	}
	return nil
}

// Revoke calls the revocation endpoint (RFC 7009) when advertised and reports
// whether the IdP accepted. Failures are logged only.
func (p *Provider) Revoke(ctx context.Context, token, hint string) bool {
	md, err := p.Metadata()
	if err != nil || md.RevocationEndpoint == "" || token == "" {
		return false
	}
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, md.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(p.opts.ClientID), url.QueryEscape(p.opts.ClientSecret))
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Warn("token revocation failed", "hint", hint, "err", err)
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		p.log.Info("token revocation refused by the IdP (ignored)", "hint", hint, "status", resp.StatusCode)
		return false
	}
	return true
}

// UserInfo returns the IdP's UserInfo answer for an access token, as JSON.
// A refusal is login.ErrInvalidCredentials.
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (json.RawMessage, error) {
	md, err := p.Metadata()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, md.UserinfoEndpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", login.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", login.ErrUnavailable, err)
	}
	switch {
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: userinfo answered %s", login.ErrUnavailable, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: userinfo answered %s", login.ErrInvalidCredentials, resp.Status)
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		// A signed (JWT) UserInfo answer is not supported.
		return nil, fmt.Errorf("%w: userinfo is not a JSON object", login.ErrInvalidCredentials)
	}
	return json.RawMessage(body), nil
}

// tokenError maps an oauth2 error: an answer of the IdP below 500 is a
// refusal (invalid credentials), anything else is unavailability.
func (p *Provider) tokenError(what string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		p.log.Info("IdP refused "+what, "error", re.ErrorCode, "status", re.Response.StatusCode)
		return fmt.Errorf("%w: %s: %s", login.ErrInvalidCredentials, what, re.ErrorCode)
	}
	p.log.Warn("IdP "+what+" failed", "err", err)
	return fmt.Errorf("%w: %s: %v", login.ErrUnavailable, what, err)
}

// Convert turns an oauth2 token into login.Tokens.
func Convert(t *oauth2.Token) login.Tokens {
	out := login.Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType}
	if id, ok := t.Extra("id_token").(string); ok {
		out.IDToken = id
	}
	if t.ExpiresIn > 0 {
		out.ExpiresIn = time.Duration(t.ExpiresIn) * time.Second
	} else if !t.Expiry.IsZero() {
		out.ExpiresIn = time.Until(t.Expiry).Round(time.Second)
	}
	return out
}

// AuthCodeURL is the authorization request of the browser flow: code flow
// with PKCE S256 (the challenge of verifier), state and nonce.
func (p *Provider) AuthCodeURL(redirectURL, state, nonce, verifier string, scopes []string) (string, error) {
	cfg, err := p.OAuth2(redirectURL, scopes)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)), nil
}

// Package login is the shared logic behind Gatehouse's login doors: CLI
// password login, refresh, logout and profile, served by gRPC, the REST
// gateway and the browser OAuth BFF alike. A Provider talks to whoever issues
// the tokens (an external IdP in login/external, Gatehouse's own issuer in
// login/embedded); the doors only convert their wire shapes.
package login

import (
	"context"
	"errors"
	"time"
)

// Credentials are what a CLI sends to log in. Username is any login id
// (the Controller's "email" field), TOTP may be empty.
type Credentials struct{ Username, Password, TOTP string }

// Tokens are the result of a login or refresh. RefreshToken and IDToken may
// be empty when the issuer sent none.
type Tokens struct {
	AccessToken, RefreshToken, IDToken, TokenType string
	ExpiresIn                                     time.Duration
}

// Provider issues and revokes tokens.
type Provider interface {
	// Login exchanges credentials for tokens. Any refusal is
	// ErrInvalidCredentials (or ErrMFARequired); an issuer that cannot be
	// reached is ErrUnavailable.
	Login(ctx context.Context, c Credentials) (Tokens, error)
	// Refresh exchanges a refresh token for a new pair.
	Refresh(ctx context.Context, refreshToken string) (Tokens, error)
	// Logout revokes what it can; best effort.
	Logout(ctx context.Context, refreshToken string) error
}

// Errors every Provider returns (wrapped) so doors map them to one status.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrUnavailable        = errors.New("identity provider unavailable")
	ErrMFARequired        = errors.New("mfa required")
)

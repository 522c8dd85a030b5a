// Package login is the REST login routes' view of a login backend
// (external IdP or embedded issuer).
//
// NOTE (helper "embedded"): declared here from COORD.md because helper
// "external", who owns this package, had not committed it yet. On merge,
// keep external's file and drop this one if they differ.
package login

import (
	"context"
	"errors"
	"time"
)

// Credentials are a CLI login's.
type Credentials struct{ Username, Password, TOTP string }

// Tokens are what a login or refresh returns.
type Tokens struct {
	AccessToken, RefreshToken, IDToken, TokenType string
	ExpiresIn                                     time.Duration
}

// Provider logs users in.
type Provider interface {
	Login(ctx context.Context, c Credentials) (Tokens, error)
	Refresh(ctx context.Context, refreshToken string) (Tokens, error)
	Logout(ctx context.Context, refreshToken string) error
}

// Sentinels.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrUnavailable        = errors.New("login backend unavailable")
	ErrMFARequired        = errors.New("MFA required")
)

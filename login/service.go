package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// ErrUnauthenticated is a missing or invalid bearer on profile and logout.
var ErrUnauthenticated = errors.New("valid bearer token required")

// Verifier verifies a bearer access token (the decision core's JWT verifier).
type Verifier interface {
	Verify(ctx context.Context, token string) (*gatehouse.Identity, error)
}

// ProfileFunc returns the profile of the verified caller: in external mode
// the IdP's UserInfo answer for the bearer, in embedded mode the local
// user's record.
type ProfileFunc func(ctx context.Context, accessToken string, id *gatehouse.Identity) (map[string]any, error)

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Provider Provider
	Verifier Verifier
	// Profile answers GetProfile; nil returns the verified token's claims.
	Profile ProfileFunc
	// RevokeAccessToken, when set, is called on logout with the bearer
	// (best effort; external mode: RFC 7009 with token_type_hint
	// access_token).
	RevokeAccessToken func(ctx context.Context, token string)
	Logger            *slog.Logger
}

// Service is the logic behind every login door: gRPC, REST and the BFF call
// it, and only convert their wire shapes.
type Service struct {
	opts ServiceOptions
	log  *slog.Logger
}

// NewService checks opts.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.Provider == nil || opts.Verifier == nil {
		return nil, errors.New("login: provider and verifier are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, log: log}, nil
}

// Provider is the token issuer behind the service.
func (s *Service) Provider() Provider { return s.opts.Provider }

// Login logs a CLI in. Refusals are ErrInvalidCredentials whatever the
// issuer said (no user enumeration); the detail goes to the log.
func (s *Service) Login(ctx context.Context, c Credentials) (Tokens, error) {
	t, err := s.opts.Provider.Login(ctx, c)
	if err != nil {
		return Tokens{}, s.refusal("login", err)
	}
	return t, nil
}

// Refresh exchanges a refresh token.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	t, err := s.opts.Provider.Refresh(ctx, refreshToken)
	if err != nil {
		return Tokens{}, s.refusal("refresh", err)
	}
	return t, nil
}

// Logout verifies the bearer, then revokes the access token and, when
// given, the refresh token. Revocation is best effort.
func (s *Service) Logout(ctx context.Context, authorization, refreshToken string) error {
	token, _, err := s.verify(ctx, authorization)
	if err != nil {
		return err
	}
	if s.opts.RevokeAccessToken != nil {
		s.opts.RevokeAccessToken(ctx, token)
	}
	if err := s.opts.Provider.Logout(ctx, refreshToken); err != nil {
		s.log.Warn("logout: revocation failed (ignored)", "err", err)
	}
	return nil
}

// Profile verifies the bearer and returns the caller's profile.
func (s *Service) Profile(ctx context.Context, authorization string) (map[string]any, error) {
	token, id, err := s.verify(ctx, authorization)
	if err != nil {
		return nil, err
	}
	if s.opts.Profile == nil {
		return id.Claims, nil
	}
	p, err := s.opts.Profile(ctx, token, id)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return nil, err
		}
		s.log.Info("profile refused", "err", err)
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return p, nil
}

// verify takes "Bearer <jwt>" and verifies it.
func (s *Service) verify(ctx context.Context, authorization string) (string, *gatehouse.Identity, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", nil, ErrUnauthenticated
	}
	id, err := s.opts.Verifier.Verify(ctx, token)
	if err != nil {
		if ae := gatehouse.AsAuthError(err); ae.Internal {
			return "", nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		s.log.Info("bearer refused", "err", err)
		return "", nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return token, id, nil
}

func (s *Service) refusal(what string, err error) error {
	switch {
	case errors.Is(err, ErrUnavailable):
		s.log.Warn(what+": identity provider unavailable", "err", err)
		return err
	case errors.Is(err, ErrMFARequired):
		s.log.Info(what+" refused: MFA required", "err", err)
		return err
	}
	s.log.Info(what+" refused", "err", err)
	if errors.Is(err, ErrInvalidCredentials) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
}

// Package apitoken authenticates `Authorization: Token <secret>` API tokens
// (AURA, Django REST framework style) against the store, where only their
// SHA-256 digests live.
package apitoken

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
)

// Store is what token authentication reads.
type Store interface {
	TokenByDigest(ctx context.Context, digest [32]byte) (gatehouse.APIToken, error)
	GetUser(ctx context.Context, id string) (gatehouse.User, error)
	GroupsOf(ctx context.Context, userID string) ([]string, error)
	Permissions(ctx context.Context, userID string) ([]string, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// Messages of Django REST framework's TokenAuthentication (AT-02, AT-03).
const (
	MsgNoCredentials = "Invalid token header. No credentials provided."
	MsgSpaces        = "Invalid token header. Token string should not contain spaces."
	MsgInvalid       = "Invalid token."
	MsgInactive      = "User inactive or deleted."
)

// Authenticator verifies API tokens.
type Authenticator struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
}

var _ gatehouse.Authenticator = (*Authenticator)(nil)

// New returns an Authenticator; now and log may be nil.
func New(s Store, now func() time.Time, log *slog.Logger) *Authenticator {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authenticator{store: s, now: now, log: log}
}

func refuse(reason gatehouse.Reason, msg string, format string, args ...any) error {
	e := gatehouse.Refuse(reason, format, args...)
	e.Message = msg
	return e
}

// Authenticate proves the token's user. The identity carries the user's
// groups and permissions, narrowed to the token's subset when it has one.
func (a *Authenticator) Authenticate(ctx context.Context, cred gatehouse.Credential, _ *gatehouse.Request) (*gatehouse.Identity, error) {
	switch {
	case cred.Value == "":
		return nil, refuse(gatehouse.ReasonCredentialMalformed, MsgNoCredentials, "apitoken: empty token")
	case strings.ContainsAny(cred.Value, " \t"):
		return nil, refuse(gatehouse.ReasonCredentialMalformed, MsgSpaces, "apitoken: token with spaces")
	}
	digest := secret.Digest(cred.Value)
	t, err := a.store.TokenByDigest(ctx, digest)
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		return nil, refuse(gatehouse.ReasonCredentialInvalid, MsgInvalid, "apitoken: unknown token %s", secret.DigestPrefix(cred.Value))
	case err != nil:
		return nil, gatehouse.Unavailable(gatehouse.ReasonStoreUnavailable, fmt.Errorf("apitoken: lookup: %w", err))
	}
	// The lookup is by digest; compare the digests again in constant time so
	// a store that matched loosely can never admit another secret.
	if subtle.ConstantTimeCompare(t.Digest[:], digest[:]) != 1 {
		return nil, refuse(gatehouse.ReasonCredentialInvalid, MsgInvalid, "apitoken: digest mismatch")
	}
	now := a.now()
	switch {
	case !t.RevokedAt.IsZero():
		return nil, refuse(gatehouse.ReasonTokenRevoked, MsgInvalid, "apitoken: token %s revoked", t.ID)
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return nil, refuse(gatehouse.ReasonTokenExpired, MsgInvalid, "apitoken: token %s expired", t.ID)
	}
	u, err := a.store.GetUser(ctx, t.UserID)
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		return nil, refuse(gatehouse.ReasonUserInactive, MsgInactive, "apitoken: token %s: user deleted", t.ID)
	case err != nil:
		return nil, gatehouse.Unavailable(gatehouse.ReasonStoreUnavailable, fmt.Errorf("apitoken: user: %w", err))
	case u.Disabled:
		return nil, refuse(gatehouse.ReasonUserInactive, MsgInactive, "apitoken: token %s: user %s disabled", t.ID, u.Login)
	}
	id, err := Identity(ctx, a.store, u, gatehouse.KindToken, t.Permissions)
	if err != nil {
		return nil, err
	}
	id.ExpiresAt = t.ExpiresAt
	if err := a.store.TouchToken(ctx, t.ID, now); err != nil {
		// Last-used time is bookkeeping: never a reason to refuse.
		a.log.WarnContext(ctx, "apitoken: recording last use failed", "token_id", t.ID, "error", err)
	}
	return id, nil
}

// Identity builds a local user's identity: its groups and permissions, the
// permissions narrowed to subset when subset is non-nil (never more than the
// user holds).
func Identity(ctx context.Context, s interface {
	GroupsOf(ctx context.Context, userID string) ([]string, error)
	Permissions(ctx context.Context, userID string) ([]string, error)
}, u gatehouse.User, kind gatehouse.IdentityKind, subset []string) (*gatehouse.Identity, error) {
	groups, err := s.GroupsOf(ctx, u.ID)
	if err != nil {
		return nil, gatehouse.Unavailable(gatehouse.ReasonStoreUnavailable, fmt.Errorf("groups of %s: %w", u.Login, err))
	}
	perms, err := s.Permissions(ctx, u.ID)
	if err != nil {
		return nil, gatehouse.Unavailable(gatehouse.ReasonStoreUnavailable, fmt.Errorf("permissions of %s: %w", u.Login, err))
	}
	if subset != nil {
		perms = slices.DeleteFunc(perms, func(p string) bool { return !slices.Contains(subset, p) })
	}
	if groups == nil {
		groups = []string{}
	}
	if perms == nil {
		perms = []string{}
	}
	return &gatehouse.Identity{Kind: kind, Subject: u.Login, Groups: groups, Permissions: perms}, nil
}

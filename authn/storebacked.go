package authn

import (
	"context"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Limits of store-backed credentials (API tokens, Basic) on the Check path.
const (
	// DefaultStoreDeadline bounds each store round trip a Check makes, under
	// Envoy's 200ms default timeout: a slow database answers 503 in band
	// rather than letting Envoy time out (and, with failure_mode_allow,
	// let the request through).
	DefaultStoreDeadline = 150 * time.Millisecond
	// StoreBackedMaxTTL bounds how long an identity read from the store is
	// served from the cache: with the database down, store-backed Checks
	// keep working from the cache this long, then answer 503; with
	// notifications lost, a revocation takes effect within it.
	StoreBackedMaxTTL = 60 * time.Second
)

// CheckStore is what the store-backed authenticators read on the Check path
// (apitoken.Store and basic.Store together).
type CheckStore interface {
	TokenByDigest(ctx context.Context, digest [32]byte) (gatehouse.APIToken, error)
	GetUser(ctx context.Context, id string) (gatehouse.User, error)
	GetUserByLogin(ctx context.Context, login string) (gatehouse.User, error)
	GroupsOf(ctx context.Context, userID string) ([]string, error)
	Permissions(ctx context.Context, userID string) ([]string, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// WithStoreDeadline returns s with every call bounded by d (or by the
// caller's earlier deadline). A non-positive d means DefaultStoreDeadline.
func WithStoreDeadline(s CheckStore, d time.Duration) CheckStore {
	if d <= 0 {
		d = DefaultStoreDeadline
	}
	return &deadlineStore{s: s, d: d}
}

type deadlineStore struct {
	s CheckStore
	d time.Duration
}

func (s *deadlineStore) TokenByDigest(ctx context.Context, digest [32]byte) (gatehouse.APIToken, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.s.TokenByDigest(ctx, digest)
}

func (s *deadlineStore) GetUser(ctx context.Context, id string) (gatehouse.User, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.s.GetUser(ctx, id)
}

func (s *deadlineStore) GetUserByLogin(ctx context.Context, login string) (gatehouse.User, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.s.GetUserByLogin(ctx, login)
}

func (s *deadlineStore) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.s.GroupsOf(ctx, userID)
}

func (s *deadlineStore) Permissions(ctx context.Context, userID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.s.Permissions(ctx, userID)
}

func (s *deadlineStore) TouchToken(ctx context.Context, id string, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.s.TouchToken(ctx, id, at)
}

// WithDeadline bounds every call of inner by d as a whole (DefaultStoreDeadline
// when d <= 0): for an authenticator whose work is store reads (API tokens),
// so that several reads each just under the per-call deadline cannot add up
// past Envoy's timeout.
func WithDeadline(inner gatehouse.Authenticator, d time.Duration) gatehouse.Authenticator {
	if d <= 0 {
		d = DefaultStoreDeadline
	}
	return &deadlineAuth{inner: inner, d: d}
}

type deadlineAuth struct {
	inner gatehouse.Authenticator
	d     time.Duration
}

func (a *deadlineAuth) Authenticate(ctx context.Context, cred gatehouse.Credential, req *gatehouse.Request) (*gatehouse.Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, a.d)
	defer cancel()
	return a.inner.Authenticate(ctx, cred, req)
}

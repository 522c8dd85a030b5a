package store

import (
	"context"
	"time"
)

// AuthState is the login doors' short-lived shared state (migration 0003):
// OAuth BFF sessions, rate-limit windows and generated secrets. It is kept
// apart from Store so its writes never bump Version (a login is not a policy
// change). Both backends implement it; with PostgreSQL every replica shares
// it.
type AuthState interface {
	// PutSession stores (or replaces) a BFF session until expires.
	PutSession(ctx context.Context, id string, data []byte, expires time.Time) error
	// TakeSession returns a session and deletes it in the same step, so
	// each is used once even across replicas; expired sessions are
	// returned too (with their expiry) for the caller to tell "expired"
	// from "missing". ErrNotFound when absent.
	TakeSession(ctx context.Context, id string) (data []byte, expires time.Time, err error)
	// DeleteSession removes a session; absent is not an error.
	DeleteSession(ctx context.Context, id string) error

	// RateHit applies a sliding-window log limit: if fewer than max hits
	// of key fall in (now-window, now], it records one at now and returns
	// allowed; otherwise it records nothing and returns how long until the
	// oldest hit in the window leaves it. Atomic per key across replicas.
	RateHit(ctx context.Context, key string, now time.Time, window time.Duration, max int) (allowed bool, retryAfter time.Duration, err error)

	// PruneAuthState deletes sessions that expired before sessionsBefore
	// and rate-limit hits recorded before hitsBefore, returning how many
	// rows went. The housekeeping loop calls it; nothing on a login path
	// does.
	PruneAuthState(ctx context.Context, sessionsBefore, hitsBefore time.Time) (int, error)

	// SecretOnce returns the secret stored under name; when there is none
	// it stores value first. Replicas racing get the same (first) value.
	SecretOnce(ctx context.Context, name string, value []byte) ([]byte, error)
}

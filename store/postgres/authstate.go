package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

var _ store.AuthState = (*Store)(nil)

// PutSession stores a BFF session.
func (s *Store) PutSession(ctx context.Context, id string, data []byte, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_sessions (id, data, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at`, id, data, expires.UTC())
	if err != nil {
		return fmt.Errorf("store: put session: %w", err)
	}
	return nil
}

// PruneAuthState deletes expired sessions and old rate-limit hits.
func (s *Store) PruneAuthState(ctx context.Context, sessionsBefore, hitsBefore time.Time) (int, error) {
	sessions, err := s.pool.Exec(ctx, `DELETE FROM auth_sessions WHERE expires_at < $1`, sessionsBefore.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	hits, err := s.pool.Exec(ctx, `DELETE FROM rate_hits WHERE at < $1`, hitsBefore.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: prune rate hits: %w", err)
	}
	return int(sessions.RowsAffected() + hits.RowsAffected()), nil
}

// TakeSession deletes and returns a session in one statement.
func (s *Store) TakeSession(ctx context.Context, id string) ([]byte, time.Time, error) {
	var (
		data    []byte
		expires time.Time
	)
	err := s.pool.QueryRow(ctx, `DELETE FROM auth_sessions WHERE id = $1 RETURNING data, expires_at`, id).Scan(&data, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("store: session: %w", gatehouse.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: take session: %w", err)
	}
	return data, expires.UTC(), nil
}

// DeleteSession removes a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM auth_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// RateHit is the sliding-window log under a transaction-scoped advisory lock
// on the key, so replicas count one window.
func (s *Store) RateHit(ctx context.Context, key string, now time.Time, window time.Duration, max int) (allowed bool, retry time.Duration, err error) {
	now = now.UTC()
	start := now.Add(-window)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "gatehouse-rate:"+key); err != nil {
			return err
		}
		// This key's hits older than the window count no more; other
		// keys' are PruneAuthState's.
		if _, err := tx.Exec(ctx, `DELETE FROM rate_hits WHERE key = $1 AND at <= $2`, key, start); err != nil {
			return err
		}
		var (
			n      int
			oldest *time.Time
		)
		if err := tx.QueryRow(ctx, `SELECT count(*), min(at) FROM rate_hits WHERE key = $1`, key).Scan(&n, &oldest); err != nil {
			return err
		}
		if n >= max {
			retry = window
			if oldest != nil {
				retry = oldest.Add(window).Sub(now)
			}
			return nil
		}
		allowed = true
		_, err := tx.Exec(ctx, `INSERT INTO rate_hits (key, at) VALUES ($1, $2)`, key, now)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("store: rate hit: %w", err)
	}
	return allowed, retry, nil
}

// SecretOnce inserts value unless name exists, then reads what is stored.
func (s *Store) SecretOnce(ctx context.Context, name string, value []byte) ([]byte, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO auth_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	var out []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM auth_secrets WHERE name = $1`, name).Scan(&out); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return out, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

var _ store.AuthState = (*Store)(nil)

// PutSession stores a BFF session and drops sessions expired for a while.
func (s *Store) PutSession(ctx context.Context, id string, data []byte, expires time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO auth_sessions (id, data, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`, id, data, expires.UnixMicro()); err != nil {
		return fmt.Errorf("store: put session: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM auth_sessions WHERE expires_at < ?`, time.Now().Add(-time.Hour).UnixMicro()); err != nil {
		return fmt.Errorf("store: prune sessions: %w", err)
	}
	return nil
}

// TakeSession deletes and returns a session in one statement.
func (s *Store) TakeSession(ctx context.Context, id string) ([]byte, time.Time, error) {
	var (
		data    []byte
		expires int64
	)
	err := s.w.QueryRowContext(ctx, `DELETE FROM auth_sessions WHERE id = ? RETURNING data, expires_at`, id).Scan(&data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("store: session: %w", gatehouse.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: take session: %w", err)
	}
	return data, fromMicros(expires), nil
}

// DeleteSession removes a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM auth_sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// RateHit is the sliding-window log in one write transaction (the single
// writer connection serialises it).
func (s *Store) RateHit(ctx context.Context, key string, now time.Time, window time.Duration, max int) (allowed bool, retry time.Duration, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, 0, fmt.Errorf("store: rate hit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	start := now.Add(-window).UnixMicro()
	// Hits older than the window count for no key: now and then drop every
	// key's, else only this key's.
	prune, args := `DELETE FROM rate_hits WHERE key = ? AND at <= ?`, []any{key, start}
	if rand.IntN(64) == 0 {
		prune, args = `DELETE FROM rate_hits WHERE at <= ?`, []any{start}
	}
	if _, err := tx.ExecContext(ctx, prune, args...); err != nil {
		return false, 0, fmt.Errorf("store: rate hit: %w", err)
	}
	var (
		n      int
		oldest sql.NullInt64
	)
	if err := tx.QueryRowContext(ctx, `SELECT count(*), min(at) FROM rate_hits WHERE key = ?`, key).Scan(&n, &oldest); err != nil {
		return false, 0, fmt.Errorf("store: rate hit: %w", err)
	}
	if n >= max {
		retry = window
		if oldest.Valid {
			retry = fromMicros(oldest.Int64).Add(window).Sub(now)
		}
		return false, retry, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_hits (key, at) VALUES (?, ?)`, key, now.UnixMicro()); err != nil {
		return false, 0, fmt.Errorf("store: rate hit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, 0, fmt.Errorf("store: rate hit: %w", err)
	}
	return true, 0, nil
}

// SecretOnce inserts value unless name exists, then reads what is stored.
func (s *Store) SecretOnce(ctx context.Context, name string, value []byte) ([]byte, error) {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO auth_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, value, time.Now().UnixMicro()); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	var out []byte
	if err := s.w.QueryRowContext(ctx, `SELECT value FROM auth_secrets WHERE name = ?`, name).Scan(&out); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return out, nil
}

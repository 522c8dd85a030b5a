package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

var _ store.AuthState = (*Store)(nil)

// PutSession stores a BFF session.
func (s *Store) PutSession(ctx context.Context, id string, data []byte, expires time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO auth_sessions (id, data, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`, id, data, expires.UnixMicro()); err != nil {
		return fmt.Errorf("store: put session: %w", err)
	}
	return nil
}

// PruneAuthState deletes expired sessions and old rate-limit hits.
func (s *Store) PruneAuthState(ctx context.Context, sessionsBefore, hitsBefore time.Time) (int, error) {
	sessions, err := s.w.ExecContext(ctx, `DELETE FROM auth_sessions WHERE expires_at < ?`, sessionsBefore.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	hits, err := s.w.ExecContext(ctx, `DELETE FROM rate_hits WHERE at < ?`, hitsBefore.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: prune rate hits: %w", err)
	}
	n1, _ := sessions.RowsAffected()
	n2, _ := hits.RowsAffected()
	return int(n1 + n2), nil
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
	// This key's hits older than the window count no more; other keys'
	// are PruneAuthState's.
	if _, err := tx.ExecContext(ctx, `DELETE FROM rate_hits WHERE key = ? AND at <= ?`, key, start); err != nil {
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

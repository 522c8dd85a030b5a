package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
)

const tokenColumns = `id, user_id, name, digest, permissions, source, expires_at, created_at, last_used_at, revoked_at`

func scanToken(r rowScanner) (gatehouse.APIToken, error) {
	var (
		t                      gatehouse.APIToken
		digest                 []byte
		perms                  sql.NullString
		created                int64
		expires, used, revoked sql.NullInt64
	)
	if err := r.Scan(&t.ID, &t.UserID, &t.Name, &digest, &perms, &t.Source, &expires, &created, &used, &revoked); err != nil {
		return gatehouse.APIToken{}, err
	}
	if len(digest) != len(t.Digest) {
		return gatehouse.APIToken{}, fmt.Errorf("token %s: digest of %d bytes", t.ID, len(digest))
	}
	copy(t.Digest[:], digest)
	if perms.Valid {
		t.Permissions = []string{} // "[]" must stay non-nil: it narrows to nothing
		if err := fromJSON(perms.String, &t.Permissions); err != nil {
			return gatehouse.APIToken{}, fmt.Errorf("token %s permissions: %w", t.ID, err)
		}
	}
	t.ExpiresAt, t.CreatedAt = fromNullMicros(expires), fromMicros(created)
	t.LastUsedAt, t.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return t, nil
}

// insertToken stores t with a new ID and CreatedAt; Source defaults to "api".
func insertToken(ctx context.Context, tx *txn, t gatehouse.APIToken) (gatehouse.APIToken, error) {
	if err := mustExist(ctx, tx, "user", `SELECT 1 FROM users WHERE id = ?`, t.UserID); err != nil {
		return gatehouse.APIToken{}, err
	}
	t.ID = storeutil.NewID()
	t.CreatedAt = storeutil.Now()
	if t.Source == "" {
		t.Source = "api"
	}
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = storeutil.Time(t.ExpiresAt), storeutil.Time(t.LastUsedAt), storeutil.Time(t.RevokedAt)
	var perms any // NULL for nil: the user's own permissions
	if t.Permissions != nil {
		js, err := jsonText(t.Permissions)
		if err != nil {
			return gatehouse.APIToken{}, err
		}
		perms = js
	}
	_, err := tx.exec(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.Name, t.Digest[:], perms, t.Source,
		micros(t.ExpiresAt), t.CreatedAt.UnixMicro(), micros(t.LastUsedAt), micros(t.RevokedAt))
	return t, err
}

// CreateToken stores a token; only its digest, never the secret.
func (s *Store) CreateToken(ctx context.Context, t gatehouse.APIToken) (gatehouse.APIToken, error) {
	var out gatehouse.APIToken
	err := s.write(ctx, func(tx *txn) (err error) {
		out, err = insertToken(ctx, tx, t)
		return err
	})
	if err != nil {
		return gatehouse.APIToken{}, fmt.Errorf("store: create token %q for %q: %w", t.Name, t.UserID, err)
	}
	return out, nil
}

func tokenByDigest(ctx context.Context, q querier, digest [32]byte) (gatehouse.APIToken, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE digest = ?`, digest[:]))
	return t, notFound(err)
}

// TokenByDigest finds a token by the SHA-256 digest of its secret.
func (s *Store) TokenByDigest(ctx context.Context, digest [32]byte) (gatehouse.APIToken, error) {
	t, err := tokenByDigest(ctx, s.r, digest)
	if err != nil {
		// A prefix of the digest is enough to correlate log lines.
		return gatehouse.APIToken{}, fmt.Errorf("store: token by digest %x: %w", digest[:4], err)
	}
	return t, nil
}

// ListTokens orders by creation time, then ID.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]gatehouse.APIToken, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if userID == "" {
		rows, err = s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	} else {
		rows, err = s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY created_at, id`, userID)
	}
	toks, err := collect(rows, err, func(r *sql.Rows) (gatehouse.APIToken, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list tokens of %q: %w", userID, err)
	}
	return toks, nil
}

// RevokeToken sets RevokedAt unless the token was revoked earlier already.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	us := storeutil.Time(at).UnixMicro()
	err := s.write(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND (revoked_at IS NULL OR revoked_at > ?)`, us, id, us)
		if err != nil || n > 0 {
			return err
		}
		return mustExist(ctx, t, "token", `SELECT 1 FROM api_tokens WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("store: revoke token %q: %w", id, err)
	}
	return nil
}

// TouchToken records a use. It bypasses write: a use is not a change other
// replicas must reload for, and it runs on every authentication. Uses race,
// so the latest time wins.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	us := storeutil.Time(at).UnixMicro()
	res, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, us, id, us)
	if err != nil {
		return fmt.Errorf("store: touch token %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		return nil
	}
	if err := mustExist(ctx, s.r, "token", `SELECT 1 FROM api_tokens WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: touch token %q: %w", id, err)
	}
	return nil
}

// DeleteExpiredTokens removes tokens expired or revoked before the time.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	us := storeutil.Time(before).UnixMicro()
	var n int64
	err := s.write(ctx, func(t *txn) (err error) {
		n, err = t.exec(ctx, `DELETE FROM api_tokens WHERE expires_at < ? OR revoked_at < ?`, us, us)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired tokens: %w", err)
	}
	return int(n), nil
}

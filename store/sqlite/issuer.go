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

// writeQuiet runs fn in a write transaction that does not count as a
// change (no Version bump, no signal): issuer bookkeeping, and agent
// credentials and claims, which are read from the store at every use and
// never cached from it, so no replica needs to hear of them.
func (s *Store) writeQuiet(ctx context.Context, fn func(t *txn) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(&txn{Tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	return nil
}

// AddSigningKey stores the new active key and retires the others.
func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	err := s.write(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`, k.CreatedAt.UnixMicro()); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO signing_keys (kid, alg, sealed, public_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, ?, NULL)`,
			k.KID, k.Alg, k.Sealed, string(k.PublicJWK), k.CreatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: add signing key: %w", err)
	}
	return nil
}

// SigningKeys lists every key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kid, alg, sealed, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at, kid`)
	keys, err := collect(rows, err, func(r *sql.Rows) (store.SigningKey, error) {
		var (
			k       store.SigningKey
			pub     string
			created int64
			retired sql.NullInt64
		)
		if err := r.Scan(&k.KID, &k.Alg, &k.Sealed, &pub, &created, &retired); err != nil {
			return k, err
		}
		k.PublicJWK, k.CreatedAt, k.RetiredAt = []byte(pub), fromMicros(created), fromNullMicros(retired)
		return k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: signing keys: %w", err)
	}
	return keys, nil
}

// DeleteSigningKeysRetiredBefore removes keys retired before t.
func (s *Store) DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *txn) error {
		var err error
		n, err = tx.exec(ctx, `DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?`, t.UnixMicro())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete retired keys: %w", err)
	}
	return int(n), nil
}

const refreshColumns = `digest, family_id, user_id, client_id, scope, session_id, auth_time, created_at, expires_at, used_at, revoked_at`

func scanRefresh(r rowScanner) (store.RefreshToken, error) {
	var (
		rt                      store.RefreshToken
		digest                  []byte
		created, expires        int64
		authTime, used, revoked sql.NullInt64
	)
	if err := r.Scan(&digest, &rt.FamilyID, &rt.UserID, &rt.ClientID, &rt.Scope, &rt.SessionID, &authTime, &created, &expires, &used, &revoked); err != nil {
		return rt, err
	}
	if len(digest) != 32 {
		return rt, fmt.Errorf("refresh token: digest of %d bytes", len(digest))
	}
	copy(rt.Digest[:], digest)
	rt.AuthTime, rt.CreatedAt, rt.ExpiresAt = fromNullMicros(authTime), fromMicros(created), fromMicros(expires)
	rt.UsedAt, rt.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return rt, nil
}

// CreateRefreshToken stores rt.
func (s *Store) CreateRefreshToken(ctx context.Context, rt store.RefreshToken) error {
	err := s.writeQuiet(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rt.Digest[:], rt.FamilyID, rt.UserID, rt.ClientID, rt.Scope, rt.SessionID, micros(rt.AuthTime),
			rt.CreatedAt.UnixMicro(), rt.ExpiresAt.UnixMicro(), micros(rt.UsedAt), micros(rt.RevokedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create refresh token: %w", err)
	}
	return nil
}

// RefreshTokenByDigest finds a refresh token.
func (s *Store) RefreshTokenByDigest(ctx context.Context, digest [32]byte) (store.RefreshToken, error) {
	rt, err := scanRefresh(s.r.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE digest = ?`, digest[:]))
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("store: refresh token: %w", notFound(err))
	}
	return rt, nil
}

// UseRefreshToken marks the token used once.
func (s *Store) UseRefreshToken(ctx context.Context, digest [32]byte, at time.Time) (store.RefreshToken, error) {
	var rt store.RefreshToken
	err := s.writeQuiet(ctx, func(t *txn) error {
		var err error
		rt, err = scanRefresh(t.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE digest = ?`, digest[:]))
		if err != nil {
			return notFound(err)
		}
		if !rt.UsedAt.IsZero() {
			return gatehouse.ErrConflict
		}
		_, err = t.exec(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE digest = ?`, at.UnixMicro(), digest[:])
		return err
	})
	if err != nil {
		return rt, fmt.Errorf("store: use refresh token: %w", err)
	}
	return rt, nil
}

// RevokeRefreshFamily revokes the family's active tokens.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	err := s.writeQuiet(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, at.UnixMicro(), familyID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke refresh family: %w", err)
	}
	return nil
}

// RevokeUserRefreshTokens revokes the user's (or one session's) tokens.
func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID, sessionID string, at time.Time) error {
	err := s.writeQuiet(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND (? = '' OR session_id = ?) AND revoked_at IS NULL`,
			at.UnixMicro(), userID, sessionID, sessionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke user refresh tokens: %w", err)
	}
	return nil
}

const recordColumns = `kind, id, user_id, data, expires_at`

func scanRecord(r rowScanner) (store.IssuerRecord, error) {
	var (
		rec     store.IssuerRecord
		user    sql.NullString
		expires sql.NullInt64
	)
	if err := r.Scan(&rec.Kind, &rec.ID, &user, &rec.Data, &expires); err != nil {
		return rec, err
	}
	rec.UserID, rec.ExpiresAt = user.String, fromNullMicros(expires)
	return rec, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func live(rec store.IssuerRecord, now time.Time) bool {
	return rec.ExpiresAt.IsZero() || now.Before(rec.ExpiresAt)
}

// PutIssuerRecord creates or replaces a record.
func (s *Store) PutIssuerRecord(ctx context.Context, r store.IssuerRecord) error {
	err := s.writeQuiet(ctx, func(t *txn) error { return putRecord(ctx, t, r) })
	if err != nil {
		return fmt.Errorf("store: put %s record: %w", r.Kind, err)
	}
	return nil
}

func putRecord(ctx context.Context, t *txn, r store.IssuerRecord) error {
	data := r.Data
	if data == nil {
		data = []byte{}
	}
	_, err := t.exec(ctx, `INSERT INTO issuer_records (`+recordColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expires_at = excluded.expires_at`,
		r.Kind, r.ID, nullString(r.UserID), data, micros(r.ExpiresAt))
	return err
}

// GetIssuerRecord returns an unexpired record.
func (s *Store) GetIssuerRecord(ctx context.Context, kind, id string, now time.Time) (store.IssuerRecord, error) {
	rec, err := scanRecord(s.r.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM issuer_records WHERE kind = ? AND id = ?`, kind, id))
	if err == nil && !live(rec, now) {
		err = gatehouse.ErrNotFound
	}
	if err != nil {
		return store.IssuerRecord{}, fmt.Errorf("store: %s record: %w", kind, notFound(err))
	}
	return rec, nil
}

// TakeIssuerRecord deletes and returns an unexpired record.
func (s *Store) TakeIssuerRecord(ctx context.Context, kind, id string, now time.Time) (store.IssuerRecord, error) {
	var rec store.IssuerRecord
	err := s.writeQuiet(ctx, func(t *txn) error {
		var err error
		rec, err = scanRecord(t.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM issuer_records WHERE kind = ? AND id = ?`, kind, id))
		if err != nil {
			return notFound(err)
		}
		if _, err := t.exec(ctx, `DELETE FROM issuer_records WHERE kind = ? AND id = ?`, kind, id); err != nil {
			return err
		}
		if !live(rec, now) {
			return gatehouse.ErrNotFound
		}
		return nil
	})
	if errors.Is(err, gatehouse.ErrNotFound) && rec.Kind != "" {
		// Expired: delete it anyway.
		_ = s.writeQuiet(ctx, func(t *txn) error {
			_, err := t.exec(ctx, `DELETE FROM issuer_records WHERE kind = ? AND id = ?`, kind, id)
			return err
		})
	}
	if err != nil {
		return store.IssuerRecord{}, fmt.Errorf("store: take %s record: %w", kind, err)
	}
	return rec, nil
}

// UpdateIssuerRecord applies fn atomically, creating the record if needed.
func (s *Store) UpdateIssuerRecord(ctx context.Context, kind, id string, now time.Time, fn func(*store.IssuerRecord) error) (store.IssuerRecord, error) {
	var rec store.IssuerRecord
	err := s.writeQuiet(ctx, func(t *txn) error {
		var err error
		rec, err = scanRecord(t.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM issuer_records WHERE kind = ? AND id = ?`, kind, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !live(rec, now)) {
			rec, err = store.IssuerRecord{Kind: kind, ID: id}, nil
		}
		if err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
		rec.Kind, rec.ID = kind, id
		return putRecord(ctx, t, rec)
	})
	if err != nil {
		return store.IssuerRecord{}, fmt.Errorf("store: update %s record: %w", kind, err)
	}
	return rec, nil
}

// DeleteIssuerRecords removes a kind's records (of one user, or all).
func (s *Store) DeleteIssuerRecords(ctx context.Context, kind, userID string) error {
	err := s.writeQuiet(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `DELETE FROM issuer_records WHERE kind = ? AND (? = '' OR user_id = ?)`, kind, userID, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete %s records: %w", kind, err)
	}
	return nil
}

// DeleteExpiredIssuerState removes expired refresh tokens and records.
func (s *Store) DeleteExpiredIssuerState(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.writeQuiet(ctx, func(t *txn) error {
		a, err := t.exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < ?`, before.UnixMicro())
		if err != nil {
			return err
		}
		b, err := t.exec(ctx, `DELETE FROM issuer_records WHERE expires_at IS NOT NULL AND expires_at < ?`, before.UnixMicro())
		n = a + b
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired issuer state: %w", err)
	}
	return int(n), nil
}

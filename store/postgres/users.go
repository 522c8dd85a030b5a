package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
	"github.com/jackc/pgx/v5"
)

const userColumns = `id, login, email, password_hash, disabled, created_at, updated_at`

func scanUser(r rowScanner) (gatehouse.User, error) {
	var (
		u                gatehouse.User
		created, updated time.Time
	)
	if err := r.Scan(&u.ID, &u.Login, &u.Email, &u.PasswordHash, &u.Disabled, &created, &updated); err != nil {
		return gatehouse.User{}, err
	}
	u.CreatedAt, u.UpdatedAt = created.UTC(), updated.UTC()
	return u, nil
}

// forUpdate is the suffix of a read that a transaction will write back: the
// row lock makes concurrent read-modify-write cycles take turns.
const forUpdate = ` FOR UPDATE`

// getUser reads a user by column ("id" or "login", never input); lock is
// "" or forUpdate.
func getUser(ctx context.Context, q querier, column, value, lock string) (gatehouse.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+column+` = $1`+lock, value))
	return u, notFound(err)
}

// insertUser stores u with a new ID and timestamps.
func insertUser(ctx context.Context, t *txn, u gatehouse.User) (gatehouse.User, error) {
	u.ID = storeutil.NewID()
	u.CreatedAt = storeutil.Now()
	u.UpdatedAt = u.CreatedAt
	_, err := t.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID, u.Login, u.Email, u.PasswordHash, u.Disabled, u.CreatedAt, u.UpdatedAt)
	return u, err
}

// CreateUser stores u with a new ID and timestamps.
func (s *Store) CreateUser(ctx context.Context, u gatehouse.User) (gatehouse.User, error) {
	var out gatehouse.User
	err := s.write(ctx, func(t *txn) (err error) {
		out, err = insertUser(ctx, t, u)
		return err
	})
	if err != nil {
		return gatehouse.User{}, fmt.Errorf("store: create user %q: %w", u.Login, err)
	}
	return out, nil
}

// GetUser finds a user by ID.
func (s *Store) GetUser(ctx context.Context, id string) (gatehouse.User, error) {
	u, err := getUser(ctx, s.pool, "id", id, "")
	if err != nil {
		return gatehouse.User{}, fmt.Errorf("store: get user %q: %w", id, err)
	}
	return u, nil
}

// GetUserByLogin finds a user by login.
func (s *Store) GetUserByLogin(ctx context.Context, login string) (gatehouse.User, error) {
	u, err := getUser(ctx, s.pool, "login", login, "")
	if err != nil {
		return gatehouse.User{}, fmt.Errorf("store: get user by login %q: %w", login, err)
	}
	return u, nil
}

// UpdateUser applies fn to the current record inside the write transaction,
// so concurrent updates apply one after the other.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*gatehouse.User) error) (gatehouse.User, error) {
	var out gatehouse.User
	err := s.write(ctx, func(t *txn) error {
		cur, err := getUser(ctx, t, "id", id, forUpdate)
		if err != nil {
			return err
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		next.ID, next.CreatedAt = cur.ID, cur.CreatedAt
		next.UpdatedAt = storeutil.Later(cur.UpdatedAt, storeutil.Now())
		if _, err := t.exec(ctx, `UPDATE users SET login = $1, email = $2, password_hash = $3, disabled = $4, updated_at = $5 WHERE id = $6`,
			next.Login, next.Email, next.PasswordHash, next.Disabled, next.UpdatedAt, id); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return gatehouse.User{}, fmt.Errorf("store: update user %q: %w", id, err)
	}
	return out, nil
}

// DeleteUser removes a user; foreign keys cascade to its memberships,
// grants and tokens.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err == nil && n == 0 {
			err = gatehouse.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete user %q: %w", id, err)
	}
	return nil
}

// ListUsers orders by login.
func (s *Store) ListUsers(ctx context.Context) ([]gatehouse.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY login`)
	users, err := collect(rows, err, func(r pgx.CollectableRow) (gatehouse.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

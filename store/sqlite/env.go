package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
)

// envTokenName names the tokens SyncEnvTokens makes.
const envTokenName = "AUTH_TOKENS"

// SyncEnvTokens makes the AUTH_TOKENS state exactly lines in one
// transaction. Each statement only touches what differs, so a second run
// changes no row and leaves Version alone.
func (s *Store) SyncEnvTokens(ctx context.Context, lines []store.EnvToken) error {
	plan, err := storeutil.PlanEnvTokens(lines)
	if err != nil {
		return fmt.Errorf("store: sync env tokens: %w", err)
	}
	err = s.write(ctx, func(t *txn) error {
		for _, l := range plan.Lines {
			if err := syncLine(ctx, t, l); err != nil {
				return fmt.Errorf("login %q: %w", l.Login, err)
			}
		}
		rows, err := t.QueryContext(ctx, `SELECT id, digest FROM api_tokens WHERE source = 'env'`)
		type envRow struct {
			id     string
			digest []byte
		}
		envs, err := collect(rows, err, func(r *sql.Rows) (envRow, error) {
			var e envRow
			return e, r.Scan(&e.id, &e.digest)
		})
		if err != nil {
			return fmt.Errorf("list env tokens: %w", err)
		}
		for _, e := range envs {
			if _, keep := plan.Keep[[32]byte(e.digest)]; keep {
				continue
			}
			if _, err := t.exec(ctx, `DELETE FROM api_tokens WHERE id = ?`, e.id); err != nil {
				return fmt.Errorf("delete env token %s: %w", e.id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: sync env tokens: %w", err)
	}
	return nil
}

// syncLine makes one line true: the user exists, holds exactly the line's
// permissions as direct grants, and owns an env token with its digest.
func syncLine(ctx context.Context, t *txn, l store.EnvToken) error {
	u, err := getUser(ctx, t, "login", l.Login)
	if errors.Is(err, gatehouse.ErrNotFound) {
		u, err = insertUser(ctx, t, gatehouse.User{Login: l.Login})
	}
	if err != nil {
		return err
	}

	have, err := grantsOf(ctx, t, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID})
	if err != nil {
		return err
	}
	add, remove := storeutil.Diff(have, l.Permissions)
	for _, c := range add {
		if _, err := t.exec(ctx, `INSERT INTO user_grants (user_id, codename) VALUES (?, ?)`, u.ID, c); err != nil {
			return fmt.Errorf("grant %q: %w", c, err)
		}
	}
	for _, c := range remove {
		if _, err := t.exec(ctx, `DELETE FROM user_grants WHERE user_id = ? AND codename = ?`, u.ID, c); err != nil {
			return fmt.Errorf("revoke %q: %w", c, err)
		}
	}

	tok, err := tokenByDigest(ctx, t, l.Digest)
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		_, err = insertToken(ctx, t, gatehouse.APIToken{UserID: u.ID, Name: envTokenName, Digest: l.Digest, Source: "env"})
		return err
	case err != nil:
		return err
	case tok.Source != "env":
		// Taking over an API token would change who it authenticates.
		return fmt.Errorf("token digest already used by a %q token: %w", tok.Source, gatehouse.ErrConflict)
	case tok.UserID != u.ID:
		// The line moved to another login: the token follows it.
		_, err = t.exec(ctx, `UPDATE api_tokens SET user_id = ? WHERE id = ?`, u.ID, tok.ID)
		return err
	}
	return nil
}

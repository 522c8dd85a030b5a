package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
	"github.com/jackc/pgx/v5"
)

// CreateGroup stores a new group.
func (s *Store) CreateGroup(ctx context.Context, name string) (gatehouse.Group, error) {
	g := gatehouse.Group{Name: name, CreatedAt: storeutil.Now()}
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO groups (name, created_at) VALUES ($1, $2)`, g.Name, g.CreatedAt)
		return err
	})
	if err != nil {
		return gatehouse.Group{}, fmt.Errorf("store: create group %q: %w", name, err)
	}
	return g, nil
}

// DeleteGroup removes a group; foreign keys cascade to its memberships and
// grants.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	err := s.write(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `DELETE FROM groups WHERE name = $1`, name)
		if err == nil && n == 0 {
			err = gatehouse.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete group %q: %w", name, err)
	}
	return nil
}

// ListGroups orders by name.
func (s *Store) ListGroups(ctx context.Context) ([]gatehouse.Group, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, created_at FROM groups ORDER BY name`)
	groups, err := collect(rows, err, func(r pgx.CollectableRow) (gatehouse.Group, error) {
		var (
			g  gatehouse.Group
			us time.Time
		)
		err := r.Scan(&g.Name, &us)
		g.CreatedAt = us.UTC()
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list groups: %w", err)
	}
	return groups, nil
}

// AddMember adds a user to a group; adding an existing member is a no-op.
func (s *Store) AddMember(ctx context.Context, group, userID string) error {
	err := s.write(ctx, func(t *txn) error {
		if err := mustExist(ctx, t, "group", `SELECT 1 FROM groups WHERE name = $1`, group); err != nil {
			return err
		}
		if err := mustExist(ctx, t, "user", `SELECT 1 FROM users WHERE id = $1`, userID); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO memberships (group_name, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, group, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: add %q to group %q: %w", userID, group, err)
	}
	return nil
}

// RemoveMember removes a user from a group.
func (s *Store) RemoveMember(ctx context.Context, group, userID string) error {
	err := s.write(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `DELETE FROM memberships WHERE group_name = $1 AND user_id = $2`, group, userID)
		if err == nil && n == 0 {
			err = fmt.Errorf("membership: %w", gatehouse.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: remove %q from group %q: %w", userID, group, err)
	}
	return nil
}

// GroupsOf lists a user's groups by name.
func (s *Store) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT group_name FROM memberships WHERE user_id = $1 ORDER BY group_name`, userID)
	names, err := collect(rows, err, scanString)
	if err != nil {
		return nil, fmt.Errorf("store: groups of %q: %w", userID, err)
	}
	return names, nil
}

// grantTable returns the table, key column and existence check of a
// grantee kind.
func grantTable(kind string) (table, key, check string, err error) {
	switch kind {
	case gatehouse.GranteeUser:
		return "user_grants", "user_id", `SELECT 1 FROM users WHERE id = $1`, nil
	case gatehouse.GranteeGroup:
		return "group_grants", "group_name", `SELECT 1 FROM groups WHERE name = $1`, nil
	}
	return "", "", "", fmt.Errorf("grantee kind %q: %w", kind, gatehouse.ErrNotFound)
}

// Grant gives a codename to a user or group; granting twice is a no-op.
func (s *Store) Grant(ctx context.Context, to gatehouse.Grantee, codename string) error {
	err := s.write(ctx, func(t *txn) error {
		table, key, check, err := grantTable(to.Kind)
		if err != nil {
			return err
		}
		if err := mustExist(ctx, t, to.Kind, check, to.Name); err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO `+table+` (`+key+`, codename) VALUES ($1, $2) ON CONFLICT DO NOTHING`, to.Name, codename)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: grant %q to %s %q: %w", codename, to.Kind, to.Name, err)
	}
	return nil
}

// Revoke removes a grant.
func (s *Store) Revoke(ctx context.Context, from gatehouse.Grantee, codename string) error {
	err := s.write(ctx, func(t *txn) error {
		table, key, _, err := grantTable(from.Kind)
		if err != nil {
			return err
		}
		n, err := t.exec(ctx, `DELETE FROM `+table+` WHERE `+key+` = $1 AND codename = $2`, from.Name, codename)
		if err == nil && n == 0 {
			err = fmt.Errorf("grant: %w", gatehouse.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke %q from %s %q: %w", codename, from.Kind, from.Name, err)
	}
	return nil
}

func grantsOf(ctx context.Context, q querier, to gatehouse.Grantee) ([]string, error) {
	table, key, _, err := grantTable(to.Kind)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT codename FROM `+table+` WHERE `+key+` = $1 ORDER BY codename`, to.Name)
	return collect(rows, err, scanString)
}

// GrantsOf lists a grantee's direct grants, sorted.
func (s *Store) GrantsOf(ctx context.Context, to gatehouse.Grantee) ([]string, error) {
	codes, err := grantsOf(ctx, s.pool, to)
	if err != nil {
		return nil, fmt.Errorf("store: grants of %s %q: %w", to.Kind, to.Name, err)
	}
	return codes, nil
}

// Permissions is a user's direct and group grants; UNION removes
// duplicates.
func (s *Store) Permissions(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT codename FROM user_grants WHERE user_id = $1
		UNION
		SELECT gg.codename FROM group_grants gg
		JOIN memberships m ON m.group_name = gg.group_name
		WHERE m.user_id = $2
		ORDER BY 1`, userID, userID)
	codes, err := collect(rows, err, scanString)
	if err != nil {
		return nil, fmt.Errorf("store: permissions of %q: %w", userID, err)
	}
	return codes, nil
}

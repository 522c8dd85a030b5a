package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
)

func scanRole(r rowScanner) (gatehouse.Role, error) {
	var (
		role             gatehouse.Role
		rules            string
		created, updated int64
	)
	if err := r.Scan(&role.Name, &rules, &created, &updated); err != nil {
		return gatehouse.Role{}, err
	}
	if err := fromJSON(rules, &role.Rules); err != nil {
		return gatehouse.Role{}, fmt.Errorf("role %q rules: %w", role.Name, err)
	}
	role.CreatedAt, role.UpdatedAt = fromMicros(created), fromMicros(updated)
	return role, nil
}

func getRole(ctx context.Context, q querier, name string) (gatehouse.Role, error) {
	r, err := scanRole(q.QueryRowContext(ctx, `SELECT name, rules, created_at, updated_at FROM roles WHERE name = ?`, name))
	return r, notFound(err)
}

// CreateRole stores a custom role; system role names are refused.
func (s *Store) CreateRole(ctx context.Context, r gatehouse.Role) (gatehouse.Role, error) {
	if gatehouse.IsSystemRole(r.Name) {
		return gatehouse.Role{}, fmt.Errorf("store: create role %q: a system role has this name: %w", r.Name, gatehouse.ErrConflict)
	}
	r.CreatedAt = storeutil.Now()
	r.UpdatedAt = r.CreatedAt
	err := s.write(ctx, func(t *txn) error {
		rules, err := jsonText(r.Rules)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO roles (name, rules, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			r.Name, rules, r.CreatedAt.UnixMicro(), r.UpdatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return gatehouse.Role{}, fmt.Errorf("store: create role %q: %w", r.Name, err)
	}
	return r, nil
}

// GetRole finds a custom role.
func (s *Store) GetRole(ctx context.Context, name string) (gatehouse.Role, error) {
	r, err := getRole(ctx, s.r, name)
	if err != nil {
		return gatehouse.Role{}, fmt.Errorf("store: get role %q: %w", name, err)
	}
	return r, nil
}

// UpdateRole applies fn inside the write transaction; the name is kept.
func (s *Store) UpdateRole(ctx context.Context, name string, fn func(*gatehouse.Role) error) (gatehouse.Role, error) {
	var out gatehouse.Role
	err := s.write(ctx, func(t *txn) error {
		cur, err := getRole(ctx, t, name)
		if err != nil {
			return err
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		next.Name, next.CreatedAt = cur.Name, cur.CreatedAt
		next.UpdatedAt = storeutil.Later(cur.UpdatedAt, storeutil.Now())
		rules, err := jsonText(next.Rules)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE roles SET rules = ?, updated_at = ? WHERE name = ?`, rules, next.UpdatedAt.UnixMicro(), name); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return gatehouse.Role{}, fmt.Errorf("store: update role %q: %w", name, err)
	}
	return out, nil
}

// DeleteRole removes a custom role. Bindings that reference it stay, as in
// Kubernetes: they grant nothing until the role exists again.
func (s *Store) DeleteRole(ctx context.Context, name string) error {
	err := s.write(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `DELETE FROM roles WHERE name = ?`, name)
		if err == nil && n == 0 {
			err = gatehouse.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete role %q: %w", name, err)
	}
	return nil
}

// ListRoles orders by name.
func (s *Store) ListRoles(ctx context.Context) ([]gatehouse.Role, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, rules, created_at, updated_at FROM roles ORDER BY name`)
	roles, err := collect(rows, err, func(r *sql.Rows) (gatehouse.Role, error) { return scanRole(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list roles: %w", err)
	}
	return roles, nil
}

func scanBinding(r rowScanner) (gatehouse.RoleBinding, error) {
	var (
		b                gatehouse.RoleBinding
		subjects         string
		created, updated int64
	)
	if err := r.Scan(&b.Name, &subjects, &b.RoleRef, &created, &updated); err != nil {
		return gatehouse.RoleBinding{}, err
	}
	if err := fromJSON(subjects, &b.Subjects); err != nil {
		return gatehouse.RoleBinding{}, fmt.Errorf("role binding %q subjects: %w", b.Name, err)
	}
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	return b, nil
}

const bindingColumns = `name, subjects, role_ref, created_at, updated_at`

func getBinding(ctx context.Context, q querier, name string) (gatehouse.RoleBinding, error) {
	b, err := scanBinding(q.QueryRowContext(ctx, `SELECT `+bindingColumns+` FROM role_bindings WHERE name = ?`, name))
	return b, notFound(err)
}

// CreateRoleBinding stores a binding; its role need not exist.
func (s *Store) CreateRoleBinding(ctx context.Context, b gatehouse.RoleBinding) (gatehouse.RoleBinding, error) {
	b.CreatedAt = storeutil.Now()
	b.UpdatedAt = b.CreatedAt
	err := s.write(ctx, func(t *txn) error {
		subjects, err := jsonText(b.Subjects)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO role_bindings (`+bindingColumns+`) VALUES (?, ?, ?, ?, ?)`,
			b.Name, subjects, b.RoleRef, b.CreatedAt.UnixMicro(), b.UpdatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return gatehouse.RoleBinding{}, fmt.Errorf("store: create role binding %q: %w", b.Name, err)
	}
	return b, nil
}

// GetRoleBinding finds a binding.
func (s *Store) GetRoleBinding(ctx context.Context, name string) (gatehouse.RoleBinding, error) {
	b, err := getBinding(ctx, s.r, name)
	if err != nil {
		return gatehouse.RoleBinding{}, fmt.Errorf("store: get role binding %q: %w", name, err)
	}
	return b, nil
}

// UpdateRoleBinding applies fn inside the write transaction; the name is
// kept.
func (s *Store) UpdateRoleBinding(ctx context.Context, name string, fn func(*gatehouse.RoleBinding) error) (gatehouse.RoleBinding, error) {
	var out gatehouse.RoleBinding
	err := s.write(ctx, func(t *txn) error {
		cur, err := getBinding(ctx, t, name)
		if err != nil {
			return err
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		next.Name, next.CreatedAt = cur.Name, cur.CreatedAt
		next.UpdatedAt = storeutil.Later(cur.UpdatedAt, storeutil.Now())
		subjects, err := jsonText(next.Subjects)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE role_bindings SET subjects = ?, role_ref = ?, updated_at = ? WHERE name = ?`,
			subjects, next.RoleRef, next.UpdatedAt.UnixMicro(), name); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return gatehouse.RoleBinding{}, fmt.Errorf("store: update role binding %q: %w", name, err)
	}
	return out, nil
}

// DeleteRoleBinding removes a binding.
func (s *Store) DeleteRoleBinding(ctx context.Context, name string) error {
	err := s.write(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `DELETE FROM role_bindings WHERE name = ?`, name)
		if err == nil && n == 0 {
			err = gatehouse.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete role binding %q: %w", name, err)
	}
	return nil
}

// ListRoleBindings orders by name.
func (s *Store) ListRoleBindings(ctx context.Context) ([]gatehouse.RoleBinding, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+bindingColumns+` FROM role_bindings ORDER BY name`)
	bs, err := collect(rows, err, func(r *sql.Rows) (gatehouse.RoleBinding, error) { return scanBinding(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list role bindings: %w", err)
	}
	return bs, nil
}

package storesync

import (
	"context"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

// WriteThrough returns st with every write that can change what a Check
// decides — revoking a token, disabling or deleting a user, changing
// memberships, grants, roles or bindings — followed, before it returns, by a
// reload of s: roles and bindings republished and the identity caches
// emptied. So a revocation made on this replica is refused by the very next
// request (promise 7), instead of after the change signal has gone round
// asynchronously. Other replicas still learn of it through the store's change
// signals and version poll. Reads and any method not listed here pass
// through unchanged.
func WriteThrough(st store.Store, s *Syncer) store.Store {
	return &writeThrough{Store: st, sync: s}
}

type writeThrough struct {
	store.Store
	sync *Syncer
}

// after reloads once a write succeeded. The write stands whatever happens
// here; if the reload fails (the database just went away), the caches are
// still emptied and the background syncer retries.
func (w *writeThrough) after(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	if lerr := w.sync.Load(ctx); lerr != nil {
		for _, f := range w.sync.opts.Invalidate {
			f()
		}
		w.sync.opts.Logger.WarnContext(ctx, "reload after a local write failed; caches emptied, the background sync retries", "error", lerr)
	}
	return nil
}

func (w *writeThrough) UpdateUser(ctx context.Context, id string, fn func(*gatehouse.User) error) (gatehouse.User, error) {
	u, err := w.Store.UpdateUser(ctx, id, fn)
	return u, w.after(ctx, err)
}

func (w *writeThrough) DeleteUser(ctx context.Context, id string) error {
	return w.after(ctx, w.Store.DeleteUser(ctx, id))
}

func (w *writeThrough) DeleteGroup(ctx context.Context, name string) error {
	return w.after(ctx, w.Store.DeleteGroup(ctx, name))
}

func (w *writeThrough) AddMember(ctx context.Context, group, userID string) error {
	return w.after(ctx, w.Store.AddMember(ctx, group, userID))
}

func (w *writeThrough) RemoveMember(ctx context.Context, group, userID string) error {
	return w.after(ctx, w.Store.RemoveMember(ctx, group, userID))
}

func (w *writeThrough) Grant(ctx context.Context, to gatehouse.Grantee, codename string) error {
	return w.after(ctx, w.Store.Grant(ctx, to, codename))
}

func (w *writeThrough) Revoke(ctx context.Context, from gatehouse.Grantee, codename string) error {
	return w.after(ctx, w.Store.Revoke(ctx, from, codename))
}

func (w *writeThrough) RevokeToken(ctx context.Context, id string, at time.Time) error {
	return w.after(ctx, w.Store.RevokeToken(ctx, id, at))
}

func (w *writeThrough) DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error) {
	n, err := w.Store.DeleteExpiredTokens(ctx, before)
	return n, w.after(ctx, err)
}

func (w *writeThrough) SyncEnvTokens(ctx context.Context, lines []store.EnvToken) error {
	return w.after(ctx, w.Store.SyncEnvTokens(ctx, lines))
}

func (w *writeThrough) CreateRole(ctx context.Context, r gatehouse.Role) (gatehouse.Role, error) {
	out, err := w.Store.CreateRole(ctx, r)
	return out, w.after(ctx, err)
}

func (w *writeThrough) UpdateRole(ctx context.Context, name string, fn func(*gatehouse.Role) error) (gatehouse.Role, error) {
	out, err := w.Store.UpdateRole(ctx, name, fn)
	return out, w.after(ctx, err)
}

func (w *writeThrough) DeleteRole(ctx context.Context, name string) error {
	return w.after(ctx, w.Store.DeleteRole(ctx, name))
}

func (w *writeThrough) CreateRoleBinding(ctx context.Context, b gatehouse.RoleBinding) (gatehouse.RoleBinding, error) {
	out, err := w.Store.CreateRoleBinding(ctx, b)
	return out, w.after(ctx, err)
}

func (w *writeThrough) UpdateRoleBinding(ctx context.Context, name string, fn func(*gatehouse.RoleBinding) error) (gatehouse.RoleBinding, error) {
	out, err := w.Store.UpdateRoleBinding(ctx, name, fn)
	return out, w.after(ctx, err)
}

func (w *writeThrough) DeleteRoleBinding(ctx context.Context, name string) error {
	return w.after(ctx, w.Store.DeleteRoleBinding(ctx, name))
}

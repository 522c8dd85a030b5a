// Package store declares Gatehouse's persistent state: local users, groups
// and memberships, permission grants, API tokens, Controller roles and role
// bindings, and OIDC clients. Backends live in subpackages (sqlite, postgres)
// and all pass the conformance suite in storetest.
//
// Every method returns errors wrapping gatehouse.ErrNotFound,
// gatehouse.ErrAlreadyExists or gatehouse.ErrConflict for those conditions, so
// callers branch with errors.Is. Times are stored in UTC at microsecond
// precision. Lists are ordered deterministically (by the field named).
package store

import (
	"context"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Store is the whole of Gatehouse's persistent state.
type Store interface {
	Users
	Groups
	Grants
	Tokens
	Roles
	Clients
	Agents
	Claims
	Issuer

	// Version is a counter the store increments on every write to users,
	// memberships, grants, tokens, roles or bindings. Replicas compare it
	// to know their in-memory copies are current.
	Version(ctx context.Context) (int64, error)
	// Changes delivers a signal after writes by this or any other replica
	// sharing the database (PostgreSQL: LISTEN/NOTIFY). Signals coalesce:
	// a receiver re-reads what it needs. The channel closes when ctx ends.
	// Delivery is best effort; callers also poll Version.
	Changes(ctx context.Context) <-chan struct{}

	// SyncEnvTokens makes the AUTH_TOKENS state exactly lines, in one
	// transaction: each line's user exists (created without a password if
	// missing), holds exactly the line's permissions as direct grants, and
	// owns one token of Source "env" with the line's digest; env tokens of
	// lines no longer present are deleted. Running it twice changes nothing.
	SyncEnvTokens(ctx context.Context, lines []EnvToken) error

	Close() error
}

// EnvToken is one AUTH_TOKENS line, already validated.
type EnvToken struct {
	Login       string
	Digest      [32]byte
	Permissions []string
}

// Users are local principals.
type Users interface {
	// CreateUser stores u with a new ID and timestamps and returns it.
	// ErrAlreadyExists if the login is taken.
	CreateUser(ctx context.Context, u gatehouse.User) (gatehouse.User, error)
	// GetUser and GetUserByLogin return ErrNotFound for an unknown user.
	GetUser(ctx context.Context, id string) (gatehouse.User, error)
	GetUserByLogin(ctx context.Context, login string) (gatehouse.User, error)
	// UpdateUser applies fn to the current record atomically; ID and
	// CreatedAt cannot change. ErrNotFound, or ErrAlreadyExists when the new
	// login is taken.
	UpdateUser(ctx context.Context, id string, fn func(*gatehouse.User) error) (gatehouse.User, error)
	// DeleteUser removes the user with its memberships, grants and tokens.
	DeleteUser(ctx context.Context, id string) error
	// ListUsers orders by login.
	ListUsers(ctx context.Context) ([]gatehouse.User, error)
}

// Groups and memberships.
type Groups interface {
	// CreateGroup: ErrAlreadyExists if the name is taken.
	CreateGroup(ctx context.Context, name string) (gatehouse.Group, error)
	// DeleteGroup removes the group with its memberships and grants.
	DeleteGroup(ctx context.Context, name string) error
	// ListGroups orders by name.
	ListGroups(ctx context.Context) ([]gatehouse.Group, error)
	// AddMember: ErrNotFound for an unknown group or user; adding an
	// existing member is not an error.
	AddMember(ctx context.Context, group, userID string) error
	// RemoveMember: ErrNotFound if the user is not a member.
	RemoveMember(ctx context.Context, group, userID string) error
	// GroupsOf lists the user's groups by name.
	GroupsOf(ctx context.Context, userID string) ([]string, error)
}

// Grants of permission codenames.
type Grants interface {
	// Grant: ErrNotFound for an unknown grantee; granting twice is not an
	// error.
	Grant(ctx context.Context, to gatehouse.Grantee, codename string) error
	// Revoke: ErrNotFound if the grant does not exist.
	Revoke(ctx context.Context, from gatehouse.Grantee, codename string) error
	// GrantsOf lists the codenames granted directly to a grantee, sorted.
	GrantsOf(ctx context.Context, to gatehouse.Grantee) ([]string, error)
	// Permissions is what a user holds: direct grants and grants of its
	// groups, sorted, without duplicates.
	Permissions(ctx context.Context, userID string) ([]string, error)
}

// Tokens are API tokens.
type Tokens interface {
	// CreateToken stores t with a new ID and CreatedAt and returns it.
	// ErrNotFound for an unknown user; ErrAlreadyExists for a digest in use.
	CreateToken(ctx context.Context, t gatehouse.APIToken) (gatehouse.APIToken, error)
	// TokenByDigest finds a token, revoked or expired ones included (the
	// caller decides). ErrNotFound otherwise.
	TokenByDigest(ctx context.Context, digest [32]byte) (gatehouse.APIToken, error)
	// ListTokens orders by creation time, then ID; userID "" lists all.
	ListTokens(ctx context.Context, userID string) ([]gatehouse.APIToken, error)
	// RevokeToken sets RevokedAt (idempotent: an earlier time is kept).
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// TouchToken records a use; it does not count as a change for Version.
	TouchToken(ctx context.Context, id string, at time.Time) error
	// DeleteExpiredTokens removes tokens expired or revoked before the
	// time, returning how many.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error)
}

// Roles are the Controller's custom Roles and RoleBindings.
type Roles interface {
	// CreateRole: ErrAlreadyExists for a taken name; an error wrapping
	// ErrConflict for a system role's name (gatehouse.IsSystemRole).
	CreateRole(ctx context.Context, r gatehouse.Role) (gatehouse.Role, error)
	GetRole(ctx context.Context, name string) (gatehouse.Role, error)
	// UpdateRole applies fn atomically; the name cannot change.
	UpdateRole(ctx context.Context, name string, fn func(*gatehouse.Role) error) (gatehouse.Role, error)
	DeleteRole(ctx context.Context, name string) error
	// ListRoles orders by name.
	ListRoles(ctx context.Context) ([]gatehouse.Role, error)

	// CreateRoleBinding: ErrAlreadyExists for a taken name. The referenced
	// role need not exist yet (Kubernetes semantics).
	CreateRoleBinding(ctx context.Context, b gatehouse.RoleBinding) (gatehouse.RoleBinding, error)
	GetRoleBinding(ctx context.Context, name string) (gatehouse.RoleBinding, error)
	UpdateRoleBinding(ctx context.Context, name string, fn func(*gatehouse.RoleBinding) error) (gatehouse.RoleBinding, error)
	DeleteRoleBinding(ctx context.Context, name string) error
	// ListRoleBindings orders by name.
	ListRoleBindings(ctx context.Context) ([]gatehouse.RoleBinding, error)
}

// Clients are registered OIDC clients.
type Clients interface {
	// CreateClient: ErrAlreadyExists for a taken client ID.
	CreateClient(ctx context.Context, c gatehouse.Client) (gatehouse.Client, error)
	GetClient(ctx context.Context, clientID string) (gatehouse.Client, error)
	DeleteClient(ctx context.Context, clientID string) error
	// ListClients orders by client ID.
	ListClients(ctx context.Context) ([]gatehouse.Client, error)
}

// Agents are field agents' credentials: agent records with their public
// keys, and single-use provisioning keys. Writes to them are not changes for
// Version: nothing caches them, every agent request reads the store.
type Agents interface {
	// CreateAgent stores a with timestamps: an empty ID gets a new UUID, an
	// empty Name the ID; PublicKey and the use times are kept as given.
	// ErrAlreadyExists for a taken ID or name.
	CreateAgent(ctx context.Context, a gatehouse.Agent) (gatehouse.Agent, error)
	// GetAgent and GetAgentByName return ErrNotFound for an unknown agent.
	GetAgent(ctx context.Context, id string) (gatehouse.Agent, error)
	GetAgentByName(ctx context.Context, name string) (gatehouse.Agent, error)
	// ListAgents orders by name.
	ListAgents(ctx context.Context) ([]gatehouse.Agent, error)
	// DeleteAgent removes the agent with its provisioning key; ErrNotFound.
	DeleteAgent(ctx context.Context, id string) error
	// TouchAgent records a use in LastActiveAt (the latest time wins);
	// ErrNotFound for an unknown agent.
	TouchAgent(ctx context.Context, id string, at time.Time) error

	// PutProvisioningKey stores k (with a new CreatedAt) as the agent's only
	// key, replacing an earlier one. ErrNotFound for an unknown agent,
	// ErrAlreadyExists for a digest in use by another agent.
	PutProvisioningKey(ctx context.Context, k gatehouse.ProvisioningKey) (gatehouse.ProvisioningKey, error)
	// ProvisioningKey finds a key by digest, expired ones included (the
	// caller decides). ErrNotFound otherwise.
	ProvisioningKey(ctx context.Context, digest [32]byte) (gatehouse.ProvisioningKey, error)
	// ConsumeProvisioningKey deletes the key when it has not expired at now
	// and applies fn to its agent in the same transaction (ID, Name and
	// CreatedAt cannot change), returning the updated agent. ErrNotFound
	// when the key is unknown, expired or already consumed: of concurrent
	// consumers exactly one succeeds. An error from fn rolls back and keeps
	// the key.
	ConsumeProvisioningKey(ctx context.Context, digest [32]byte, now time.Time, fn func(*gatehouse.Agent) error) (gatehouse.Agent, error)
	// DeleteExpiredProvisioningKeys removes keys expired before the time,
	// returning how many.
	DeleteExpiredProvisioningKeys(ctx context.Context, before time.Time) (int, error)
}

// Claims are single-use identifiers shared by every replica: agent JWT
// `jti`s, peer token `jti`s. They are not changes for Version.
type Claims interface {
	// ClaimOnce records (namespace, id) until expires. It returns an error
	// wrapping gatehouse.ErrAlreadyExists when the pair was claimed before
	// and that claim has not expired; an expired claim may be claimed again.
	// Of concurrent claims of one pair exactly one succeeds, on every
	// replica.
	ClaimOnce(ctx context.Context, namespace, id string, expires time.Time) error
	// DeleteExpiredClaims removes claims that expired before the time,
	// returning how many.
	DeleteExpiredClaims(ctx context.Context, before time.Time) (int, error)
}

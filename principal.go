package gatehouse

import "time"

// User is a local principal: a service account with API tokens or a Basic
// password, or (embedded mode) a human. IDs are assigned by the store.
type User struct {
	ID    string
	Login string // unique; compared exactly
	Email string
	// PasswordHash is an argon2id PHC string; empty means no password login.
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Group is a named set of users. Names are unique.
type Group struct {
	Name      string
	CreatedAt time.Time
}

// Grantee kinds: who a permission codename is granted to.
const (
	GranteeUser  = "User"  // Name is a user's ID
	GranteeGroup = "Group" // Name is a group's name
)

// Grantee receives permission codenames (AURA's `<action>_<model>`).
type Grantee struct {
	Kind string
	Name string
}

// APIToken is an `Authorization: Token` credential. Only the SHA-256 digest
// of the secret is stored; the secret is shown once, at creation.
type APIToken struct {
	ID     string
	UserID string
	Name   string
	Digest [32]byte
	// Permissions, when non-nil, narrows the user's permissions to this
	// subset (never more than the user holds at the time of use).
	Permissions []string
	// Source is "api" for tokens made through the API or CLI, "env" for
	// AUTH_TOKENS lines (re-synchronised at every start).
	Source     string
	ExpiresAt  time.Time // zero: never
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: active
}

// Active reports whether the token may authenticate at now.
func (t *APIToken) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// Role is a Controller Role: named rules over resources and verbs. The
// system roles (SystemRoleNames) live in policy data, never in the store.
type Role struct {
	Name      string
	Rules     []RoleRule
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RoleRule grants verbs on resources of API groups; ResourceNames, when set,
// limits it to those instances. "*" and "prefix*" globs are allowed.
type RoleRule struct {
	APIGroups     []string `json:"apiGroups"`
	Resources     []string `json:"resources"`
	Verbs         []string `json:"verbs"`
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// Subject kinds of a RoleBinding; compared exactly.
const (
	SubjectUser  = "User"
	SubjectGroup = "Group"
)

// Subject is who a RoleBinding binds.
type Subject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// RoleBinding gives a role (system or custom) to subjects.
type RoleBinding struct {
	Name      string
	Subjects  []Subject
	RoleRef   string // the role's name
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IsSystemRole reports the Controller's built-in roles; no stored Role may
// take one of these names (RB-10).
func IsSystemRole(name string) bool {
	switch name {
	case "admin", "sre", "developer", "viewer", "agent-admin", "microservice":
		return true
	}
	return false
}

// Client is a registered OIDC client (AURA's client registry).
type Client struct {
	ClientID string
	Name     string
	// Public clients have no secret and must use PKCE.
	Public bool
	// SecretHash is the argon2id PHC hash of a confidential client's secret.
	SecretHash             string
	ResponseTypes          []string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	CreatedAt              time.Time
}

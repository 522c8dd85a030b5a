package gatehouse

import "time"

// IdentityKind names the kind of credential an identity was proven with.
type IdentityKind string

// The identity kinds the policy sees in input.identity.kind.
const (
	KindAnonymous IdentityKind = "anonymous"
	KindUser      IdentityKind = "user"  // a JWT access token from a trusted issuer
	KindToken     IdentityKind = "token" // an API token (Authorization: Token)
	KindBasic     IdentityKind = "basic" // a local user's password (Authorization: Basic)
	KindAgent     IdentityKind = "agent" // an agent ("fog") JWT
	KindPeer      IdentityKind = "peer"  // a cluster peer's shared-secret token
)

// Identity is who a verified credential says the caller is. Authenticators fill
// what they know; the policy maps claims to the effective subject and groups.
type Identity struct {
	Kind    IdentityKind
	Subject string
	// Groups and Permissions are what the credential's own store knows (API
	// tokens, local users). JWT identities leave them empty: group mapping
	// from claims is policy.
	Groups      []string
	Permissions []string
	Issuer      string
	// Claims are the verified token claims (JWT kinds), nil otherwise.
	Claims map[string]any
	// ExpiresAt bounds how long this identity may be cached; zero means the
	// credential carries no expiry of its own.
	ExpiresAt time.Time
	// Digest identifies the content for decision caching (ComputeDigest);
	// zero until computed. Authenticators that cache identities compute it
	// once per verified credential.
	Digest [32]byte
}

// Authenticated reports whether the identity was proven by a credential.
func (id *Identity) Authenticated() bool {
	return id != nil && id.Kind != KindAnonymous && id.Kind != ""
}

// Anonymous is the identity of a request that carries no usable credential.
var Anonymous = Identity{Kind: KindAnonymous}

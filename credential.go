package gatehouse

import "context"

// CredentialScheme names the shape of the credential a request carries.
type CredentialScheme string

// Credential schemes recognised in the Authorization header.
const (
	SchemeNone   CredentialScheme = ""
	SchemeBearer CredentialScheme = "bearer"
	SchemeToken  CredentialScheme = "token"
	SchemeBasic  CredentialScheme = "basic"
	SchemeOther  CredentialScheme = "other"
)

// Credential is the credential of one request, parsed from its headers but not
// yet verified.
type Credential struct {
	Scheme CredentialScheme
	// Value is everything after the scheme keyword, with surrounding spaces
	// trimmed (may contain inner spaces: the authenticator judges them).
	Value string
	// Peer is true when the request claims to come from a cluster peer.
	Peer bool
}

// Present reports whether the request carried any credential.
func (c Credential) Present() bool { return c.Scheme != SchemeNone }

// Authenticator proves an identity from one kind of credential. It returns an
// *AuthError for a credential it refuses (Internal set when it could not
// decide), never an identity together with an error.
type Authenticator interface {
	Authenticate(ctx context.Context, cred Credential, req *Request) (*Identity, error)
}

package store

import (
	"context"
	"time"
)

// SigningKey is one of the embedded issuer's signing keys. The private JWK
// is sealed (AES-256-GCM under AUTH_ENCRYPTION_KEY) before it reaches the
// store; the public JWK is stored as is.
type SigningKey struct {
	KID       string
	Alg       string
	Sealed    []byte // sealed private JWK
	PublicJWK []byte
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced this one (zero: the active key).
	RetiredAt time.Time
}

// RefreshToken is an embedded-issuer refresh token; only the SHA-256 digest
// of the secret is stored. Tokens of one login share a FamilyID.
type RefreshToken struct {
	Digest    [32]byte
	FamilyID  string
	UserID    string
	ClientID  string
	Scope     string
	SessionID string // the issuer session (end session revokes it)
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero: not yet rotated
	RevokedAt time.Time // zero: active
}

// IssuerRecord is a piece of the embedded issuer's state kept as an opaque
// document: authorization codes, interactions, reset tokens (short-lived,
// with ExpiresAt), per-user MFA and password state, per-group settings.
// Records with a UserID go when the user is deleted.
type IssuerRecord struct {
	Kind      string
	ID        string
	UserID    string // optional
	Data      []byte
	ExpiresAt time.Time // zero: never
}

// Issuer is the embedded issuer's state (migration 0004). Writes of
// signing keys count as changes (Version, Changes); token and record writes
// do not, so logins do not make every replica re-read its policy data.
type Issuer interface {
	// AddSigningKey stores k as the active key and retires every other
	// active key at k.CreatedAt, in one transaction. ErrAlreadyExists for a
	// taken kid.
	AddSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys lists every stored key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKeysRetiredBefore removes keys retired before t.
	DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error)

	// CreateRefreshToken stores rt. ErrNotFound for an unknown user;
	// ErrAlreadyExists for a digest in use.
	CreateRefreshToken(ctx context.Context, rt RefreshToken) error
	// RefreshTokenByDigest finds a token whatever its state. ErrNotFound.
	RefreshTokenByDigest(ctx context.Context, digest [32]byte) (RefreshToken, error)
	// UseRefreshToken marks the token rotated at `at` if it was not yet, and
	// returns it as it was before the call. When it had already been used,
	// it returns the stored token and an error wrapping ErrConflict, so that
	// exactly one of several concurrent callers wins. ErrNotFound.
	UseRefreshToken(ctx context.Context, digest [32]byte, at time.Time) (RefreshToken, error)
	// RevokeRefreshFamily revokes every active token of the family.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
	// RevokeUserRefreshTokens revokes every active token of the user;
	// sessionID "" means all of them, else only that session's.
	RevokeUserRefreshTokens(ctx context.Context, userID, sessionID string, at time.Time) error

	// PutIssuerRecord creates or replaces a record.
	PutIssuerRecord(ctx context.Context, r IssuerRecord) error
	// GetIssuerRecord returns a record that has not expired at now, else
	// ErrNotFound.
	GetIssuerRecord(ctx context.Context, kind, id string, now time.Time) (IssuerRecord, error)
	// TakeIssuerRecord deletes and returns an unexpired record: of several
	// concurrent callers exactly one gets it (single-use codes). ErrNotFound.
	TakeIssuerRecord(ctx context.Context, kind, id string, now time.Time) (IssuerRecord, error)
	// UpdateIssuerRecord applies fn to the record atomically, creating it
	// when missing or expired (fn then sees a record with only Kind and ID).
	UpdateIssuerRecord(ctx context.Context, kind, id string, now time.Time, fn func(*IssuerRecord) error) (IssuerRecord, error)
	// DeleteIssuerRecords removes the records of a kind; userID "" means
	// every record of that kind, else only that user's.
	DeleteIssuerRecords(ctx context.Context, kind, userID string) error
	// DeleteExpiredIssuerState removes refresh tokens and records that
	// expired before t, returning how many rows went.
	DeleteExpiredIssuerState(ctx context.Context, before time.Time) (int, error)
}

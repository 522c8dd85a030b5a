package gatehouse

import "time"

// Agent holds what Gatehouse knows of a field agent (a Controller "fog"):
// its credentials. The fog record itself stays in the Controller; the ID is
// the fog's UUID.
type Agent struct {
	ID string
	// Name is unique; it defaults to the ID.
	Name string
	// ArchType is the fog type the agent reported when it provisioned
	// (the Controller's 0 auto-detect, 1 x86, 2 ARM).
	ArchType int
	// PublicKey is the Ed25519 public key registered at provisioning; nil
	// before the agent has provisioned.
	PublicKey     []byte
	ProvisionedAt time.Time // zero: never provisioned
	LastActiveAt  time.Time // zero: never seen
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ProvisioningKey is a single-use key an agent exchanges for its key pair
// (POST /api/v3/agent/provision). Only the SHA-256 digest of the key is
// stored; an agent has at most one key at a time.
type ProvisioningKey struct {
	Digest    [32]byte
	AgentID   string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Expired reports whether the key may no longer be used at now.
func (k *ProvisioningKey) Expired(now time.Time) bool { return !now.Before(k.ExpiresAt) }

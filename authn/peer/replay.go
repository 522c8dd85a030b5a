package peer

import (
	"context"
	"time"
)

// ReplayNamespace is the ClaimOnce namespace of peer token ids.
const ReplayNamespace = "peer-jti"

// ReplayGuard remembers single-use ids. ClaimOnce returns an error wrapping
// gatehouse.ErrAlreadyExists when (namespace, id) was claimed before and has
// not expired, and any other error when it cannot tell. The stores implement
// it (shared across replicas on PostgreSQL); replay.Memory serves one
// process.
type ReplayGuard interface {
	ClaimOnce(ctx context.Context, namespace, id string, expires time.Time) error
}

package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// ProvisioningKey is a single-use agent provisioning key, shown once.
type ProvisioningKey struct {
	AgentID, AgentName string
	Key                string
	ExpiresAt          time.Time
}

// IssueProvisioningKeyFunc makes a provisioning key for the agent named by
// ref (its ID or name; an unknown one is created) valid for ttl (zero: the
// default). The agent credentials package provides it; errors wrap the
// store's sentinels.
type IssueProvisioningKeyFunc func(ctx context.Context, ref string, ttl time.Duration) (ProvisioningKey, error)

// IssueProvisioningKey asks Options.ProvisioningKeys for a key.
func (s *Service) IssueProvisioningKey(ctx context.Context, in *gatehousev1.IssueProvisioningKeyRequest) (*gatehousev1.IssueProvisioningKeyResponse, error) {
	if s.opts.ProvisioningKeys == nil {
		return nil, status.Error(codes.Unimplemented, "agent provisioning is not available in this process")
	}
	ref := strings.TrimSpace(in.GetAgent())
	if err := checkName("agent", ref); err != nil {
		return nil, err
	}
	ttl := in.GetTtl().AsDuration()
	if in.GetTtl() != nil && (!in.GetTtl().IsValid() || ttl < 0) {
		return nil, invalid("ttl", "ttl must be a non-negative duration")
	}
	k, err := s.opts.ProvisioningKeys(ctx, ref, ttl)
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("agent %q", ref))
	}
	return &gatehousev1.IssueProvisioningKeyResponse{AgentId: k.AgentID, AgentName: k.AgentName, Key: k.Key, ExpiresAt: ts(k.ExpiresAt)}, nil
}

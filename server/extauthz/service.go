package extauthz

import (
	"context"
	"sync"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// Decider is the decision core as this door needs it.
type Decider interface {
	Decide(ctx context.Context, req *gatehouse.Request) gatehouse.Decision
}

// Service implements envoy.service.auth.v3.Authorization.
type Service struct {
	authv3.UnimplementedAuthorizationServer
	decider Decider
	// requests recycles converted requests: nothing keeps one after Decide.
	requests sync.Pool
}

var _ authv3.AuthorizationServer = (*Service)(nil)

// New returns the ext_authz service over the decision core.
func New(d Decider) *Service {
	return &Service{decider: d, requests: sync.Pool{New: func() any { return new(gatehouse.Request) }}}
}

// Check decides one request. Only a malformed call is a gRPC error.
func (s *Service) Check(ctx context.Context, cr *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	req := s.requests.Get().(*gatehouse.Request)
	defer func() {
		*req = gatehouse.Request{}
		s.requests.Put(req)
	}()
	if err := fillRequest(req, cr); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d := s.decider.Decide(ctx, req)
	return ToCheckResponse(&d), nil
}

package extauthz

import (
	"context"
	"sync"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

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

// Check decides one request. Every answer, a malformed call's included, is
// a CheckResponse: never a gRPC error.
func (s *Service) Check(ctx context.Context, cr *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	req := s.requests.Get().(*gatehouse.Request)
	defer func() {
		*req = gatehouse.Request{}
		s.requests.Put(req)
	}()
	if err := fillRequest(req, cr); err != nil {
		// In band, not a gRPC error: an Envoy set to failure_mode_allow
		// would let the request through on an error.
		return Malformed(err), nil
	}
	d := s.decider.Decide(ctx, req)
	return ToCheckResponse(&d), nil
}

// Malformed is the deny answered to a CheckRequest that cannot be decided
// (no HTTP attributes, no method or path): 400, with INVALID_ARGUMENT as the
// response's own status.
func Malformed(err error) *authv3.CheckResponse {
	d := gatehouse.Decision{
		Status:   400,
		Reason:   gatehouse.Reason("REQUEST_MALFORMED"),
		Body:     []byte(`{"error":"Bad Request","message":"Malformed authorization check"}`),
		Response: []gatehouse.Header{{Name: "content-type", Value: "application/json"}},
	}
	resp := ToCheckResponse(&d)
	resp.Status.Code = int32(codes.InvalidArgument)
	resp.Status.Message = err.Error()
	return resp
}

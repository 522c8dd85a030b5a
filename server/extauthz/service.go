package extauthz

import (
	"context"
	"sync"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
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
	// messages recycles the gRPC handler's checkMessages likewise.
	messages sync.Pool
}

var _ authv3.AuthorizationServer = (*Service)(nil)

// New returns the ext_authz service over the decision core.
func New(d Decider) *Service {
	methods := checkMethods()
	return &Service{
		decider:  d,
		requests: sync.Pool{New: func() any { return new(gatehouse.Request) }},
		messages: sync.Pool{New: func() any { return newCheckMessage(methods) }},
	}
}

// Register registers the service on a gRPC server with a Check handler that
// decodes requests with the wire decoder (wire.go, message.go) rather than
// into a generated CheckRequest; the service name, method and descriptor
// (for reflection) are Envoy's. Check remains for in-process callers.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	desc := authv3.Authorization_ServiceDesc
	desc.Methods = []grpc.MethodDesc{{MethodName: "Check", Handler: s.handleCheck}}
	r.RegisterService(&desc, s)
}

// handleCheck is the generated Check handler with checkMessage in place of
// CheckRequest. Interceptors see the checkMessage as the request and must not
// keep it once the call returns: it is recycled.
func (s *Service) handleCheck(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	m := s.messages.Get().(*checkMessage)
	defer func() {
		m.Reset()
		s.messages.Put(m)
	}()
	if err := dec(m); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return s.checkDecoded(ctx, m)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: authv3.Authorization_Check_FullMethodName}
	return interceptor(ctx, m, info, func(ctx context.Context, req any) (any, error) {
		return s.checkDecoded(ctx, req.(*checkMessage))
	})
}

func (s *Service) checkDecoded(ctx context.Context, m *checkMessage) (*authv3.CheckResponse, error) {
	req, err := m.request()
	if err != nil {
		return Malformed(err), nil // in band, as in Check
	}
	d := s.decider.Decide(ctx, req)
	return ToCheckResponse(&d), nil
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

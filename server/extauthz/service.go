package extauthz

import (
	"context"
	"sync"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
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
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d := s.decider.Decide(ctx, req)
	return ToCheckResponse(&d), nil
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

package extauthz

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/gatehouse-authz/gatehouse"
)

// recordingDecider allows GET and remembers the last request it saw.
type recordingDecider struct {
	mu   sync.Mutex
	last gatehouse.Request
}

func (d *recordingDecider) Decide(_ context.Context, req *gatehouse.Request) gatehouse.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = *req
	d.last.Headers = make(map[string]string, len(req.Headers))
	for k, v := range req.Headers { // the request is recycled after Decide
		d.last.Headers[k] = v
	}
	if req.Method == "GET" {
		return gatehouse.Decision{Allow: true, Status: 200, Upstream: []gatehouse.Header{{Name: "x-gatehouse-subject", Value: "alice"}}}
	}
	return gatehouse.Decision{Status: 403, Reason: "forbidden"}
}

// TestRegisterGRPC serves Check through Register's handler (the wire
// decoder) on a real gRPC server next to health and reflection, with an
// interceptor, and checks all three still work.
func TestRegisterGRPC(t *testing.T) {
	d := &recordingDecider{}
	var intercepted atomic.Int32
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == authv3.Authorization_Check_FullMethodName {
			intercepted.Add(1)
		}
		return h(ctx, req)
	}))
	New(d).Register(srv)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx := t.Context()
	client := authv3.NewAuthorizationClient(conn)

	resp, err := client.Check(ctx, realisticCheck("a.b.c"))
	if err != nil || resp.GetOkResponse().GetHeaders()[0].GetHeader().GetValue() != "alice" {
		t.Fatalf("allowed Check: %v %v", resp, err)
	}
	d.mu.Lock()
	got := d.last
	d.mu.Unlock()
	if got.Path != "/api/v3/microservices" || got.Query != "limit=50" || got.Header("authorization") != "Bearer a.b.c" ||
		got.Header("x-request-id") != "7d8f5e2a-3c1b-4e9d-a6f0-1b2c3d4e5f60" || got.SourceIP != "203.0.113.7" {
		t.Fatalf("decider saw %+v", got)
	}
	resp, err = client.Check(ctx, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "POST", Path: "/x"}, ""))
	if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 403 {
		t.Fatalf("denied Check: %v %v", resp, err)
	}
	// A malformed call is a 400 deny in band (promise 1), never a gRPC error.
	if resp, err := client.Check(ctx, &authv3.CheckRequest{}); err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 400 ||
		resp.GetStatus().GetCode() != int32(codes.InvalidArgument) {
		t.Fatalf("Check without HTTP attributes: %v %v", resp, err)
	}
	if n := intercepted.Load(); n != 3 {
		t.Fatalf("interceptor saw %d Check calls, want 3", n)
	}

	if h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: "envoy.service.auth.v3.Authorization"}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil || len(r.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Fatalf("reflection of the ext_authz service: %v %v", r, err)
	}
}

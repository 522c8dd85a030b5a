package gateway_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/gateway"
)

// TestClientIPMetadata: every call the gateway makes carries exactly one
// client IP, the HTTP client's (one hop of X-Forwarded-For with trustProxy,
// else the TCP peer), whatever headers the client sends.
func TestClientIPMetadata(t *testing.T) {
	seen := make(chan metadata.MD, 1)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		seen <- md
		return h(ctx, req)
	}))
	gatehousev1.RegisterAdminServiceServer(srv, gatehousev1.UnimplementedAdminServiceServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	tests := []struct {
		name       string
		trustProxy bool
		headers    map[string]string
		want       string
	}{
		{"the TCP peer", false, nil, "198.51.100.2"},
		{"X-Forwarded-For ignored without trustProxy", false, map[string]string{"X-Forwarded-For": "203.0.113.7"}, "198.51.100.2"},
		{"one proxy hop with trustProxy", true, map[string]string{"X-Forwarded-For": "10.0.0.1, 203.0.113.7"}, "203.0.113.7"},
		{"a client's own metadata header is not forwarded", false, map[string]string{"Grpc-Metadata-" + gateway.ClientIPHeader: "10.9.9.9"}, "198.51.100.2"},
		{"nor under trustProxy", true, map[string]string{"Grpc-Metadata-" + gateway.ClientIPHeader: "10.9.9.9", "X-Forwarded-For": "203.0.113.8"}, "203.0.113.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := gateway.New(t.Context(), conn, tt.trustProxy)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/v1/admin/users", nil)
			r.RemoteAddr = "198.51.100.2:40000"
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			md := <-seen
			if got := md.Get(gateway.ClientIPHeader); !slices.Equal(got, []string{tt.want}) {
				t.Fatalf("%s = %q, want [%s]", gateway.ClientIPHeader, got, tt.want)
			}
		})
	}
}

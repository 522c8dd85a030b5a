package admin_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/gatehouse-authz/gatehouse"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/admin"
	"github.com/gatehouse-authz/gatehouse/server/gateway"
)

// TestAuthorizerSourceIP: the policy sees the HTTP client's address for a
// call through the REST gateway (one carrying the gateway's mark) and the
// gRPC peer's for every other call, whatever client IP it claims.
func TestAuthorizerSourceIP(t *testing.T) {
	const mark = "0123456789abcdef0123456789abcdef"
	peerAddr := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 50051}
	tests := []struct {
		name string
		mark string // the Authorizer's; "" for none
		md   []string
		want string
	}{
		{"no metadata: the peer", mark, nil, "192.0.2.10"},
		{"mark and client IP: the client IP", mark, []string{gateway.MarkHeader, mark, gateway.ClientIPHeader, "203.0.113.7"}, "203.0.113.7"},
		{"IPv6 client IP, canonical", mark, []string{gateway.MarkHeader, mark, gateway.ClientIPHeader, "2001:DB8::0:1"}, "2001:db8::1"},
		{"client IP without the mark: the peer", mark, []string{gateway.ClientIPHeader, "203.0.113.7"}, "192.0.2.10"},
		{"wrong mark: the peer", mark, []string{gateway.MarkHeader, mark[:31] + "0", gateway.ClientIPHeader, "203.0.113.7"}, "192.0.2.10"},
		{"empty mark: the peer", mark, []string{gateway.MarkHeader, "", gateway.ClientIPHeader, "203.0.113.7"}, "192.0.2.10"},
		{"no mark configured: the peer", "", []string{gateway.MarkHeader, "", gateway.ClientIPHeader, "203.0.113.7"}, "192.0.2.10"},
		{"garbage client IP with the mark: the peer", mark, []string{gateway.MarkHeader, mark, gateway.ClientIPHeader, "not-an-ip"}, "192.0.2.10"},
		{"host:port client IP with the mark: the peer", mark, []string{gateway.MarkHeader, mark, gateway.ClientIPHeader, "203.0.113.7:80"}, "192.0.2.10"},
		{"two client IPs with the mark: the peer", mark, []string{gateway.MarkHeader, mark, gateway.ClientIPHeader, "203.0.113.7", gateway.ClientIPHeader, "10.0.0.1"}, "192.0.2.10"},
	}
	ok := func(context.Context, any) (any, error) { return "handled", nil }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: peerAddr})
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(tt.md...))
			fd := &fakeDecider{d: gatehouse.Decision{Allow: true, Status: 200}}
			a := admin.NewAuthorizer(fd, admin.AuthorizerOptions{GatewayMark: tt.mark})
			if _, err := a.Unary(ctx, &gatehousev1.ListUsersRequest{}, &grpc.UnaryServerInfo{FullMethod: gatehousev1.AdminService_ListUsers_FullMethodName}, ok); err != nil {
				t.Fatal(err)
			}
			if len(fd.seen) != 1 || fd.seen[0].SourceIP != tt.want {
				t.Fatalf("decided %+v, want source IP %s", fd.seen, tt.want)
			}
		})
	}
}

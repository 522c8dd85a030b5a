package loadkit

import (
	"context"
	"fmt"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Checker is a plain ext_authz client, for pre-flight and parity checks.
type Checker struct {
	conn   *grpc.ClientConn
	client authv3.AuthorizationClient
}

// Dial connects to an ext_authz server on loopback (no TLS).
func Dial(addr string) (*Checker, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &Checker{conn: conn, client: authv3.NewAuthorizationClient(conn)}, nil
}

// Close closes the connection.
func (c *Checker) Close() error { return c.conn.Close() }

// Verdict is what Envoy would do with a CheckResponse.
type Verdict struct {
	Allowed    bool
	HTTPStatus int // 200 when allowed; the denied response's status otherwise
}

func (v Verdict) String() string { return fmt.Sprintf("allowed=%t status=%d", v.Allowed, v.HTTPStatus) }

// Check sends one request and reads the verdict the way Envoy does: status
// code OK allows; otherwise the DeniedResponse's HTTP status (403 when unset).
func (c *Checker) Check(ctx context.Context, req *authv3.CheckRequest) (Verdict, error) {
	resp, err := c.client.Check(ctx, req)
	if err != nil {
		return Verdict{}, fmt.Errorf("check: %w", err)
	}
	if resp.GetStatus().GetCode() == 0 {
		return Verdict{Allowed: true, HTTPStatus: 200}, nil
	}
	status := int(resp.GetDeniedResponse().GetStatus().GetCode())
	if status == 0 {
		status = 403
	}
	return Verdict{HTTPStatus: status}, nil
}

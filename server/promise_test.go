package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-authz/gatehouse"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server"
)

type panicky struct{}

func (panicky) Decide(context.Context, *gatehouse.Request) gatehouse.Decision {
	panic("decider exploded outside its own recover")
}

// running starts a Server on loopback with d and returns a client
// connection; the server stops when the test ends.
func running(t *testing.T, d server.Decider, opts server.Options) *grpc.ClientConn {
	t.Helper()
	conn, _ := runningServer(t, d, opts)
	return conn
}

// runningServer is running that also returns the server.
func runningServer(t *testing.T, d server.Decider, opts server.Options) (*grpc.ClientConn, *server.Server) {
	t.Helper()
	opts.GRPCAddr, opts.HTTPAddr, opts.Decider = "127.0.0.1:0", "127.0.0.1:0", d
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	conn, err := grpc.NewClient("passthrough:///"+s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
	})
	return conn, s
}

// TestPromise1_DoorFaultsDenyInBand: a panic that escapes the decision core
// (in a door) and a malformed ext_authz call are answered with deny
// responses — 503 and 400 — never with gRPC errors, which an Envoy set to
// failure_mode_allow would turn into an allow. The panic is counted.
func TestPromise1_DoorFaultsDenyInBand(t *testing.T) {
	var panics atomic.Int64
	conn := running(t, panicky{}, server.Options{OnPanic: func() { panics.Add(1) }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	envoy := authv3.NewAuthorizationClient(conn)
	resp, err := envoy.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/api/v3/microservices", Headers: map[string]string{"authorization": "Bearer x"}},
	}}})
	if err != nil {
		t.Fatalf("ext_authz: gRPC error %v, want an in-band deny", err)
	}
	if resp.GetOkResponse() != nil || resp.GetStatus().GetCode() == int32(codes.OK) || resp.GetDeniedResponse().GetStatus().GetCode() != 503 {
		t.Fatalf("ext_authz after a panic: %v", resp)
	}

	v1 := gatehousev1.NewAuthServiceClient(conn)
	r1, err := v1.Check(ctx, &gatehousev1.CheckRequest{Method: "GET", Path: "/api/v3/microservices"})
	if err != nil {
		t.Fatalf("gatehouse.v1: gRPC error %v, want an in-band deny", err)
	}
	if r1.GetAllowed() || r1.GetHttpStatus() != 503 {
		t.Fatalf("gatehouse.v1 after a panic: %v", r1)
	}
	if got := panics.Load(); got != 2 {
		t.Fatalf("panics counted %d, want 2", got)
	}

	for name, cr := range map[string]*authv3.CheckRequest{
		"no attributes":  {},
		"no http":        {Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}},
		"no method/path": {Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{}}}},
	} {
		resp, err := envoy.Check(ctx, cr)
		if err != nil {
			t.Fatalf("%s: gRPC error %v, want an in-band deny", name, err)
		}
		if resp.GetOkResponse() != nil || resp.GetStatus().GetCode() != int32(codes.InvalidArgument) || resp.GetDeniedResponse().GetStatus().GetCode() != 400 {
			t.Fatalf("%s: %v", name, resp)
		}
	}
}

// allowing allows everything and counts its calls.
type allowing struct{ calls atomic.Int64 }

func (a *allowing) Decide(context.Context, *gatehouse.Request) gatehouse.Decision {
	a.calls.Add(1)
	return gatehouse.Decision{Allow: true, Status: 200, ID: "d"}
}

// TestPromise9_RESTBodyCapped: a REST body over its cap is refused without
// reaching the decision core; one under the cap is decided. /v1/check's cap
// is 2 MiB, room for a 1 MiB request body (peer-signed requests) in base64.
func TestPromise9_RESTBodyCapped(t *testing.T) {
	d := &allowing{}
	_, s := runningServer(t, d, server.Options{})
	post := func(body string) int {
		resp, err := http.Post("http://"+s.HTTPAddr()+"/v1/check", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	small := `{"method":"GET","path":"/api/v3/microservices"}`
	if code := post(small); code != 200 || d.calls.Load() != 1 {
		t.Fatalf("small body: %d, %d decisions", code, d.calls.Load())
	}
	// Valid JSON padded with spaces: under the cap it is decided, past it
	// refused.
	padded := func(n int) string { return small[:len(small)-1] + strings.Repeat(" ", n) + "}" }
	if code := post(padded(3 << 19)); code != 200 || d.calls.Load() != 2 {
		t.Fatalf("a 1.5 MiB body: status %d, %d decisions", code, d.calls.Load())
	}
	if code := post(padded(2 << 20)); code < 400 || code >= 500 {
		t.Fatalf("a body over 2 MiB: status %d, want a 4xx", code)
	}
	if d.calls.Load() != 2 {
		t.Fatal("a body over the cap reached the decision core")
	}
}

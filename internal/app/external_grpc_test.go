package app_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

func errorName(err error) (codes.Code, string) {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return st.Code(), info.GetReason()
		}
	}
	return st.Code(), ""
}

// TestLG12ExternalLoginGRPC: the same door over gRPC: Login, Refresh,
// GetProfile and Logout, with refusals as UNAUTHENTICATED
// InvalidCredentialsError.
func TestLG12ExternalLoginGRPC(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err := g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: "alice", Password: "wrong"})
	if c, name := errorName(err); c != codes.Unauthenticated || name != "InvalidCredentialsError" {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: "alice"})
	if c, name := errorName(err); c != codes.InvalidArgument || name != "ValidationError" {
		t.Fatalf("missing password: %v", err)
	}
	tok, err := g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: testenv.IdPAlice, Password: testenv.IdPAlicePassword})
	if err != nil || tok.GetAccessToken() == "" || tok.GetRefreshToken() == "" {
		t.Fatalf("login: %v %v", tok, err)
	}
	next, err := g.v1.Refresh(ctx, &gatehousev1.RefreshRequest{RefreshToken: tok.GetRefreshToken()})
	if err != nil || next.GetAccessToken() == "" {
		t.Fatalf("refresh: %v", err)
	}

	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+next.GetAccessToken())
	p, err := g.v1.GetProfile(authed, &gatehousev1.GetProfileRequest{})
	if err != nil || p.GetProfile().GetFields()["sub"].GetStringValue() != "alice" {
		t.Fatalf("profile: %v %v", p, err)
	}
	if _, err := g.v1.GetProfile(ctx, &gatehousev1.GetProfileRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("profile without bearer: %v", err)
	}
	if _, err := g.v1.Logout(authed, &gatehousev1.LogoutRequest{RefreshToken: next.GetRefreshToken()}); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if _, err := g.v1.Refresh(ctx, &gatehousev1.RefreshRequest{RefreshToken: next.GetRefreshToken()}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("refresh after logout: %v", err)
	}
}

// TestRL01GRPCLoginLimited: direct gRPC Login calls count against the
// caller's IP like the REST route (REST calls through the gateway are not
// counted twice).
func TestRL01GRPCLoginLimited(t *testing.T) {
	idp := startIdP(t)
	g := startExternal(t, idp, "AUTH_RATE_LIMIT_MAX_REQUESTS", "3")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// One REST login counts once.
	if code, _, _ := g.loginFrom(nil); code != 401 {
		t.Fatalf("REST login: %d", code)
	}
	for i := range 2 {
		_, err := g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: "alice", Password: "wrong"})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("gRPC login %d: %v", i+1, err)
		}
	}
	var hdr metadata.MD
	_, err := g.v1.Login(ctx, &gatehousev1.LoginRequest{Email: "alice", Password: "wrong"}, grpc.Header(&hdr))
	if c, name := errorName(err); c != codes.ResourceExhausted || name != "RateLimitExceededError" {
		t.Fatalf("4th login: %v", err)
	}
	if v := hdr.Get("retry-after"); len(v) != 1 || v[0] == "0" {
		t.Fatalf("retry-after = %v", v)
	}
}

package grpcapi

import (
	"context"
	"fmt"
	"log/slog"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/extauthz"
)

// RecoverUnary turns a panic in a handler into a log line and a counted
// failure, so one bad request never takes the process down. (The decision
// core recovers its own panics into 503 decisions; this guards everything
// else.) The two Check methods answer a recovered panic in band, with a 503
// deny response, never a gRPC error: an Envoy set to failure_mode_allow
// would let a request through on an error. Other methods get
// codes.Internal.
func RecoverUnary(log *slog.Logger, onPanic func()) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				if onPanic != nil {
					onPanic()
				}
				log.ErrorContext(ctx, "panic in gRPC handler", "method", info.FullMethod, "panic", fmt.Sprint(r))
				resp, err = nil, status.Error(codes.Internal, "internal error")
				if in := PanicResponse(info.FullMethod); in != nil {
					resp, err = in, nil
				}
			}
		}()
		return handler(ctx, req)
	}
}

// unavailableBody is the deny body of an internal failure (DESIGN.md).
const unavailableBody = `{"error":"Service Unavailable","message":"Authorization is temporarily unavailable","reason":"INTERNAL_ERROR"}`

// PanicResponse is the in-band 503 deny a Check method answers after a
// recovered panic, or nil for other methods.
func PanicResponse(fullMethod string) any {
	d := gatehouse.Decision{
		Status:   503,
		Reason:   gatehouse.ReasonInternal,
		Body:     []byte(unavailableBody),
		Response: []gatehouse.Header{{Name: "content-type", Value: "application/json"}},
	}
	switch fullMethod {
	case authv3.Authorization_Check_FullMethodName:
		return extauthz.ToCheckResponse(&d)
	case gatehousev1.AuthService_Check_FullMethodName:
		return ToCheckResponse(&d)
	}
	return nil
}

// Package userapi is the login door of gatehouse.v1.AuthService: Login,
// Refresh, Logout and GetProfile over gRPC (and, through grpc-gateway, the
// Controller's /api/v3/user/* REST routes). It converts wire shapes and maps
// login errors to gRPC statuses; the logic is login.Service's.
package userapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gatehouse-authz/gatehouse/login"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/gateway"
)

// ErrorDomain marks ErrorInfo details whose Reason is the Controller's error
// class name; the REST gateway uses it as the envelope's "name".
const ErrorDomain = "gatehouse.v1"

// Service adds the login methods to another AuthServiceServer (the Check
// door).
type Service struct {
	gatehousev1.AuthServiceServer
	login *login.Service
	limit RateLimit
}

// Limiter is the shared sliding-window log (store.AuthState).
type Limiter interface {
	RateHit(ctx context.Context, key string, now time.Time, window time.Duration, max int) (bool, time.Duration, error)
}

// RateLimit limits direct gRPC Login calls per peer IP, in the same window
// as the REST routes. Calls carrying GatewayMark (metadata
// GatewayMarkHeader) come from the REST gateway and were limited over HTTP.
type RateLimit struct {
	Limiter     Limiter
	MaxRequests int
	Window      time.Duration
	GatewayMark string
	Logger      *slog.Logger
}

// GatewayMarkHeader is the metadata key of the gateway's per-process mark.
const GatewayMarkHeader = gateway.MarkHeader

// New wraps base (which serves Check) with the login methods of svc. A zero
// limit (nil Limiter) disables the gRPC-side limit.
func New(base gatehousev1.AuthServiceServer, svc *login.Service, limit RateLimit) *Service {
	if limit.Logger == nil {
		limit.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{AuthServiceServer: base, login: svc, limit: limit}
}

// Login is POST /api/v3/user/login.
func (s *Service) Login(ctx context.Context, in *gatehousev1.LoginRequest) (*gatehousev1.LoginResponse, error) {
	if err := s.rateLimit(ctx); err != nil {
		return nil, err
	}
	if err := required("email", in.GetEmail(), "password", in.GetPassword()); err != nil {
		return nil, err
	}
	t, err := s.login.Login(ctx, login.Credentials{Username: in.GetEmail(), Password: in.GetPassword(), TOTP: in.GetTotp()})
	if err != nil {
		return nil, Status(err)
	}
	return &gatehousev1.LoginResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken}, nil
}

// Refresh is POST /api/v3/user/refresh.
func (s *Service) Refresh(ctx context.Context, in *gatehousev1.RefreshRequest) (*gatehousev1.RefreshResponse, error) {
	if err := required("refreshToken", in.GetRefreshToken()); err != nil {
		return nil, err
	}
	t, err := s.login.Refresh(ctx, in.GetRefreshToken())
	if err != nil {
		return nil, Status(err)
	}
	return &gatehousev1.RefreshResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken}, nil
}

// Logout is POST /api/v3/user/logout (204 over REST).
func (s *Service) Logout(ctx context.Context, in *gatehousev1.LogoutRequest) (*gatehousev1.LogoutResponse, error) {
	if err := s.login.Logout(ctx, authorization(ctx), in.GetRefreshToken()); err != nil {
		return nil, Status(err)
	}
	return &gatehousev1.LogoutResponse{}, nil
}

// GetProfile is GET /api/v3/user/profile.
func (s *Service) GetProfile(ctx context.Context, _ *gatehousev1.GetProfileRequest) (*gatehousev1.GetProfileResponse, error) {
	p, err := s.login.Profile(ctx, authorization(ctx))
	if err != nil {
		return nil, Status(err)
	}
	st, err := structpb.NewStruct(p)
	if err != nil {
		return nil, status.Error(codes.Internal, "profile is not a JSON object")
	}
	return &gatehousev1.GetProfileResponse{Profile: st}, nil
}

// rateLimit counts a direct gRPC Login against its peer's IP.
func (s *Service) rateLimit(ctx context.Context) error {
	l := s.limit
	if l.Limiter == nil {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get(GatewayMarkHeader) {
		if l.GatewayMark != "" && subtle.ConstantTimeCompare([]byte(v), []byte(l.GatewayMark)) == 1 {
			return nil
		}
	}
	ip := "unknown"
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		ip = p.Addr.String()
		if h, _, err := net.SplitHostPort(ip); err == nil {
			ip = h
		}
	}
	ok, retry, err := l.Limiter.RateHit(ctx, "auth:"+ip, time.Now(), l.Window, l.MaxRequests)
	if err != nil {
		l.Logger.Warn("rate limit unavailable; call let through", "err", err)
		return nil
	}
	if ok {
		return nil
	}
	secs := max(1, int(math.Ceil(retry.Seconds())))
	_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs)))
	return withName(codes.ResourceExhausted, "RateLimitExceededError", "Too many authentication requests from this IP address")
}

func authorization(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// required reports the first empty field as the Controller's schema error.
func required(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			return withName(codes.InvalidArgument, "ValidationError", fmt.Sprintf("Required field '%s' is missing", kv[i]))
		}
	}
	return nil
}

// Status maps a login error to a gRPC status carrying the Controller's error
// class: any refusal is "Invalid credentials".
func Status(err error) error {
	switch {
	case errors.Is(err, login.ErrUnauthenticated):
		return withName(codes.Unauthenticated, "AuthenticationError", "Invalid or missing bearer token")
	case errors.Is(err, login.ErrInvalidCredentials), errors.Is(err, login.ErrMFARequired):
		return withName(codes.Unauthenticated, "InvalidCredentialsError", "Invalid credentials")
	case errors.Is(err, login.ErrUnavailable):
		return withName(codes.Unavailable, "ServiceUnavailableError", "Identity provider unavailable")
	}
	return status.Error(codes.Internal, "internal error")
}

func withName(c codes.Code, name, msg string) error {
	st, err := status.New(c, msg).WithDetails(&errdetails.ErrorInfo{Reason: name, Domain: ErrorDomain})
	if err != nil {
		return status.Error(c, msg)
	}
	return st.Err()
}

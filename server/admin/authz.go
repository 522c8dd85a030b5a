package admin

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/gateway"
)

// Decider is the decision core.
type Decider interface {
	Decide(ctx context.Context, req *gatehouse.Request) gatehouse.Decision
}

// ErrorDomain is the ErrorInfo domain of Gatehouse's authorization denials.
const ErrorDomain = "gatehouse.authz"

// servicePrefix selects the calls the Authorizer decides: Gatehouse's own
// API. Envoy's ext_authz, health and reflection are not ours to guard.
const servicePrefix = "/gatehouse.v1."

// DefaultSkip returns the gatehouse.v1 methods that are not authorized by
// the policy: Check (the hot path, which decides on its own input) and the
// calls that establish a credential (Login, Refresh). A function, not a
// variable: no caller can widen the list for everyone.
func DefaultSkip() []string {
	return []string{
		gatehousev1.AuthService_Check_FullMethodName,
		"/gatehouse.v1.AuthService/Login",
		"/gatehouse.v1.AuthService/Refresh",
	}
}

// targetUser names the user a token call is about, so the policy can decide
// for whom a caller may issue, list or revoke tokens (resourceNames).
var targetUser = map[string]func(any) string{
	gatehousev1.AdminService_IssueToken_FullMethodName: func(r any) string { return r.(*gatehousev1.IssueTokenRequest).GetUser() },
	gatehousev1.AdminService_ListTokens_FullMethodName: func(r any) string { return r.(*gatehousev1.ListTokensRequest).GetUser() },
	gatehousev1.AdminService_RevokeToken_FullMethodName: func(r any) string {
		return r.(*gatehousev1.RevokeTokenRequest).GetUser()
	},
}

// Authorizer is the gRPC interceptor that puts every gatehouse.v1 call
// (except the skipped ones) before the policy, as the request
// `POST <full method>`. It holds no authorization logic of its own: the
// catalog routes and role rules in the policy data decide. The REST gateway
// dials this same server, so REST calls pass through it too.
type Authorizer struct {
	decider Decider
	skip    map[string]bool
	mark    []byte
}

// AuthorizerOptions configure an Authorizer.
type AuthorizerOptions struct {
	// Skip are the methods let through undecided (DefaultSkip when empty).
	Skip []string
	// GatewayMark is the REST gateway's per-process mark (metadata
	// gateway.MarkHeader). A call carrying it came through the gateway, and
	// its source IP is the HTTP client's (metadata gateway.ClientIPHeader)
	// instead of the gateway's loopback connection. Empty: every call's
	// source IP is its gRPC peer.
	GatewayMark string
}

// NewAuthorizer returns an Authorizer over d.
func NewAuthorizer(d Decider, opts AuthorizerOptions) *Authorizer {
	skip := opts.Skip
	if len(skip) == 0 {
		skip = DefaultSkip()
	}
	a := &Authorizer{decider: d, skip: make(map[string]bool, len(skip)), mark: []byte(opts.GatewayMark)}
	for _, m := range skip {
		a.skip[m] = true
	}
	return a
}

// Unary authorizes unary calls.
func (a *Authorizer) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if info.FullMethod == gatehousev1.AuthService_Check_FullMethodName {
		return handler(ctx, req) // the hot path: nothing else happens here
	}
	if !a.guards(info.FullMethod) {
		return handler(ctx, req)
	}
	if err := a.authorize(ctx, info.FullMethod, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream authorizes streaming calls (none of Gatehouse's today), so a future
// one cannot slip past the policy.
func (a *Authorizer) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !a.guards(info.FullMethod) {
		return handler(srv, ss)
	}
	if err := a.authorize(ss.Context(), info.FullMethod, nil); err != nil {
		return err
	}
	return handler(srv, ss)
}

func (a *Authorizer) guards(method string) bool {
	return strings.HasPrefix(method, servicePrefix) && !a.skip[method]
}

// DecisionPath is the request path the policy decides a call as: the full
// method, followed by the escaped target login for token calls naming one.
func DecisionPath(method string, req any) string {
	if f := targetUser[method]; f != nil && req != nil {
		if u := f(req); u != "" {
			return method + "/" + url.PathEscape(u)
		}
	}
	return method
}

func (a *Authorizer) authorize(ctx context.Context, method string, req any) error {
	md, _ := metadata.FromIncomingContext(ctx)
	headers := make(map[string]string, 1)
	// Only the Authorization metadata is a credential. The gateway forwards
	// cookies as grpcgateway-cookie; they are never read here.
	if v := md.Get("authorization"); len(v) > 0 {
		headers["authorization"] = v[0]
	}
	r := &gatehouse.Request{
		Method:  http.MethodPost,
		Path:    DecisionPath(method, req),
		Headers: headers,
	}
	if v := md.Get(":authority"); len(v) > 0 {
		r.Host = v[0]
	}
	r.SourceIP = a.sourceIP(ctx, md)
	d := a.decider.Decide(ctx, r)
	if d.Allow {
		return nil
	}
	return DenyError(&d)
}

// sourceIP is the address the call came from: for a call through the REST
// gateway (one carrying the gateway's mark) the HTTP client's address the
// gateway passed, else the gRPC peer's. The client-IP metadata of any other
// caller is ignored, as is one that is not exactly one IP address.
func (a *Authorizer) sourceIP(ctx context.Context, md metadata.MD) string {
	if a.viaGateway(md) {
		if v := md.Get(gateway.ClientIPHeader); len(v) == 1 {
			if ip, err := netip.ParseAddr(v[0]); err == nil {
				return ip.String()
			}
		}
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	ip := p.Addr.String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	return ip
}

// viaGateway reports whether md carries the gateway's mark.
func (a *Authorizer) viaGateway(md metadata.MD) bool {
	if len(a.mark) == 0 {
		return false
	}
	for _, v := range md.Get(gateway.MarkHeader) {
		if subtle.ConstantTimeCompare([]byte(v), a.mark) == 1 {
			return true
		}
	}
	return false
}

// DenyError turns a deny decision into a gRPC status: UNAUTHENTICATED for
// 401, UNAVAILABLE for 5xx, PERMISSION_DENIED otherwise, with an ErrorInfo
// carrying the reason code, the decision id and the HTTP status.
func DenyError(d *gatehouse.Decision) error {
	code, msg := codes.PermissionDenied, "Authorization denied: You do not have permission to perform this action. Please contact your administrator."
	switch {
	case d.Status == http.StatusUnauthorized:
		code, msg = codes.Unauthenticated, "Unauthorized: No authentication information found"
		if d.Reason != gatehouse.ReasonNoCredential {
			msg = "Unauthorized: the credential was refused"
		}
	case d.Status >= 500:
		code, msg = codes.Unavailable, "Authorization is temporarily unavailable"
	}
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{
		Reason: string(d.Reason),
		Domain: ErrorDomain,
		Metadata: map[string]string{
			"decision_id": d.ID,
			"http_status": strconv.Itoa(d.Status),
		},
	})
	if err != nil { // only a marshalling failure of a static message type
		return status.New(code, msg).Err()
	}
	return st.Err()
}

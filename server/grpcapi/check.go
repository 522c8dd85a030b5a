package grpcapi

import (
	"context"
	"net"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// Decider is the decision core as this door needs it.
type Decider interface {
	Decide(ctx context.Context, req *gatehouse.Request) gatehouse.Decision
}

// AuthService implements gatehouse.v1.AuthService.
type AuthService struct {
	gatehousev1.UnimplementedAuthServiceServer
	decider Decider
}

var _ gatehousev1.AuthServiceServer = (*AuthService)(nil)

// NewAuthService returns the service over the decision core.
func NewAuthService(d Decider) *AuthService { return &AuthService{decider: d} }

// Check decides one request. A deny is a normal response; only a malformed
// call is a gRPC error (InvalidArgument with the offending fields).
func (s *AuthService) Check(ctx context.Context, in *gatehousev1.CheckRequest) (*gatehousev1.CheckResponse, error) {
	req, err := ToRequest(in)
	if err != nil {
		return nil, err
	}
	d := s.decider.Decide(ctx, req)
	return ToCheckResponse(&d), nil
}

// MaxBody is the largest request body a CheckRequest may carry, as Envoy's
// with_request_body max_request_bytes would forward it (1 MiB).
const MaxBody = 1 << 20

// ToRequest converts a gatehouse.v1 CheckRequest.
func ToRequest(in *gatehousev1.CheckRequest) (*gatehouse.Request, error) {
	var bad []*errdetails.BadRequest_FieldViolation
	if in.GetMethod() == "" {
		bad = append(bad, &errdetails.BadRequest_FieldViolation{Field: "method", Description: "required"})
	}
	if !strings.HasPrefix(in.GetPath(), "/") {
		bad = append(bad, &errdetails.BadRequest_FieldViolation{Field: "path", Description: "required, starting with /"})
	}
	if len(in.GetBody()) > MaxBody {
		bad = append(bad, &errdetails.BadRequest_FieldViolation{Field: "body", Description: "at most 1 MiB (1048576 bytes)"})
	}
	if len(bad) > 0 {
		st, _ := status.New(codes.InvalidArgument, "invalid check request").WithDetails(&errdetails.BadRequest{FieldViolations: bad})
		return nil, st.Err()
	}
	headers := gatehouse.LowerHeaders(in.GetHeaders())
	if in.GetAuthorization() != "" {
		headers["authorization"] = in.GetAuthorization()
	}
	host := in.GetHost()
	if host == "" {
		host = headers["host"]
	}
	path, query := gatehouse.SplitPathQuery(in.GetPath())
	return &gatehouse.Request{
		Method:   strings.ToUpper(in.GetMethod()),
		Path:     path,
		Query:    query,
		Host:     host,
		Headers:  headers,
		SourceIP: hostOnly(in.GetSourceAddress()),
		Body:     in.GetBody(),
	}, nil
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// ToCheckResponse renders a decision.
func ToCheckResponse(d *gatehouse.Decision) *gatehousev1.CheckResponse {
	out := &gatehousev1.CheckResponse{
		Allowed:         d.Allow,
		HttpStatus:      int32(d.Status),
		Reason:          string(d.Reason),
		Subject:         d.Subject,
		Groups:          d.Groups,
		IdentityKind:    string(d.Kind),
		DecisionId:      d.ID,
		HeadersToRemove: d.RemoveUpstream,
	}
	if d.Allow {
		out.Headers = headerMap(d.Upstream)
	} else {
		out.ResponseHeaders = headerMap(d.Response)
		out.Body = string(d.Body)
	}
	return out
}

func headerMap(hs []gatehouse.Header) map[string]string {
	m := make(map[string]string, len(hs))
	for _, h := range hs {
		m[h.Name] = h.Value
	}
	return m
}

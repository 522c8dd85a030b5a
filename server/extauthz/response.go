package extauthz

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/gatehouse-authz/gatehouse"
)

// ToCheckResponse renders a decision in Envoy's shape: OkHttpResponse with
// the identity headers set (overwriting any client copy) and the remaining
// identity names removed, or DeniedHttpResponse with status, headers and body.
func ToCheckResponse(d *gatehouse.Decision) *authv3.CheckResponse {
	if d.Allow {
		return &authv3.CheckResponse{
			Status: &status.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers:         headerOptions(d.Upstream),
				HeadersToRemove: d.RemoveUpstream,
			}},
		}
	}
	return &authv3.CheckResponse{
		Status: &status.Status{Code: int32(grpcCode(d.Status)), Message: string(d.Reason)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(d.Status)},
			Headers: headerOptions(d.Response),
			Body:    string(d.Body),
		}},
	}
}

func headerOptions(hs []gatehouse.Header) []*corev3.HeaderValueOption {
	// Three allocations for any number of headers instead of two per header;
	// the messages are never copied, only pointed to.
	out := make([]*corev3.HeaderValueOption, len(hs))
	opts := make([]corev3.HeaderValueOption, len(hs))
	vals := make([]corev3.HeaderValue, len(hs))
	for i, h := range hs {
		vals[i].Key, vals[i].Value = h.Name, h.Value
		opts[i].Header = &vals[i]
		opts[i].AppendAction = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
		out[i] = &opts[i]
	}
	return out
}

// grpcCode is the CheckResponse status matching an HTTP deny status. Envoy
// only needs "not OK" to deny; the code helps logs and non-Envoy callers.
func grpcCode(httpStatus int) codes.Code {
	switch {
	case httpStatus == 401:
		return codes.Unauthenticated
	case httpStatus == 403:
		return codes.PermissionDenied
	case httpStatus == 429:
		return codes.ResourceExhausted
	case httpStatus >= 500:
		return codes.Unavailable
	}
	return codes.PermissionDenied
}

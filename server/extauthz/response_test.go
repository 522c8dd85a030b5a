package extauthz

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"

	"github.com/gatehouse-authz/gatehouse"
)

func TestToCheckResponse(t *testing.T) {
	allow := ToCheckResponse(&gatehouse.Decision{Allow: true, Status: 200,
		Upstream:       []gatehouse.Header{{Name: "x-gatehouse-subject", Value: "alice"}},
		RemoveUpstream: []string{"x-gatehouse-groups"}})
	if allow.GetStatus().GetCode() != int32(codes.OK) {
		t.Fatalf("allow status %v", allow.GetStatus())
	}
	ok := allow.GetOkResponse()
	if ok == nil || len(ok.GetHeaders()) != 1 || ok.GetHeaders()[0].GetHeader().GetValue() != "alice" ||
		ok.GetHeaders()[0].GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
		t.Fatalf("ok response %v", ok)
	}
	if len(ok.GetHeadersToRemove()) != 1 || ok.GetHeadersToRemove()[0] != "x-gatehouse-groups" {
		t.Fatalf("headers to remove %v", ok.GetHeadersToRemove())
	}

	for _, tt := range []struct {
		status int
		code   codes.Code
	}{{401, codes.Unauthenticated}, {403, codes.PermissionDenied}, {503, codes.Unavailable}} {
		deny := ToCheckResponse(&gatehouse.Decision{Status: tt.status, Reason: "R", Body: []byte(`{"a":1}`),
			Response: []gatehouse.Header{{Name: "www-authenticate", Value: "Bearer"}}})
		if deny.GetStatus().GetCode() != int32(tt.code) {
			t.Errorf("%d: grpc code %v", tt.status, deny.GetStatus().GetCode())
		}
		d := deny.GetDeniedResponse()
		if d == nil || int(d.GetStatus().GetCode()) != tt.status || d.GetBody() != `{"a":1}` || d.GetHeaders()[0].GetHeader().GetKey() != "www-authenticate" {
			t.Errorf("%d: denied response %v", tt.status, d)
		}
	}
}

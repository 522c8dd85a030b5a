package grpcapi

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// FuzzRESTCheckBody: the body of POST /v1/check is outside input. grpc-gateway
// decodes it with protojson into the request the gRPC door takes; any body
// either fails to decode, or converts to a request (lower-cased header names,
// a path without its query) or an InvalidArgument — never a panic.
func FuzzRESTCheckBody(f *testing.F) {
	for _, s := range []string{
		`{"method":"GET","path":"/api/v3/microservices"}`,
		`{"method":"get","path":"/a?b=c#d","headers":{"Authorization":"Bearer x","X-Gatehouse-Subject":"spoof"},"sourceAddress":"[::1]:5"}`,
		`{"authorization":"Basic dTpw","method":"POST","path":"/","host":"h"}`,
		`{"path":"relative"}`, `{}`, `null`, `{"headers":{"":""}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in gatehousev1.CheckRequest
		if protojson.Unmarshal(body, &in) != nil {
			return
		}
		r, err := ToRequest(&in)
		if err != nil {
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("error %v is not InvalidArgument", err)
			}
			return
		}
		for k := range r.Headers {
			if k != strings.ToLower(k) {
				t.Fatalf("header name %q not lower-cased", k)
			}
		}
		if strings.ContainsAny(r.Path, "?") {
			t.Fatalf("path %q keeps its query", r.Path)
		}
	})
}

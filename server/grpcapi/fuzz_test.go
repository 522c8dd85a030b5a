package grpcapi

import (
	"maps"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// FuzzCheckRequest feeds POST /v1/check bodies, decoded as the REST gateway
// decodes them, to the gatehouse.v1 conversion. It never panics; a refused
// call is InvalidArgument; a converted request holds the router's
// invariants (upper-case method, a path starting with '/' without query or
// fragment), lower-case header names, the authorization field over any
// header, the body unchanged and within MaxBody, and is the same every time
// (header names differing in case only must not make the result depend on
// map order). Seeds:
// testdata/fuzz/FuzzCheckRequest.
func FuzzCheckRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var in gatehousev1.CheckRequest
		if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &in) != nil {
			return
		}
		r, err := ToRequest(&in)
		if err != nil {
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("%s: error %v", body, err)
			}
			return
		}
		switch {
		case r.Method == "" || r.Method != strings.ToUpper(r.Method):
			t.Fatalf("method %q", r.Method)
		case !strings.HasPrefix(r.Path, "/") || strings.ContainsAny(r.Path, "?#") || strings.Contains(r.Query, "#"):
			t.Fatalf("path %q query %q", r.Path, r.Query)
		case in.GetAuthorization() != "" && r.Headers["authorization"] != in.GetAuthorization():
			t.Fatalf("authorization %q, field %q", r.Headers["authorization"], in.GetAuthorization())
		case len(r.Body) > MaxBody || string(r.Body) != string(in.GetBody()):
			t.Fatalf("body of %d bytes converted to %d bytes", len(in.GetBody()), len(r.Body))
		}
		for k := range r.Headers {
			if k != strings.ToLower(k) {
				t.Fatalf("header name %q", k)
			}
		}
		for range 4 {
			again, _ := ToRequest(&in)
			if !maps.Equal(again.Headers, r.Headers) || again.Host != r.Host {
				t.Fatalf("%s converts differently: %v then %v", body, r.Headers, again.Headers)
			}
		}
	})
}

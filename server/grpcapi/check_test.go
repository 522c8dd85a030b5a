package grpcapi

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

func TestToRequest(t *testing.T) {
	r, err := ToRequest(&gatehousev1.CheckRequest{
		Authorization: "Bearer x", Method: "get", Path: "/api/v3/status?verbose=1",
		Headers: map[string]string{"Authorization": "Bearer ignored", "X-Gatehouse-Subject": "spoof", "Host": "h.example"}, SourceAddress: "10.1.2.3:4567",
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "GET" || r.Path != "/api/v3/status" || r.Query != "verbose=1" || r.Host != "h.example" || r.SourceIP != "10.1.2.3" {
		t.Fatalf("got %+v", r)
	}
	if r.Header("authorization") != "Bearer x" {
		t.Fatalf("authorization field must win over the header: %q", r.Header("authorization"))
	}
	if r.Header("x-gatehouse-subject") != "spoof" {
		t.Fatal("header names must be lower-cased")
	}
}

func TestToRequestInvalid(t *testing.T) {
	_, err := ToRequest(&gatehousev1.CheckRequest{Path: "no-slash"})
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v", st.Code())
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) != 2 || fields[0] != "method" || fields[1] != "path" {
		t.Fatalf("field violations %v", fields)
	}
}

// Header names differing in case only are one header, joined in name order:
// the decision must not depend on map iteration order.
func TestToRequestJoinsNamesDifferingInCase(t *testing.T) {
	for range 8 {
		r, err := ToRequest(&gatehousev1.CheckRequest{Method: "GET", Path: "/", Headers: map[string]string{"X-A": "1", "x-a": "2", "x-b": "3"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Headers["x-a"] != "1, 2" || r.Headers["x-b"] != "3" {
			t.Fatalf("headers %v", r.Headers)
		}
	}
}

// The body reaches the decision core unchanged (peer-signed requests bind
// its SHA-256); a body over Envoy's 1 MiB cap is a malformed call.
func TestToRequestBody(t *testing.T) {
	for _, n := range []int{0, 1, MaxBody} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i)
		}
		r, err := ToRequest(&gatehousev1.CheckRequest{Method: "POST", Path: "/synchronize", Body: body})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if string(r.Body) != string(body) {
			t.Fatalf("%d bytes: body changed", n)
		}
	}
	_, err := ToRequest(&gatehousev1.CheckRequest{Method: "POST", Path: "/synchronize", Body: make([]byte, MaxBody+1)})
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("oversized body: %v", err)
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) != 1 || fields[0] != "body" {
		t.Fatalf("field violations %v", fields)
	}
}

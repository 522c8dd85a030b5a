package extauthz

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-authz/gatehouse"
)

// realisticCheck is an Envoy CheckRequest as a browser request through a
// mesh produces it: ~30 headers, source and destination peers, ~2.5 KB.
func realisticCheck(token string) *authv3.CheckRequest {
	headers := map[string]string{
		":authority": "api.example.com", ":method": "GET", ":path": "/api/v3/microservices?limit=50", ":scheme": "https",
		"accept":                         "application/json, text/plain, */*",
		"accept-encoding":                "gzip, deflate, br, zstd",
		"accept-language":                "en-GB,en;q=0.9,de;q=0.8",
		"authorization":                  "Bearer " + token,
		"cookie":                         "_ga=GA1.1.1234567890.1700000000; _gid=GA1.1.987654321.1700000000; theme=dark; lang=en; consent=1; sidebar=collapsed; tz=Europe%2FBerlin",
		"origin":                         "https://console.example.com",
		"referer":                        "https://console.example.com/microservices",
		"sec-ch-ua":                      `"Chromium";v="156", "Not.A/Brand";v="99"`,
		"sec-ch-ua-mobile":               "?0",
		"sec-ch-ua-platform":             `"Linux"`,
		"sec-fetch-dest":                 "empty",
		"sec-fetch-mode":                 "cors",
		"sec-fetch-site":                 "same-site",
		"traceparent":                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":                     "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
		"user-agent":                     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
		"x-b3-sampled":                   "1",
		"x-b3-spanid":                    "a2fb4a1d1a96d312",
		"x-b3-traceid":                   "463ac35c9f6413ad48485a3953bb6124",
		"x-envoy-attempt-count":          "1",
		"x-envoy-expected-rq-timeout-ms": "15000",
		"x-envoy-internal":               "true",
		"x-forwarded-for":                "203.0.113.7, 10.0.0.12",
		"x-forwarded-proto":              "https",
		"x-request-id":                   "7d8f5e2a-3c1b-4e9d-a6f0-1b2c3d4e5f60",
	}
	cr := httpCheck(&authv3.AttributeContext_HttpRequest{
		Id: "1234567890", Method: "GET", Path: "/api/v3/microservices?limit=50", Host: "api.example.com",
		Scheme: "https", Protocol: "HTTP/2", Headers: headers,
	}, "203.0.113.7")
	cr.Attributes.Destination = &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
		SocketAddress: &corev3.SocketAddress{Address: "10.0.0.5", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 8443}}}}}
	cr.Attributes.ContextExtensions = map[string]string{"virtual_host": "api"}
	return cr
}

// viaProto is the reference: the generated message and fillRequest.
func viaProto(b []byte) (req *gatehouse.Request, wireErr, convErr error) {
	var cr authv3.CheckRequest
	if err := proto.Unmarshal(b, &cr); err != nil {
		return nil, err, nil
	}
	req = new(gatehouse.Request)
	if err := fillRequest(req, &cr); err != nil {
		return nil, nil, err
	}
	return req, nil, nil
}

// sameRequest compares two converted requests (a nil and an empty body are
// the same).
func sameRequest(a, b *gatehouse.Request) bool {
	return a.Method == b.Method && a.Path == b.Path && a.Query == b.Query && a.Host == b.Host &&
		a.SourceIP == b.SourceIP && bytes.Equal(a.Body, b.Body) && maps.Equal(a.Headers, b.Headers) &&
		(a.Headers == nil) == (b.Headers == nil)
}

// caseCollisions reports whether the headers of b, decoded by protobuf, have
// two names equal but for case: fillRequest lowers them in map order, so the
// surviving value is not defined and the two decoders may differ.
func caseCollisions(b []byte) bool {
	var cr authv3.CheckRequest
	if proto.Unmarshal(b, &cr) != nil {
		return false
	}
	seen := map[string]bool{}
	for k := range cr.GetAttributes().GetRequest().GetHttp().GetHeaders() {
		l := strings.ToLower(k)
		if seen[l] {
			return true
		}
		seen[l] = true
	}
	return false
}

// checkSame asserts the wire decoder's answer for b is proto.Unmarshal's and
// fillRequest's. Where protobuf refuses the bytes the wire decoder may accept
// them, but only because it does not look inside fields it does not read.
func checkSame(t *testing.T, b []byte) {
	t.Helper()
	want, wantWire, wantConv := viaProto(b)
	var got gatehouse.Request
	gotWire, gotConv := decodeCheckRequest(&got, bytes.Clone(b))
	if wantWire != nil {
		return
	}
	if gotWire != nil {
		t.Fatalf("wire decoder refused what protobuf accepts: %v\n%x", gotWire, b)
	}
	if (wantConv == nil) != (gotConv == nil) || wantConv != nil && wantConv.Error() != gotConv.Error() {
		t.Fatalf("conversion: wire %v, protobuf %v\n%x", gotConv, wantConv, b)
	}
	if wantConv != nil || caseCollisions(b) {
		return
	}
	if !sameRequest(&got, want) {
		t.Fatalf("wire decoder:\n%+v\nprotobuf:\n%+v\n%x", got, *want, b)
	}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wireSeeds are the table of TestWireDecodeMatchesProto and the fuzz seeds.
func wireSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	hm := func(hv ...*corev3.HeaderValue) *corev3.HeaderMap { return &corev3.HeaderMap{Headers: hv} }
	seeds := map[string][]byte{
		"realistic":          marshal(t, realisticCheck("a.b.c")),
		"empty":              nil,
		"no http":            marshal(t, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}}),
		"no path":            marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET"}, "")),
		"pseudo headers":     marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Headers: map[string]string{":method": "post", ":path": "/a?b#c", ":authority": "h"}}, "")),
		"upper-case headers": marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/", Headers: map[string]string{"Authorization": "Token t", "x-a": "1"}}, "")),
		"raw header map": marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/p", HeaderMap: hm(
			&corev3.HeaderValue{Key: "Authorization", RawValue: []byte("Bearer raw")}, &corev3.HeaderValue{Key: "x-a", Value: "1"},
			&corev3.HeaderValue{Key: "X-A", Value: "2"}, &corev3.HeaderValue{Key: "bin", RawValue: []byte{0xff, 0}})}, "")),
		"empty header map": marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/p", HeaderMap: hm()}, "")),
		"map and header map": marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/p",
			Headers: map[string]string{"a": "map"}, HeaderMap: hm(&corev3.HeaderValue{Key: "a", Value: "raw"})}, "")),
		"raw body":  marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "POST", Path: "/b", RawBody: []byte{0, 1, 0xff}, Body: "text"}, "")),
		"text body": marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "POST", Path: "/b", Body: `{"a":1}`}, "")),
		"pipe source": marshal(t, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source:  &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/run/envoy.sock"}}}},
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/"}}}}),
		"principal source": marshal(t, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source:  &authv3.AttributeContext_Peer{Principal: "10.1.2.3:4567"},
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/"}}}}),
		"internal address": marshal(t, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source: &authv3.AttributeContext_Peer{Principal: "10.1.2.3:4567", Address: &corev3.Address{Address: &corev3.Address_EnvoyInternalAddress{
				EnvoyInternalAddress: &corev3.EnvoyInternalAddress{EndpointId: "e"}}}},
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/"}}}}),
	}
	// Protobuf merges repeated occurrences of a message: the second half
	// changes the method, adds a header, moves the source to a pipe.
	seeds["merged"] = append(marshal(t, realisticCheck("first")), marshal(t, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:  &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/p"}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "delete", Headers: map[string]string{"authorization": "Bearer second"}}}}})...)
	// Known fields with the wrong wire type are unknown fields to protobuf.
	wrongType := protowire.AppendTag(nil, fCheckRequestAttributes, protowire.VarintType)
	wrongType = protowire.AppendVarint(wrongType, 7)
	seeds["wrong wire type"] = append(wrongType, seeds["text body"]...)
	seeds["group"] = append(protowire.AppendTag(protowire.AppendTag(nil, 99, protowire.StartGroupType), 99, protowire.EndGroupType), seeds["text body"]...)
	seeds["truncated"] = seeds["realistic"][:len(seeds["realistic"])-3]
	// protobuf refuses to marshal invalid UTF-8: patch it in.
	valid := marshal(t, httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/", Headers: map[string]string{"x": "MARK"}}, ""))
	seeds["invalid utf-8"] = bytes.Replace(valid, []byte("MARK"), []byte("\xff\xfe\xfd\xfc"), 1)
	return seeds
}

func TestWireDecodeMatchesProto(t *testing.T) {
	for name, b := range wireSeeds(t) {
		t.Run(name, func(t *testing.T) { checkSame(t, b) })
	}
	// And the cases protobuf refuses, the wire decoder refuses too.
	for _, name := range []string{"truncated", "invalid utf-8"} {
		var req gatehouse.Request
		if wireErr, _ := decodeCheckRequest(&req, wireSeeds(t)[name]); wireErr == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var req gatehouse.Request
	if _, convErr := decodeCheckRequest(&req, wireSeeds(t)["realistic"]); convErr != nil ||
		req.Method != "GET" || req.Path != "/api/v3/microservices" || req.Query != "limit=50" ||
		req.Header("authorization") != "Bearer a.b.c" || req.SourceIP != "203.0.113.7" || len(req.Headers) != len(realisticCheck("").GetAttributes().GetRequest().GetHttp().GetHeaders()) {
		t.Fatalf("realistic request: %v %+v", convErr, req)
	}
}

// FuzzWireDecode: on any bytes protobuf accepts, the wire decoder gives the
// same gatehouse.Request (or the same conversion error) as proto.Unmarshal
// and fillRequest.
func FuzzWireDecode(f *testing.F) {
	for _, b := range wireSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkSame(t, b) })
}

func BenchmarkDecode(b *testing.B) {
	msg := marshal(b, realisticCheck("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"))
	b.Run(fmt.Sprintf("wire/%dB", len(msg)), func(b *testing.B) {
		b.ReportAllocs()
		var req gatehouse.Request
		for b.Loop() {
			if wireErr, convErr := decodeCheckRequest(&req, bytes.Clone(msg)); wireErr != nil || convErr != nil {
				b.Fatal(wireErr, convErr)
			}
		}
	})
	b.Run(fmt.Sprintf("protobuf/%dB", len(msg)), func(b *testing.B) {
		b.ReportAllocs()
		var req gatehouse.Request
		for b.Loop() {
			var cr authv3.CheckRequest
			if err := proto.Unmarshal(msg, &cr); err != nil {
				b.Fatal(err)
			}
			if err := fillRequest(&req, &cr); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHandleCheck is the gRPC door without the network: gRPC's decode
// step (proto.Unmarshal into the handler's message, as the codec does), the
// conversion and the response, around a decider that allows at once.
func BenchmarkHandleCheck(b *testing.B) {
	msg := marshal(b, realisticCheck("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"))
	s := New(allowDecider{})
	dec := func(m any) error { return proto.Unmarshal(msg, m.(proto.Message)) }
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := s.handleCheck(s, ctx, dec, nil)
		if err != nil || resp.(*authv3.CheckResponse).GetOkResponse() == nil {
			b.Fatal(resp, err)
		}
	}
}

type allowDecider struct{}

func (allowDecider) Decide(context.Context, *gatehouse.Request) gatehouse.Decision {
	return gatehouse.Decision{Allow: true, Status: 200}
}

package extauthz

import (
	"maps"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/proto"
)

func httpCheck(h *authv3.AttributeContext_HttpRequest, src string) *authv3.CheckRequest {
	cr := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: h}}}
	if src != "" {
		cr.Attributes.Source = &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: src, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 5555}}}}}
	}
	return cr
}

func TestToRequest(t *testing.T) {
	tests := []struct {
		name                                 string
		in                                   *authv3.CheckRequest
		wantErr                              bool
		method, path, query, host, src, auth string
	}{
		{
			name:   "path with query and fragment",
			in:     httpCheck(&authv3.AttributeContext_HttpRequest{Method: "get", Path: "/api/v3/microservices/?x=1#frag", Host: "api.example", Headers: map[string]string{"authorization": "Bearer abc"}}, "10.0.0.7"),
			method: "GET", path: "/api/v3/microservices/", query: "x=1", host: "api.example", src: "10.0.0.7", auth: "Bearer abc",
		},
		{
			name:   "pseudo headers fill missing fields",
			in:     httpCheck(&authv3.AttributeContext_HttpRequest{Headers: map[string]string{":method": "POST", ":path": "/a?b", ":authority": "h"}}, ""),
			method: "POST", path: "/a", query: "b", host: "h",
		},
		{
			name:   "upper-case header names are lowered",
			in:     httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/", Headers: map[string]string{"Authorization": "Token t"}}, ""),
			method: "GET", path: "/", auth: "Token t",
		},
		{
			name: "raw header map",
			in: httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/p", HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
				{Key: "Authorization", RawValue: []byte("Bearer raw")}, {Key: "x-a", Value: "1"}, {Key: "x-a", Value: "2"}}}}, ""),
			method: "GET", path: "/p", auth: "Bearer raw",
		},
		{name: "no http attributes", in: &authv3.CheckRequest{}, wantErr: true},
		{name: "no path", in: httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET"}, ""), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ToRequest(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatal("expected an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != tt.method || r.Path != tt.path || r.Query != tt.query || r.Host != tt.host || r.SourceIP != tt.src || r.Header("authorization") != tt.auth {
				t.Fatalf("got %+v", r)
			}
		})
	}
	r, _ := ToRequest(httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/p", HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: "x-a", Value: "1"}, {Key: "X-A", Value: "2"}}}}, ""))
	if r.Header("x-a") != "1, 2" {
		t.Fatalf("repeated headers joined: %q", r.Header("x-a"))
	}
}

// FuzzToRequest feeds arbitrary bytes as a CheckRequest: conversion must never
// panic, a converted request always has a method and a header map, and it
// is the same every time (names differing in case only are joined).
func FuzzToRequest(f *testing.F) {
	seeds := []*authv3.CheckRequest{
		httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/api/v3/microservices?x=1", Headers: map[string]string{"authorization": "Bearer a.b.c"}}, "127.0.0.1"),
		httpCheck(&authv3.AttributeContext_HttpRequest{Headers: map[string]string{":method": "POST", ":path": "/api/v3/user/login"}}, ""),
		httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/x", HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "A", RawValue: []byte{0xff}}}}}, ""),
		httpCheck(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/x", Headers: map[string]string{"Authorization": "Bearer a", "authorization": "Bearer b", "x-b": "1"}}, ""),
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cr authv3.CheckRequest
		if proto.Unmarshal(data, &cr) != nil {
			return
		}
		r, err := ToRequest(&cr)
		if err != nil {
			return
		}
		if r.Method == "" {
			t.Fatalf("converted request without a method: %+v", r)
		}
		if r.Headers == nil {
			t.Fatal("nil header map")
		}
		for range 4 {
			again, _ := ToRequest(&cr)
			if !maps.Equal(again.Headers, r.Headers) {
				t.Fatalf("converts differently: %v then %v", r.Headers, again.Headers)
			}
		}
	})
}

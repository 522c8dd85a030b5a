package testenv

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// recordingTB captures what RequireServer does instead of ending the test.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped = true
	r.msg = format
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
}

func TestRequireServer(t *testing.T) {
	down := errors.New("connection refused")
	tests := []struct {
		name       string
		ci         string
		err        error
		skip, fail bool
	}{
		{"available", "", nil, false, false},
		{"available in CI", "true", nil, false, false},
		{"unavailable outside CI skips", "", down, true, false},
		{"unavailable with CI=false skips", "false", down, true, false},
		{"unavailable in CI fails", "true", down, false, true},
		{"CI=TRUE counts", "TRUE", down, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recordingTB{}
			RequireServer(r, "PostgreSQL at 127.0.0.1:5432", tt.err)
			if r.skipped != tt.skip || r.failed != tt.fail {
				t.Fatalf("skipped=%v failed=%v, want %v %v", r.skipped, r.failed, tt.skip, tt.fail)
			}
			if strings.Contains(r.msg, "\n") {
				t.Fatal("the skip message must be one line")
			}
		})
	}
}

func TestRequireTCP(t *testing.T) {
	ln := Listen(t)
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Fatalf("listener on %s", ln.Addr())
	}
	r := &recordingTB{}
	RequireTCP(r, "test listener", ln.Addr().String())
	if r.skipped || r.failed {
		t.Fatalf("open port judged unavailable: %s", r.msg)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	t.Setenv("CI", "")
	RequireTCP(r, "closed port", addr)
	if !r.skipped {
		t.Fatal("closed port not skipped")
	}
}

func TestIssuerServesDiscoveryAndJWKS(t *testing.T) {
	iss := NewIssuer(t, WithEC(), WithEd25519(), WithIssuerPath("/realms/x"))
	if !strings.HasPrefix(iss.URL(), "http://127.0.0.1:") || !strings.HasSuffix(iss.URL(), "/realms/x") {
		t.Fatalf("issuer URL %s", iss.URL())
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, iss.HTTPClient(), iss.URL()+"/.well-known/openid-configuration", &doc)
	if doc.Issuer != iss.URL() || doc.JWKSURI != iss.JWKSURL() {
		t.Fatalf("discovery %+v", doc)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	getJSON(t, iss.HTTPClient(), doc.JWKSURI, &jwks)
	var kids []string
	for _, k := range jwks.Keys {
		kids = append(kids, k["kid"].(string))
		if _, private := k["d"]; private {
			t.Fatal("private key material published")
		}
	}
	if strings.Join(kids, ",") != "rsa-1,ec-1,ed-1" {
		t.Fatalf("kids %v", kids)
	}
	if iss.JWKSRequests() != 1 || iss.DiscoveryRequests() != 1 {
		t.Fatalf("counters %d %d", iss.JWKSRequests(), iss.DiscoveryRequests())
	}

	kid := iss.AddKey()
	iss.RemoveKey("ec-1")
	getJSON(t, iss.HTTPClient(), doc.JWKSURI, &jwks)
	kids = kids[:0]
	for _, k := range jwks.Keys {
		kids = append(kids, k["kid"].(string))
	}
	if strings.Join(kids, ",") != "rsa-1,ed-1,"+kid {
		t.Fatalf("kids after add/remove %v", kids)
	}

	iss.SetDown(true)
	resp, err := iss.HTTPClient().Get(doc.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || iss.JWKSRequests() != 3 {
		t.Fatalf("down: status %d, requests %d", resp.StatusCode, iss.JWKSRequests())
	}
}

func TestMintShapes(t *testing.T) {
	iss := NewIssuer(t)
	tests := []struct {
		name    string
		opts    []MintOption
		header  map[string]any
		sigless bool
	}{
		{"default", nil, map[string]any{"alg": "RS256", "kid": "rsa-1", "typ": "JWT"}, false},
		{"alg none", []MintOption{WithAlg("none")}, map[string]any{"alg": "none"}, true},
		{"header alg only", []MintOption{WithHeaderAlg("rs256")}, map[string]any{"alg": "rs256"}, false},
		{"no kid", []MintOption{WithoutKID()}, map[string]any{"kid": nil}, false},
		{"extra header", []MintOption{WithHeader("jku", "https://evil")}, map[string]any{"jku": "https://evil"}, false},
		{"removed header", []MintOption{WithHeader("typ", nil)}, map[string]any{"typ": nil}, false},
		{"HS256 with PEM", []MintOption{WithAlg("HS256"), WithSigningKey(PublicKeyPEM(iss.Key("rsa-1").Public))}, map[string]any{"alg": "HS256"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := iss.Mint(iss.Claims(), tt.opts...)
			parts := strings.Split(tok, ".")
			if len(parts) != 3 || (parts[2] == "") != tt.sigless {
				t.Fatalf("token shape %q", tok)
			}
			var hdr map[string]any
			raw, _ := b64dec(parts[0])
			if err := json.Unmarshal(raw, &hdr); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.header {
				if got, ok := hdr[k]; (want == nil && ok) || (want != nil && got != want) {
					t.Fatalf("header %s = %v, want %v (header %v)", k, got, want, hdr)
				}
			}
		})
	}
	tok := iss.Mint(iss.Claims())
	if CorruptSignature(tok) == tok || ReplacePayload(tok, map[string]any{"sub": "x"}) == tok {
		t.Fatal("tampering helpers changed nothing")
	}
	if !strings.HasPrefix(JSONSerialization(tok), `{"payload":`) {
		t.Fatal("JSON serialization")
	}
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

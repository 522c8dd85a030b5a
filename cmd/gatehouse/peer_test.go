package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/peer"
)

const cliPeerSecret = "cli-peer-secret-0123456789abcdefghij"

func TestPR07PeerTokenUsesHostID(t *testing.T) {
	claim := func(vars map[string]string, args ...string) peer.Claims {
		t.Helper()
		code, out, errs := runWith(t, vars, append([]string{"peer", "token"}, args...)...)
		if code != 0 {
			t.Fatalf("code %d: %s", code, errs)
		}
		tok, err := peer.Parse(strings.TrimSpace(out))
		if err != nil || !tok.Verify([][]byte{[]byte(cliPeerSecret)}) {
			t.Fatalf("token %q: %v", out, err)
		}
		return tok.Claims
	}
	if c := claim(map[string]string{"PEER_SECRET": cliPeerSecret, "HOST_ID": "some.fqdn.com"}); c.Peer != "some.fqdn.com" || c.Expires-c.IssuedAt != 60 || c.Bound() {
		t.Fatalf("HOST_ID set: %+v", c)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no host name: %v", err)
	}
	if c := claim(map[string]string{"PEER_SECRET": cliPeerSecret}); c.Peer != host {
		t.Fatalf("HOST_ID unset: %q, want %q", c.Peer, host)
	}
	// The second of two secrets never signs.
	c := claim(map[string]string{"PEER_SECRET": cliPeerSecret + ",another-secret-0123456789abcdefghij", "HOST_ID": "a"},
		"--method", "post", "--url", "https://node-b:8000/synchronize?x=1", "--ttl", "30s")
	if c.Method != "POST" || c.Target != "/synchronize?x=1" || c.BodyHash != peer.BodyHash(nil) || c.Expires-c.IssuedAt != 30 {
		t.Fatalf("bound token %+v", c)
	}
	for _, tt := range []struct {
		vars map[string]string
		args []string
		want string
	}{
		{map[string]string{}, nil, "PEER_SECRET"},
		{map[string]string{"PEER_SECRET": "short"}, nil, "PEER_SECRET"},
		{map[string]string{"PEER_SECRET": cliPeerSecret}, []string{"--method", "POST"}, "--url"},
	} {
		code, _, errs := runWith(t, tt.vars, append([]string{"peer", "token"}, tt.args...)...)
		if code == 0 || !strings.Contains(errs, tt.want) || strings.Contains(errs, "short") {
			t.Errorf("%v: code %d, stderr %q", tt.args, code, errs)
		}
	}
}

// TestPeerCurl sends a signed request to a server that verifies it with the
// real authenticator.
func TestPeerCurl(t *testing.T) {
	peers, _ := peer.ParsePeers("127.0.0.1=node-b")
	auth, err := peer.New(context.Background(), peer.Options{Secrets: [][]byte{[]byte(cliPeerSecret)}, HostID: "node-a",
		Strict: true, Peers: peers, RequireSignedRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := map[string]string{}
		for k, v := range r.Header {
			h[strings.ToLower(k)] = strings.Join(v, ", ")
		}
		cred := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
			Peer: r.Header.Get("Peer") == "true"}
		host, _, _ := strings.Cut(r.RemoteAddr, ":")
		id, err := auth.Authenticate(r.Context(), cred, &gatehouse.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Headers: h, Body: body, SourceIP: host})
		if err != nil || !cred.Peer || h["x-extra"] != "1" {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"message":"Synchronization successful","peer":"`+id.Subject+`"}`)
	}))
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(data, []byte(`"{\"datacenters\":[]}"`), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"PEER_SECRET": cliPeerSecret, "HOST_ID": "node-b"}
	code, out, errs := runWith(t, vars, "peer", "curl", "--url", srv.URL+"/synchronize?full=1", "--data-file", data, "-H", "X-Extra: 1")
	if code != 0 || !strings.Contains(out, `"peer":"node-b"`) {
		t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
	}
	// Unbound tokens are refused by this server; the command fails.
	code, _, errs = runWith(t, vars, "peer", "curl", "--url", srv.URL+"/synchronize", "--data-file", data, "--unbound", "-H", "X-Extra: 1")
	if code != exitFailure || !strings.Contains(errs, "401") {
		t.Fatalf("unbound: code %d stderr %q", code, errs)
	}
}

// TestPR13ServeRefusesHalfConfiguredPeers: the process stops at start-up,
// naming the variable and never echoing the secret.
func TestPR13ServeRefusesHalfConfiguredPeers(t *testing.T) {
	base := map[string]string{"CONTROLLER_PUBLIC_URL": "https://gh.example", "DATA_DIR": t.TempDir(),
		"GRPC_ADDR": "127.0.0.1:0", "HTTP_ADDR": "127.0.0.1:0"}
	for name, tt := range map[string]struct{ kv map[string]string }{
		"PEERS":       {map[string]string{"PEER_SECRET": cliPeerSecret}},
		"PEER_SECRET": {map[string]string{"PEERS": "10.0.0.1", "PEER_SECRET": "abracadabra"}},
		"PEER_STRICT": {map[string]string{"PEER_SECRET": cliPeerSecret, "PEERS": "10.0.0.1", "PEER_STRICT": "yes"}},
	} {
		vars := map[string]string{}
		for k, v := range base {
			vars[k] = v
		}
		for k, v := range tt.kv {
			vars[k] = v
		}
		code, _, errs := runWith(t, vars, "serve")
		if code != exitFailure || !strings.Contains(errs, name+":") || strings.Contains(errs, "abracadabra") || strings.Contains(errs, cliPeerSecret) {
			t.Errorf("%s: code %d stderr %q", name, code, errs)
		}
	}
}

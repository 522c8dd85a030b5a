package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gatehouse-authz/gatehouse/authn/peer"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/grpcapi"
)

// Secrets of the peer tests (at least 32 bytes each).
const (
	peerSecret  = "peer-secret-0123456789-abcdefghij-A"
	peerSecret2 = "peer-secret-0123456789-abcdefghij-B"
	otherSecret = "not-the-cluster-secret-0123456789xyz"
)

// peerFixture is Gatehouse on host "node-a" with peers node-b (127.0.0.2)
// and node-c (127.0.0.3), plus whatever kv adds or overrides.
func peerFixture(t *testing.T, kv ...string) *fixture {
	t.Helper()
	base := []string{"PEER_SECRET", peerSecret, "PEERS", "127.0.0.2=node-b,127.0.0.3=node-c", "HOST_ID", "node-a"}
	return newFixture(t, append(base, kv...)...)
}

func signer(t *testing.T, secret, host string) *peer.Signer {
	t.Helper()
	s, err := peer.NewSigner([]byte(secret), host)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustToken(t *testing.T, s *peer.Signer) string {
	t.Helper()
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// peerHeaders are HORAO's: "Peer: true" and the bearer token.
func peerHeaders(tok string) map[string]string {
	return map[string]string{"peer": "true", "authorization": "Bearer " + tok}
}

// syncReq is POST /synchronize from source with tok.
func syncReq(source, tok string) req {
	return req{method: "POST", path: "/synchronize", headers: peerHeaders(tok), source: source}
}

// rawHS256 signs any header and payload JSON, for tokens no Signer makes.
func rawHS256(secret, header, payload string) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}

func claimsJSON(peerID string, iat, exp int64, jti string) string {
	return fmt.Sprintf(`{"peer":%q,"iat":%d,"exp":%d,"jti":%q}`, peerID, iat, exp, jti)
}

const hs256Header = `{"alg":"HS256","typ":"JWT"}`

func TestPR01PeerTokenOnSynchronize(t *testing.T) {
	f := peerFixture(t)
	b := signer(t, peerSecret, "node-b")
	for _, path := range []string{"/synchronize", "/api/v3/synchronize"} {
		o := f.g.decide(req{method: "POST", path: path, headers: peerHeaders(mustToken(t, b)), source: "127.0.0.2"})
		wantStatus(t, o, 200)
		if o.subject != "node-b" || o.upstream["x-gatehouse-identity-kind"] != "peer" || o.groups != "" {
			t.Fatalf("%s: identity headers %v", path, o.upstream)
		}
	}
	// The HORAO header's value is matched case-insensitively, like the
	// scheme keyword.
	o := f.g.decide(req{method: "POST", path: "/synchronize", source: "127.0.0.2",
		headers: map[string]string{"peer": "True", "authorization": "bearer " + mustToken(t, b)}})
	wantStatus(t, o, 200)
	// The gatehouse.v1 door decides the same.
	wantStatus(t, f.g.checkV1(syncReq("127.0.0.2", mustToken(t, b))), 200)
}

func TestPR02OtherSecretIsRefused(t *testing.T) {
	f := peerFixture(t)
	o := f.g.decide(syncReq("127.0.0.2", mustToken(t, signer(t, otherSecret, "node-b"))))
	wantReason(t, o, 401, "TOKEN_SIGNATURE_INVALID")
	if o.client["www-authenticate"] == "" {
		t.Fatalf("401 without WWW-Authenticate: %v", o.client)
	}
	// A tampered payload fails too.
	tok := mustToken(t, signer(t, peerSecret, "node-b"))
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(claimsJSON("node-b", time.Now().Unix(), time.Now().Unix()+60, "abcdefghijklmnopqrstuv")))
	wantReason(t, f.g.decide(syncReq("127.0.0.2", strings.Join(parts, "."))), 401, "TOKEN_SIGNATURE_INVALID")
}

func TestPR03StrictRefusesOtherOriginsBeforeTheSignature(t *testing.T) {
	for _, strict := range []string{"", "true", "TRUE", "1"} {
		t.Run("PEER_STRICT="+strict, func(t *testing.T) {
			var kv []string
			if strict != "" {
				kv = []string{"PEER_STRICT", strict}
			}
			f := peerFixture(t, kv...)
			good := mustToken(t, signer(t, peerSecret, "node-b"))
			wantReason(t, f.g.decide(syncReq("127.0.0.9", good)), 401, "PEER_ORIGIN_NOT_ALLOWED")
			wantReason(t, f.g.decide(syncReq("", good)), 401, "PEER_ORIGIN_NOT_ALLOWED")
			// Not even parsed: garbage from an unknown origin is an origin
			// refusal, not a malformed token.
			wantReason(t, f.g.decide(syncReq("127.0.0.9", "not-a-jwt")), 401, "PEER_ORIGIN_NOT_ALLOWED")
			wantStatus(t, f.g.decide(syncReq("127.0.0.2", good)), 200)
		})
	}
}

func TestPR04NonStrictAcceptsAnyOrigin(t *testing.T) {
	for _, v := range []string{"False", "false", "0"} {
		t.Run(v, func(t *testing.T) {
			f := peerFixture(t, "PEER_STRICT", v)
			// HORAO's own test: peer "1" from anywhere.
			wantStatus(t, f.g.decide(syncReq("10.9.9.9", mustToken(t, signer(t, peerSecret, "1")))), 200)
			wantReason(t, f.g.decide(syncReq("10.9.9.9", mustToken(t, signer(t, otherSecret, "1")))), 401, "TOKEN_SIGNATURE_INVALID")
			// HOST_ID stays ours even when origins are not checked.
			wantReason(t, f.g.decide(syncReq("10.9.9.9", mustToken(t, signer(t, peerSecret, "node-a")))), 401, "PEER_IDENTITY_MISMATCH")
		})
	}
}

func TestPR05ExactOriginMatching(t *testing.T) {
	f := peerFixture(t, "PEERS", "10.0.0.1,10.1.0.0/16,localhost=node-l,::1=node-six")
	tok := func(id string) string { return mustToken(t, signer(t, peerSecret, id)) }
	tests := []struct {
		source, id string
		status     int
	}{
		{"10.0.0.1", "10.0.0.1", 200},
		{"10.0.0.10", "10.0.0.1", 401}, // HORAO's substring test admitted these two
		{"110.0.0.1", "10.0.0.1", 401},
		{"10.0.0.1", "node-x", 401}, // an address entry without an id: the claim is the address
		{"::ffff:10.0.0.1", "10.0.0.1", 200},
		{"10.1.200.7", "node-r", 200}, // a range admits unpinned identities
		{"10.2.0.1", "node-r", 401},
		{"127.0.0.1", "node-l", 200}, // a host name, resolved
		{"127.0.0.11", "node-l", 401},
		{"::1", "node-six", 200},
	}
	for _, tt := range tests {
		o := f.g.decide(syncReq(tt.source, tok(tt.id)))
		if o.status != tt.status {
			t.Errorf("source %s claiming %s: status %d (%s), want %d", tt.source, tt.id, o.status, o.reason, tt.status)
		}
	}
}

func TestPR06PeerStrictIsABoolean(t *testing.T) {
	base := []string{"CONTROLLER_PUBLIC_URL", "https://gh.example", "PEER_SECRET", peerSecret, "PEERS", "10.0.0.1"}
	for v, want := range map[string]bool{"true": true, "True": true, "1": true, "false": false, "False": false, "FALSE": false, "0": false} {
		cfg, err := config.Load(envOf(append(base, "PEER_STRICT", v)...))
		if err != nil || cfg.Peer.Strict != want {
			t.Fatalf("PEER_STRICT=%s: strict %v, err %v; want %v", v, cfg != nil && cfg.Peer.Strict, err, want)
		}
	}
	for _, v := range []string{"yes", "no", "on", "Truee", "2", "t"} {
		_, err := config.Load(envOf(append(base, "PEER_STRICT", v)...))
		if err == nil || !strings.Contains(err.Error(), "PEER_STRICT") {
			t.Fatalf("PEER_STRICT=%s: %v, want a start-up error naming PEER_STRICT", v, err)
		}
	}
}

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestPR07HostIDNamesOutgoingTokens(t *testing.T) {
	claims := func(tok string) map[string]any {
		t.Helper()
		parsed, err := peer.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"peer": parsed.Claims.Peer}
	}
	if got := claims(mustToken(t, signer(t, peerSecret, "some.fqdn.com")))["peer"]; got != "some.fqdn.com" {
		t.Fatalf("peer claim %v with HOST_ID set", got)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no system host name: %v", err)
	}
	if got := claims(mustToken(t, signer(t, peerSecret, "")))["peer"]; got != host {
		t.Fatalf("peer claim %v with HOST_ID unset, want the host name %q", got, host)
	}
	cfg, err := config.Load(envOf("CONTROLLER_PUBLIC_URL", "https://gh.example", "PEER_SECRET", peerSecret, "PEERS", "10.0.0.1"))
	if err != nil || cfg.Peer.HostID != host {
		t.Fatalf("HOST_ID default %q (%v), want %q", cfg.Peer.HostID, err, host)
	}
}

func TestPR08NoCredentialOnSynchronize(t *testing.T) {
	f := peerFixture(t)
	for _, h := range []map[string]string{nil, {"peer": "true"}} {
		o := f.g.decide(req{method: "POST", path: "/synchronize", headers: h, source: "127.0.0.2"})
		wantReason(t, o, 401, "NO_CREDENTIAL")
		if o.client["www-authenticate"] == "" {
			t.Fatalf("401 without WWW-Authenticate: %v", o.client)
		}
	}
}

func TestPR09ShortLivedSingleUseTokens(t *testing.T) {
	f := peerFixture(t)
	now := time.Now().Unix()
	jti := "0123456789abcdefghij"
	tests := []struct {
		name, payload, reason string
	}{
		{"HORAO's constant token", `{"peer":"node-b"}`, "TOKEN_EXPIRY_MISSING"},
		{"no iat", fmt.Sprintf(`{"peer":"node-b","exp":%d,"jti":%q}`, now+60, jti), "TOKEN_CLAIM_MISSING"},
		{"no jti", fmt.Sprintf(`{"peer":"node-b","iat":%d,"exp":%d}`, now, now+60), "TOKEN_CLAIM_MISSING"},
		{"short jti", claimsJSON("node-b", now, now+60, "x"), "TOKEN_MALFORMED"},
		{"expired", claimsJSON("node-b", now-600, now-300, jti), "TOKEN_EXPIRED"},
		{"issued in the future", claimsJSON("node-b", now+600, now+660, jti), "TOKEN_NOT_YET_VALID"},
		{"long-lived", claimsJSON("node-b", now, now+3600, jti), "TOKEN_LIFETIME_TOO_LONG"},
		{"exp as a string", fmt.Sprintf(`{"peer":"node-b","iat":%d,"exp":"%d","jti":%q}`, now, now+60, jti), "TOKEN_MALFORMED"},
		{"duplicate claim", fmt.Sprintf(`{"peer":"node-b","peer":"node-c","iat":%d,"exp":%d,"jti":%q}`, now, now+60, jti), "TOKEN_MALFORMED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantReason(t, f.g.decide(syncReq("127.0.0.2", rawHS256(peerSecret, hs256Header, tt.payload))), 401, tt.reason)
		})
	}
	t.Run("replay", func(t *testing.T) {
		tok := mustToken(t, signer(t, peerSecret, "node-b"))
		wantStatus(t, f.g.decide(syncReq("127.0.0.2", tok)), 200)
		wantReason(t, f.g.decide(syncReq("127.0.0.2", tok)), 401, "TOKEN_REPLAYED")
		// The other door shares the memory.
		wantReason(t, f.g.checkV1(syncReq("127.0.0.2", tok)), 401, "TOKEN_REPLAYED")
	})
	t.Run("a refused token does not use up its id", func(t *testing.T) {
		tok := mustToken(t, signer(t, peerSecret, "node-b"))
		wantReason(t, f.g.decide(req{method: "POST", path: "/synchronize", headers: peerHeaders(tok), source: "127.0.0.3"}), 401, "PEER_IDENTITY_MISMATCH")
		wantStatus(t, f.g.decide(syncReq("127.0.0.2", tok)), 200)
	})
}

// TestPR09ReplayAcrossReplicasOnPostgres: a token accepted by one replica is
// refused by another sharing the PostgreSQL store.
func TestPR09ReplayAcrossReplicasOnPostgres(t *testing.T) {
	url := testenv.PostgresSchemaURL(t, "gh_peer")
	iss := testenv.NewIssuer(t)
	env := func() map[string]string {
		return externalEnv(t, iss, "DATABASE_URL", url,
			"PEER_SECRET", peerSecret, "PEERS", "127.0.0.2=node-b", "HOST_ID", "node-a")
	}
	a := start(t, env(), true)
	if _, ok := a.app.Store().(peer.ReplayGuard); !ok {
		t.Skip("the store has no ClaimOnce yet (single-use table of helper \"agents\"); replicas keep separate replay memories")
	}
	b := start(t, env(), true)
	tok := mustToken(t, signer(t, peerSecret, "node-b"))
	wantStatus(t, a.decide(syncReq("127.0.0.2", tok)), 200)
	wantReason(t, b.decide(syncReq("127.0.0.2", tok)), 401, "TOKEN_REPLAYED")
}

func TestPR10PeerClaimMustMatchTheOrigin(t *testing.T) {
	f := peerFixture(t, "PEERS", "127.0.0.2=node-b,127.0.0.3=node-c,127.0.1.0/24")
	tok := func(id string) string { return mustToken(t, signer(t, peerSecret, id)) }
	wantReason(t, f.g.decide(syncReq("127.0.0.2", tok("node-c"))), 401, "PEER_IDENTITY_MISMATCH")
	wantReason(t, f.g.decide(syncReq("127.0.0.3", tok("node-b"))), 401, "PEER_IDENTITY_MISMATCH")
	// A range cannot claim identities pinned to an address, nor ours.
	wantReason(t, f.g.decide(syncReq("127.0.1.5", tok("node-b"))), 401, "PEER_IDENTITY_MISMATCH")
	wantReason(t, f.g.decide(syncReq("127.0.1.5", tok("node-a"))), 401, "PEER_IDENTITY_MISMATCH")
	o := f.g.decide(syncReq("127.0.1.5", tok("node-x")))
	wantStatus(t, o, 200)
	if o.subject != "node-x" {
		t.Fatalf("subject %q", o.subject)
	}
	wantStatus(t, f.g.decide(syncReq("127.0.0.3", tok("node-c"))), 200)
}

func TestPR11OnlyHS256AndLongSecrets(t *testing.T) {
	f := peerFixture(t)
	now := time.Now().Unix()
	payload := claimsJSON("node-b", now, now+60, "0123456789abcdefghij")
	for _, h := range []string{`{"alg":"HS384","typ":"JWT"}`, `{"alg":"HS512"}`, `{"alg":"none"}`, `{"alg":"RS256"}`, `{"alg":"hs256"}`} {
		wantReason(t, f.g.decide(syncReq("127.0.0.2", rawHS256(peerSecret, h, payload))), 401, "TOKEN_ALGORITHM_NOT_ALLOWED")
	}
	wantReason(t, f.g.decide(syncReq("127.0.0.2", rawHS256(peerSecret, `{"alg":"HS256","crit":["b64"],"b64":false}`, payload))), 401, "TOKEN_CRITICAL_HEADER_UNSUPPORTED")
	wantReason(t, f.g.decide(syncReq("127.0.0.2", rawHS256(peerSecret, `{"alg":"HS256","jku":"https://evil.example"}`, payload))), 401, "TOKEN_MALFORMED")
	wantStatus(t, f.g.decide(syncReq("127.0.0.2", rawHS256(peerSecret, `{"alg":"HS256","typ":"JWT"}`, payload))), 200)

	for _, s := range []string{"abracadabra", strings.Repeat("x", 31), peerSecret + ",short"} {
		_, err := config.Load(envOf("CONTROLLER_PUBLIC_URL", "https://gh.example", "PEER_SECRET", s, "PEERS", "10.0.0.1"))
		if err == nil || !strings.Contains(err.Error(), "PEER_SECRET") {
			t.Fatalf("PEER_SECRET of %d bytes: %v, want a start-up error naming PEER_SECRET", len(s), err)
		}
		if strings.Contains(err.Error(), "abracadabra") || strings.Contains(err.Error(), "short") || strings.Contains(err.Error(), "xxxx") {
			t.Fatalf("the error echoes the secret: %v", err)
		}
	}
}

func TestPR12PeersHoldOnlyThePeerPermission(t *testing.T) {
	f := peerFixture(t)
	b := signer(t, peerSecret, "node-b")
	for _, r := range []req{
		{method: "GET", path: "/api/v3/microservices"},
		{method: "POST", path: "/api/v3/microservices"},
		{method: "GET", path: "/api/v3/user/profile"},
		{method: "GET", path: "/api/v3/users"},
		{method: "GET", path: "/synchronize"},
	} {
		r.headers, r.source = peerHeaders(mustToken(t, b)), "127.0.0.2"
		if o := f.g.decide(r); o.allowed || o.status != 403 {
			t.Errorf("peer on %s %s: status %d (%s), want 403", r.method, r.path, o.status, o.reason)
		}
	}
	agent := f.g.decide(req{method: "GET", path: "/api/v3/agent/config", headers: peerHeaders(mustToken(t, b)), source: "127.0.0.2"})
	if agent.allowed || agent.status != 401 {
		t.Errorf("peer on an agent route: %d", agent.status)
	}
	// Users, even administrators, are not peers.
	wantReason(t, f.g.decide(req{method: "POST", path: "/synchronize", headers: bearer(f.withGroups("admin"))}), 401, "CREDENTIAL_KIND_NOT_ACCEPTED")
}

func TestPR13HalfConfiguredPeersStopStartUp(t *testing.T) {
	base := []string{"CONTROLLER_PUBLIC_URL", "https://gh.example"}
	tests := []struct {
		kv   []string
		name string
	}{
		{[]string{"PEER_SECRET", peerSecret}, "PEERS"},
		{[]string{"PEERS", "10.0.0.1"}, "PEER_SECRET"},
		{[]string{"PEER_STRICT", "false"}, "PEER_STRICT"},
		{[]string{"PEER_REQUIRE_SIGNED_REQUESTS", "true"}, "PEER_REQUIRE_SIGNED_REQUESTS"},
		{[]string{"PEER_SECRET", peerSecret, "PEERS", "10.0.0.1/8=node"}, "PEERS"},
		{[]string{"PEER_SECRET", peerSecret, "PEERS", "not a host"}, "PEERS"},
		{[]string{"PEER_SECRET", peerSecret, "PEERS", "10.0.0.1", "PEER_TOKEN_MAX_LIFETIME", "24h"}, "PEER_TOKEN_MAX_LIFETIME"},
	}
	for _, tt := range tests {
		_, err := config.Load(envOf(append(base, tt.kv...)...))
		if err == nil || !strings.Contains(err.Error(), tt.name+":") {
			t.Errorf("%v: %v, want a start-up error naming %s", tt.kv, err, tt.name)
		}
	}
	// Nothing set: peer authentication is simply off, and the peer header
	// is no way around the other authenticators.
	f := newFixture(t)
	o := f.g.decide(syncReq("127.0.0.2", mustToken(t, signer(t, peerSecret, "node-b"))))
	if o.allowed || o.status != 401 {
		t.Fatalf("peer token without peer configuration: %d", o.status)
	}
}

func TestPR14ReadersCannotWrite(t *testing.T) {
	f := newFixture(t)
	viewer := f.withGroups("viewer")
	wantStatus(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(viewer)}), 200)
	for _, m := range []string{"POST", "PATCH", "DELETE"} {
		path := "/api/v3/microservices"
		if m != "POST" {
			path += "/uuid-1"
		}
		wantReason(t, f.g.decide(req{method: m, path: path, headers: bearer(viewer)}), 403, "PERMISSION_DENIED")
	}
	// Peer:Read never writes: policies/rbac_test.rego test_pr14_peer_read_does_not_write.
}

func TestPeerSecretRotation(t *testing.T) {
	f := peerFixture(t, "PEER_SECRET", peerSecret2+", "+peerSecret)
	wantStatus(t, f.g.decide(syncReq("127.0.0.2", mustToken(t, signer(t, peerSecret, "node-b")))), 200)
	wantStatus(t, f.g.decide(syncReq("127.0.0.2", mustToken(t, signer(t, peerSecret2, "node-b")))), 200)
	wantReason(t, f.g.decide(syncReq("127.0.0.2", mustToken(t, signer(t, otherSecret, "node-b")))), 401, "TOKEN_SIGNATURE_INVALID")
}

func TestPeerRoutesAreConfigurable(t *testing.T) {
	f := peerFixture(t, "PEER_ROUTES", "/cluster/sync")
	b := signer(t, peerSecret, "node-b")
	wantStatus(t, f.g.decide(req{method: "POST", path: "/cluster/sync", headers: peerHeaders(mustToken(t, b)), source: "127.0.0.2"}), 200)
	wantStatus(t, f.g.decide(req{method: "POST", path: "/cluster/sync/?x=1", headers: peerHeaders(mustToken(t, b)), source: "127.0.0.2"}), 200)
	// The default routes are gone (a peer is refused on any other route).
	wantStatus(t, f.g.decide(req{method: "POST", path: "/synchronize", headers: peerHeaders(mustToken(t, b)), source: "127.0.0.2"}), 403)
	wantStatus(t, f.g.decide(req{method: "POST", path: "/synchronize", headers: bearer(f.withGroups("admin"))}), 403)
	wantStatus(t, f.g.decide(req{method: "GET", path: "/cluster/sync", headers: peerHeaders(mustToken(t, b)), source: "127.0.0.2"}), 403)
	wantReason(t, f.g.decide(req{method: "POST", path: "/cluster/sync", headers: bearer(f.withGroups("admin"))}), 401, "CREDENTIAL_KIND_NOT_ACCEPTED")
}

// envoyTransport plays Envoy for peer.Transport: it turns each HTTP request
// into an ext_authz CheckRequest with the body (with_request_body) and
// answers with the decision's status.
type envoyTransport struct {
	g      *gh
	source string
	edit   func(cr *authv3.CheckRequest)
	last   outcome
}

func (e *envoyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	h := map[string]string{}
	for k, v := range r.Header {
		h[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	cr := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: e.source}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Headers: h, RawBody: body,
		}},
	}}
	if e.edit != nil {
		e.edit(cr)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	resp, err := e.g.authz.Check(ctx, cr)
	if err != nil {
		return nil, err
	}
	e.last = fromEnvoy(resp)
	return &http.Response{StatusCode: e.last.status, Body: io.NopCloser(strings.NewReader(e.last.body)), Request: r, Header: http.Header{}}, nil
}

func TestPeerSignedRequests(t *testing.T) {
	f := peerFixture(t, "PEER_REQUIRE_SIGNED_REQUESTS", "true")
	b := signer(t, peerSecret, "node-b")
	envoy := &envoyTransport{g: f.g, source: "127.0.0.2"}
	client := &http.Client{Transport: &peer.Transport{Signer: b, SignRequests: true, Base: envoy}}
	post := func(target, body string) int {
		t.Helper()
		resp, err := client.Post("http://api.example"+target, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("/synchronize", `"{\"infrastructure\":[]}"`); st != 200 {
		t.Fatalf("signed request: %d %+v", st, envoy.last)
	}
	if st := post("/api/v3/synchronize?full=1&x=a%20b", ""); st != 200 {
		t.Fatalf("signed request with a query and no body: %d %+v", st, envoy.last)
	}

	// Envoy changing the request in flight, or not forwarding the body.
	for name, edit := range map[string]func(cr *authv3.CheckRequest){
		"other body":       func(cr *authv3.CheckRequest) { cr.Attributes.Request.Http.RawBody = []byte(`"{}"`) },
		"body missing":     func(cr *authv3.CheckRequest) { cr.Attributes.Request.Http.RawBody = nil },
		"other path":       func(cr *authv3.CheckRequest) { cr.Attributes.Request.Http.Path = "/api/v3/synchronize" },
		"other query":      func(cr *authv3.CheckRequest) { cr.Attributes.Request.Http.Path = "/synchronize?full=1" },
		"partial body":     func(cr *authv3.CheckRequest) { cr.Attributes.Request.Http.Headers[peer.PartialBodyHeader] = "true" },
		"method rewritten": func(cr *authv3.CheckRequest) { cr.Attributes.Request.Http.Method = "PUT" },
	} {
		envoy.edit = edit
		st := post("/synchronize", `"{\"infrastructure\":[]}"`)
		if st != 401 || envoy.last.reason != "PEER_REQUEST_MISMATCH" {
			// PUT resolves to no route but the token is refused first.
			t.Errorf("%s: %d %s, want 401 PEER_REQUEST_MISMATCH", name, st, envoy.last.reason)
		}
	}
	envoy.edit = nil

	// A token that binds no request is refused when signed requests are
	// required.
	wantReason(t, f.g.decide(syncReq("127.0.0.2", mustToken(t, b))), 401, "PEER_REQUEST_NOT_SIGNED")

	// A captured signed token cannot be replayed, even for the same request.
	var captured string
	capture := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		captured = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		return envoy.RoundTrip(r)
	})
	c2 := &http.Client{Transport: &peer.Transport{Signer: b, SignRequests: true, Base: capture}}
	resp, err := c2.Post("http://api.example/synchronize", "application/json", bytes.NewReader([]byte(`"x"`)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("capture: %v %v", resp, err)
	}
	resp.Body.Close()
	replayed := fromEnvoy(checkWithBody(t, f.g, "127.0.0.2", "POST", "/synchronize", peerHeaders(captured), []byte(`"x"`)))
	wantReason(t, replayed, 401, "TOKEN_REPLAYED")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The optional mode: without PEER_REQUIRE_SIGNED_REQUESTS both kinds pass,
// and a bound token is still checked.
func TestPeerSignedRequestsOptional(t *testing.T) {
	f := peerFixture(t)
	b := signer(t, peerSecret, "node-b")
	wantStatus(t, f.g.decide(syncReq("127.0.0.2", mustToken(t, b))), 200)
	tok, err := b.SignRequest("POST", "/synchronize", []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	o := fromEnvoy(checkWithBody(t, f.g, "127.0.0.2", "POST", "/synchronize", peerHeaders(tok), []byte("b")))
	wantReason(t, o, 401, "PEER_REQUEST_MISMATCH")
	tok, _ = b.SignRequest("POST", "/synchronize", []byte("a"))
	wantStatus(t, fromEnvoy(checkWithBody(t, f.g, "127.0.0.2", "POST", "/synchronize", peerHeaders(tok), []byte("a"))), 200)
}

func checkWithBody(t *testing.T, g *gh, source, method, target string, headers map[string]string, body []byte) *authv3.CheckResponse {
	t.Helper()
	cr := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: source}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: method, Path: target, Host: "api.example", Headers: headers, RawBody: body,
		}},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := g.authz.Check(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestPeerHostIDMustBeAnID(t *testing.T) {
	_, err := config.Load(envOf("CONTROLLER_PUBLIC_URL", "https://gh.example", "HOST_ID", "node a"))
	if err == nil || !strings.Contains(err.Error(), "HOST_ID:") {
		t.Fatalf("HOST_ID with a space: %v", err)
	}
}

// HORAO's own constant token ({"peer": HOST_ID}, PR-01's literal vector) is
// refused by default (PR-09) and accepted only behind a danger-named
// migration switch, still from the right origin with the right identity.
func TestPR01UnmodifiedHORAOSenderBehindAnInsecureSwitch(t *testing.T) {
	horao := rawHS256(peerSecret, hs256Header, `{"peer":"node-b"}`)
	wantReason(t, peerFixture(t).g.decide(syncReq("127.0.0.2", horao)), 401, "TOKEN_EXPIRY_MISSING")

	f := peerFixture(t, "PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS", "true")
	for range 2 { // replayable, as the name says
		o := f.g.decide(syncReq("127.0.0.2", horao))
		wantStatus(t, o, 200)
		if o.subject != "node-b" {
			t.Fatalf("subject %q", o.subject)
		}
	}
	wantReason(t, f.g.decide(syncReq("127.0.0.3", horao)), 401, "PEER_IDENTITY_MISMATCH")
	wantReason(t, f.g.decide(syncReq("127.0.0.9", horao)), 401, "PEER_ORIGIN_NOT_ALLOWED")
	wantReason(t, f.g.decide(syncReq("127.0.0.2", rawHS256(otherSecret, hs256Header, `{"peer":"node-b"}`))), 401, "TOKEN_SIGNATURE_INVALID")
	// Half a modern token is not a legacy one.
	wantReason(t, f.g.decide(syncReq("127.0.0.2", rawHS256(peerSecret, hs256Header, fmt.Sprintf(`{"peer":"node-b","exp":%d}`, time.Now().Unix()+60)))), 401, "TOKEN_CLAIM_MISSING")
	if !strings.Contains(f.g.logs.String(), "PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS") {
		t.Fatal("no warning in the log")
	}
}

// v1Transport plays a service that asks the gatehouse.v1 door for itself:
// each HTTP request becomes a CheckRequest with the body, sent over gRPC or,
// when rest is set, as POST /v1/check JSON. It answers with the decision's
// status.
type v1Transport struct {
	g      *gh
	source string
	rest   bool
	edit   func(cr *gatehousev1.CheckRequest)
	last   outcome
}

func (v *v1Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	h := map[string]string{}
	for k, vs := range r.Header {
		h[k] = strings.Join(vs, ", ")
	}
	cr := &gatehousev1.CheckRequest{Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Headers: h, SourceAddress: v.source, Body: body}
	if v.edit != nil {
		v.edit(cr)
	}
	resp, err := v.check(r.Context(), cr)
	if err != nil {
		return nil, err
	}
	v.last = fromV1(resp)
	return &http.Response{StatusCode: v.last.status, Body: io.NopCloser(strings.NewReader(v.last.body)), Request: r, Header: http.Header{}}, nil
}

// check asks the door over gRPC or REST; a REST refusal is an error
// carrying its status and body.
func (v *v1Transport) check(ctx context.Context, cr *gatehousev1.CheckRequest) (*gatehousev1.CheckResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !v.rest {
		return v.g.v1.Check(ctx, cr)
	}
	in, err := protojson.Marshal(cr)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, "POST", v.g.base+"/v1/check", bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hresp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	out, err := io.ReadAll(hresp.Body)
	if err != nil {
		return nil, err
	}
	if hresp.StatusCode != 200 {
		return nil, fmt.Errorf("REST %d: %s", hresp.StatusCode, out)
	}
	var resp gatehousev1.CheckResponse
	if err := protojson.Unmarshal(out, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// A peer-signed request with a body verifies through the gatehouse.v1 door
// too (CheckRequest.body), over gRPC and REST; a body changed on the way is
// PEER_REQUEST_MISMATCH, and a body over 1 MiB is a malformed call.
func TestPeerSignedRequestsThroughGatehouseV1(t *testing.T) {
	f := peerFixture(t, "PEER_REQUIRE_SIGNED_REQUESTS", "true")
	b := signer(t, peerSecret, "node-b")
	big := bytes.Repeat([]byte("0123456789abcdef"), grpcapi.MaxBody/16) // exactly the cap
	for _, rest := range []bool{false, true} {
		t.Run(map[bool]string{false: "gRPC", true: "REST"}[rest], func(t *testing.T) {
			door := &v1Transport{g: f.g, source: "127.0.0.2", rest: rest}
			client := &http.Client{Transport: &peer.Transport{Signer: b, SignRequests: true, Base: door}}
			post := func(target string, body []byte) int {
				t.Helper()
				resp, err := client.Post("http://api.example"+target, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for name, body := range map[string][]byte{"body": []byte(`"{\"infrastructure\":[]}"`), "1 MiB body": big, "no body": nil} {
				if st := post("/synchronize?full=1", body); st != 200 || door.last.subject != "node-b" {
					t.Fatalf("signed request with %s: %d %+v", name, st, door.last)
				}
			}

			for name, edit := range map[string]func(cr *gatehousev1.CheckRequest){
				"other body":   func(cr *gatehousev1.CheckRequest) { cr.Body = []byte(`"{}"`) },
				"body missing": func(cr *gatehousev1.CheckRequest) { cr.Body = nil },
				"other query":  func(cr *gatehousev1.CheckRequest) { cr.Path = "/synchronize" },
			} {
				door.edit = edit
				if st := post("/synchronize?full=1", []byte(`"{\"infrastructure\":[]}"`)); st != 401 || door.last.reason != "PEER_REQUEST_MISMATCH" {
					t.Errorf("%s: %d %s, want 401 PEER_REQUEST_MISMATCH", name, st, door.last.reason)
				}
			}

			// Over the cap: INVALID_ARGUMENT (REST 400), not a decision.
			door.edit = func(cr *gatehousev1.CheckRequest) { cr.Body = append(big, 'x') }
			_, err := client.Post("http://api.example/synchronize", "application/json", strings.NewReader("x"))
			switch {
			case err == nil:
				t.Fatal("a body over 1 MiB was decided")
			case !rest && status.Code(errors.Unwrap(err)) != codes.InvalidArgument:
				t.Fatalf("oversized body over gRPC: %v", err)
			case rest && (!strings.Contains(err.Error(), "REST 400") || !strings.Contains(err.Error(), `"name":"ValidationError"`)):
				t.Fatalf("oversized body over REST: %v", err)
			}
		})
	}
}

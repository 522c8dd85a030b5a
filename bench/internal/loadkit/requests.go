// Package loadkit starts Gatehouse and the OPA-Envoy peer on loopback, builds
// the benchmark's CheckRequests and tokens, and drives load with ghz's runner.
package loadkit

import (
	"fmt"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gatehouse-authz/gatehouse/token"
)

// Issuer and Audience are what Gatehouse's embedded mode trusts with
// CONTROLLER_PUBLIC_URL=http://localhost:8080 and no OIDC_AUDIENCES: the
// issuer is {URL}/oidc and the audience defaults to the client id.
const (
	PublicURL = "http://localhost:8080"
	Issuer    = PublicURL + "/oidc"
	Audience  = "controller"
)

// Groups are spread over the distinct-token users; "none" is a group that
// names no system role, so those users are denied on catalog routes.
var Groups = []string{"admin", "developer", "viewer", "sre", "none"}

// Minter mints the tokens both servers must trust.
type Minter struct {
	Signer *token.Signer
}

// NewMinter loads (or creates) Gatehouse's signing key in dataDir: the same
// file `gatehouse serve` reads, so the server trusts what we mint.
func NewMinter(dataDir string) (*Minter, error) {
	s, err := token.LoadOrCreateFileKey(dataDir)
	if err != nil {
		return nil, fmt.Errorf("signing key in %s: %w", dataDir, err)
	}
	return &Minter{Signer: s}, nil
}

// Mint signs an access token for subject with groups; jti makes otherwise
// equal tokens distinct so a verifier cannot reuse work across them.
func (m *Minter) Mint(subject string, groups []string, jti string, ttl time.Duration, now time.Time) (string, error) {
	extra := map[string]any{}
	if jti != "" {
		extra["jti"] = jti
	}
	tok, err := m.Signer.MintAccess(token.AccessClaims{
		Issuer: Issuer, Audience: Audience, Subject: subject,
		Email: subject + "@example.com", Groups: groups, TTL: ttl, Now: now, Extra: extra,
	})
	if err != nil {
		return "", fmt.Errorf("mint %s: %w", subject, err)
	}
	return tok, nil
}

// Call is one benchmark request: the HTTP request Envoy would describe.
type Call struct {
	Method string
	Path   string
	Token  string // empty: no Authorization header
	// Authorization, when set, is sent verbatim instead of "Bearer "+Token.
	Authorization string
}

// FogUUID and MicroserviceUUID are fixed instance names so every run sends
// the same bytes.
const (
	FogUUID          = "3f2b6c1e-8d4a-4f7b-9c2e-5a1d7e9b0c43"
	MicroserviceUUID = "a7c9e2d4-1b3f-4e6a-8d0c-2f5b9e7a1c36"
)

// LoadPaths are the routes the distinct-token scenario cycles through: list
// and get on microservices and fogs, and one write, so role rules differ.
var LoadPaths = []struct{ Method, Path string }{
	{"GET", "/api/v3/microservices"},
	{"GET", "/api/v3/iofog/" + FogUUID},
	{"GET", "/api/v3/microservices/" + MicroserviceUUID},
	{"POST", "/api/v3/microservices"},
	{"GET", "/api/v3/iofog-list"},
}

// CheckRequest builds a realistic Envoy CheckRequest: the headers a browser
// and a mesh add (~2.7 KB marshalled with an RS256 token), the source and
// destination peers, and the request id Envoy also puts in x-request-id.
func CheckRequest(c Call, seq int) *authv3.CheckRequest {
	reqID := fmt.Sprintf("9b1f%04x-6c2e-4d8a-b3f1-%012x", seq%0x10000, seq)
	headers := map[string]string{
		":authority":                     "controller.example.com",
		":method":                        c.Method,
		":path":                          c.Path,
		":scheme":                        "https",
		"accept":                         "application/json, text/plain, */*",
		"accept-encoding":                "gzip, deflate, br, zstd",
		"accept-language":                "en-GB,en;q=0.9,de;q=0.8,fr;q=0.7",
		"cookie":                         benchCookie,
		"origin":                         "https://controller.example.com",
		"referer":                        "https://controller.example.com/ui/microservices?page=2&sort=name",
		"sec-ch-ua":                      `"Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131"`,
		"sec-ch-ua-mobile":               "?0",
		"sec-ch-ua-platform":             `"Linux"`,
		"sec-fetch-dest":                 "empty",
		"sec-fetch-mode":                 "cors",
		"sec-fetch-site":                 "same-origin",
		"traceparent":                    fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e0e%04x-00f067aa0ba902b7-01", seq%0x10000),
		"tracestate":                     "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
		"user-agent":                     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"x-envoy-expected-rq-timeout-ms": "15000",
		"x-envoy-attempt-count":          "1",
		"x-envoy-external-address":       "203.0.113.42",
		"x-amzn-trace-id":                "Root=1-6746f2a0-3c1d2b4e5f60718293a4b5c6;Parent=53995c3f42cd8ad8;Sampled=1",
		"x-b3-traceid":                   "4bf92f3577b34da6a3ce929d0e0e4736",
		"x-b3-spanid":                    "00f067aa0ba902b7",
		"x-b3-sampled":                   "1",
		"priority":                       "u=1, i",
		"dnt":                            "1",
		"x-forwarded-for":                "203.0.113.42, 10.12.4.7",
		"x-forwarded-proto":              "https",
		"x-request-id":                   reqID,
	}
	if c.Method == "POST" || c.Method == "PATCH" || c.Method == "PUT" {
		headers["content-type"] = "application/json"
		headers["content-length"] = "412"
	}
	switch {
	case c.Authorization != "":
		headers["authorization"] = c.Authorization
	case c.Token != "":
		headers["authorization"] = "Bearer " + c.Token
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      peer("10.12.4.7", 51874),
		Destination: peer("10.12.9.21", 8080),
		Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)),
			Http: &authv3.AttributeContext_HttpRequest{
				Id: reqID, Method: c.Method, Path: c.Path, Host: "controller.example.com",
				Scheme: "https", Protocol: "HTTP/1.1", Headers: headers,
			},
		},
	}}
}

// benchCookie is a typical console cookie jar: analytics, locale and a CSRF
// token; none of it is a credential for Gatehouse.
var benchCookie = strings.Join([]string{
	"_ga=GA1.1.1842374981.1732700000",
	"_ga_Q8ZK3X1P2L=GS1.1.1732700000.4.1.1732703600.0.0.0",
	"locale=en-GB",
	"ui-theme=dark",
	"csrftoken=kF3v9QzX1bL7mN2pR8sT4wY6aC0dE5gH",
	"sidebar_state=collapsed",
	"last_project=edge-fleet-eu-west-1",
	"_hjSessionUser_3141592=eyJpZCI6IjVkNmY3YjVhLTI2YjEtNWM0Ny05YjE4LTNmZjIwYzU5YWQ2YiIsImNyZWF0ZWQiOjE3MzI3MDAwMDAwMDAsImV4aXN0aW5nIjp0cnVlfQ==",
	"AMP_6e403e775d=JTdCJTIyZGV2aWNlSWQlMjIlM0ElMjJhMWIyYzNkNC1lNWY2LTc4OTAlMjIlMkMlMjJzZXNzaW9uSWQlMjIlM0ExNzMyNzAwMDAwMDAwJTdE",
}, "; ")

func peer(ip string, port uint32) *authv3.AttributeContext_Peer {
	return &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
		SocketAddress: &corev3.SocketAddress{Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}},
	}}}
}

// Workload is a set of pre-marshalled requests a load run cycles through.
type Workload struct {
	Name     string
	Payloads [][]byte
	// Allowed is how many payloads an equivalent policy allows, for the
	// report: a run that denies everything measures the wrong thing.
	Allowed int
}

// RepeatedToken is one developer listing microservices, over and over.
func RepeatedToken(m *Minter, now time.Time) (*Workload, error) {
	tok, err := m.Mint("user-17", []string{"developer"}, "", 2*time.Hour, now)
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(CheckRequest(Call{Method: "GET", Path: "/api/v3/microservices", Token: tok}, 1))
	if err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	return &Workload{Name: "repeated-token", Payloads: [][]byte{b}, Allowed: 1}, nil
}

// DistinctTokens is n tokens for 100 users (distinct jti each), the users
// spread over Groups, each request on one of LoadPaths.
func DistinctTokens(m *Minter, n int, now time.Time) (*Workload, error) {
	w := &Workload{Name: fmt.Sprintf("%d-tokens", n)}
	for i := range n {
		user := i % 100
		group := Groups[user%len(Groups)]
		tok, err := m.Mint(fmt.Sprintf("user-%d", user), []string{group}, fmt.Sprintf("bench-%d", i), 2*time.Hour, now)
		if err != nil {
			return nil, err
		}
		p := LoadPaths[i%len(LoadPaths)]
		b, err := proto.Marshal(CheckRequest(Call{Method: p.Method, Path: p.Path, Token: tok}, i))
		if err != nil {
			return nil, fmt.Errorf("marshal: %w", err)
		}
		w.Payloads = append(w.Payloads, b)
		if ExpectAllowed(group, p.Method, p.Path) {
			w.Allowed++
		}
	}
	return w, nil
}

// ExpectAllowed is the system-role outcome for the load paths only (the
// parity test checks the servers themselves on many more cases): admin and
// sre may do everything here, developer and viewer may read, developer may
// also create microservices, "none" may do nothing.
func ExpectAllowed(group, method, path string) bool {
	switch group {
	case "admin", "sre":
		return true
	case "developer":
		return method == "GET" || path == "/api/v3/microservices"
	case "viewer":
		return method == "GET"
	}
	return false
}

// MeanSize is the mean marshalled size of the workload's requests.
func (w *Workload) MeanSize() int {
	total := 0
	for _, p := range w.Payloads {
		total += len(p)
	}
	return total / max(1, len(w.Payloads))
}

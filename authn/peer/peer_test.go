package peer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// TestWorkedExample checks the signer against docs/peer-auth.md byte for
// byte, so the document stays a specification others can implement.
func TestWorkedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/peer-auth.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "<!-- worked-example")
	if !ok {
		t.Fatal("docs/peer-auth.md has no worked example")
	}
	_, block, _ = strings.Cut(block, "```text\n")
	block, _, _ = strings.Cut(block, "```")
	ex := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z0-9-]+) {2,}(.+)$`).FindAllStringSubmatch(block, -1) {
		ex[m[1]] = m[2]
	}
	for _, k := range []string{"secret", "method", "target", "body-sha256", "header-b64", "payload", "payload-b64", "signature", "token"} {
		if ex[k] == "" {
			t.Fatalf("worked example lacks %q", k)
		}
	}
	body := []byte(`"{\"datacenters\":[]}"`)
	s := &Signer{Secret: []byte(ex["secret"]), HostID: "node-b.cluster.example",
		Now: func() time.Time { return time.Unix(1767225600, 0) }, NewID: func() string { return "q2Xm0xVt4sW9yHkR1eJcLA" }}
	tok, err := s.SignRequest(ex["method"], ex["target"], body)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	payload, _ := b64.DecodeString(parts[1])
	for k, got := range map[string]string{"body-sha256": BodyHash(body), "header-b64": parts[0], "payload": string(payload),
		"payload-b64": parts[1], "signature": parts[2], "token": tok} {
		if got != ex[k] {
			t.Errorf("%s:\n got %s\nwant %s", k, got, ex[k])
		}
	}
	// The receiver accepts the example at its time, from its origin.
	a := newTestAuth(t, Options{Secrets: [][]byte{[]byte(ex["secret"])}, Strict: true,
		Peers: mustPeers(t, "192.0.2.7=node-b.cluster.example"), Now: func() time.Time { return time.Unix(1767225610, 0) }})
	path, query, _ := strings.Cut(ex["target"], "?")
	id, err := a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: ex["token"], Peer: true},
		&gatehouse.Request{Method: "POST", Path: path, Query: query, Body: body, SourceIP: "192.0.2.7"})
	if err != nil || id.Subject != "node-b.cluster.example" || id.Kind != gatehouse.KindPeer {
		t.Fatalf("worked example refused: %v %+v", err, id)
	}
}

const testSecret = "0123456789abcdef0123456789abcdef"

func mustPeers(t *testing.T, s string) []Entry {
	t.Helper()
	e, err := ParsePeers(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newTestAuth(t *testing.T, o Options) *Authenticator {
	t.Helper()
	if o.Secrets == nil {
		o.Secrets = [][]byte{[]byte(testSecret)}
	}
	if o.HostID == "" {
		o.HostID = "self"
	}
	a, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParsePeers(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"10.0.0.1,some.host.somewhere", "10.0.0.1=10.0.0.1|some.host.somewhere=some.host.somewhere", ""},
		{" 10.0.0.1=a , ,Node-B.Example.=b ", "10.0.0.1=a|node-b.example=b", ""},
		{"10.1.2.3/16", "10.1.0.0/16", ""},
		{"::ffff:10.0.0.1,[::1]=six", "10.0.0.1=10.0.0.1|::1=six", ""},
		{"https://node-c.example:8000/api,http://10.0.0.9:80=n9", "node-c.example=node-c.example|10.0.0.9=n9", ""},
		{"10.0.0.0/8=x", "", "CIDR"},
		{"not a host", "", "neither"},
		{"a=", "", "peer id"},
		{"a=b c", "", "peer id"},
		{"10.0.0.0/33", "", "CIDR"},
		{"fe80::1%eth0", "", "zoned"},
	}
	for _, tt := range tests {
		got, err := ParsePeers(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		var s []string
		for _, e := range got {
			s = append(s, e.String())
		}
		if err != nil || strings.Join(s, "|") != tt.want {
			t.Errorf("%q: %v %v, want %s", tt.in, s, err, tt.want)
		}
	}
}

func TestParseSecrets(t *testing.T) {
	s, err := ParseSecrets(testSecret + ", " + strings.ToUpper(testSecret))
	if err != nil || len(s) != 2 || string(s[1]) != strings.ToUpper(testSecret) {
		t.Fatalf("%q %v", s, err)
	}
	if s, err := ParseSecrets(""); s != nil || err != nil {
		t.Fatalf("empty: %v %v", s, err)
	}
	for _, in := range []string{"short", testSecret + ",", testSecret + ",,x"} {
		if _, err := ParseSecrets(in); err == nil || strings.Contains(err.Error(), "short") || strings.Contains(err.Error(), testSecret) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// fakeDNS is a resolver whose answers the test changes.
type fakeDNS struct {
	mu    sync.Mutex
	addrs map[string][]netip.Addr
	calls int
	fail  bool
}

func (f *fakeDNS) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return nil, errors.New("SERVFAIL")
	}
	return append([]netip.Addr(nil), f.addrs[host]...), nil
}

func (f *fakeDNS) set(host string, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs[host] = nil
	for _, a := range addrs {
		f.addrs[host] = append(f.addrs[host], netip.MustParseAddr(a))
	}
}

func TestHostOriginsAreResolvedAndRefreshed(t *testing.T) {
	dns := &fakeDNS{addrs: map[string][]netip.Addr{}}
	dns.set("node-b.example", "10.0.0.2", "::ffff:10.0.0.22")
	now := time.Unix(1767225600, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := newTestAuth(t, Options{Strict: true, Peers: mustPeers(t, "node-b.example"), Resolver: dns.lookup, Now: clock})
	match := func(ip string) bool { return len(a.origins.match(netip.MustParseAddr(ip))) > 0 }
	if !match("10.0.0.2") || !match("10.0.0.22") || match("10.0.0.20") || match("110.0.0.2") {
		t.Fatal("exact match of resolved addresses")
	}
	// A failed lookup keeps the last good answer.
	dns.mu.Lock()
	dns.fail = true
	dns.mu.Unlock()
	a.origins.resolveAll(context.Background())
	if !match("10.0.0.2") {
		t.Fatal("a failed lookup dropped the addresses")
	}
	// The host moves: the periodic refresh picks it up.
	dns.mu.Lock()
	dns.fail = false
	dns.mu.Unlock()
	dns.set("node-b.example", "10.0.0.3")
	a.origins.resolveAll(context.Background())
	if match("10.0.0.2") || !match("10.0.0.3") {
		t.Fatal("refresh did not replace the addresses")
	}
	// An unknown source triggers one early refresh, rate-limited.
	dns.set("node-b.example", "10.0.0.4")
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	match("10.0.0.4") // starts the refresh
	deadline := time.Now().Add(5 * time.Second)
	for !match("10.0.0.4") {
		if time.Now().After(deadline) {
			t.Fatal("no refresh after a request from an unknown address")
		}
		time.Sleep(5 * time.Millisecond)
	}
	dns.mu.Lock()
	calls := dns.calls
	dns.mu.Unlock()
	for range 10 {
		match("10.9.9.9")
	}
	for a.origins.busy.Load() {
		time.Sleep(time.Millisecond)
	}
	dns.mu.Lock()
	defer dns.mu.Unlock()
	if dns.calls != calls {
		t.Fatalf("%d lookups within the retry interval", dns.calls-calls)
	}
}

func TestTransportLeavesTheRequestAlone(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotBody = r, string(b)
	}))
	defer srv.Close()
	s, err := NewSigner([]byte(testSecret), "node-b")
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &Transport{Signer: s, SignRequests: true}}
	r, _ := http.NewRequest("POST", srv.URL+"/synchronize?x=1", strings.NewReader("hello"))
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r.Header.Get("Authorization") != "" || r.Header.Get("Peer") != "" {
		t.Fatal("the caller's request was modified")
	}
	if got.Header.Get("Peer") != "true" || gotBody != "hello" {
		t.Fatalf("sent %v %q", got.Header, gotBody)
	}
	tok, err := Parse(strings.TrimPrefix(got.Header.Get("Authorization"), "Bearer "))
	if err != nil || !tok.Verify([][]byte{[]byte(testSecret)}) {
		t.Fatal(err)
	}
	c2 := tok.Claims
	if c2.Peer != "node-b" || c2.Method != "POST" || c2.Target != "/synchronize?x=1" || c2.BodyHash != BodyHash([]byte("hello")) ||
		c2.Expires-c2.IssuedAt != 60 || len(c2.ID) != 22 {
		t.Fatalf("claims %+v", c2)
	}
}

func TestNewRefusesWeakSetups(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]Options{
		"no secret":        {HostID: "a"},
		"short secret":     {Secrets: [][]byte{[]byte("short")}, HostID: "a"},
		"strict, no peers": {Secrets: [][]byte{[]byte(testSecret)}, HostID: "a", Strict: true},
		"no host id":       {Secrets: [][]byte{[]byte(testSecret)}},
	} {
		if _, err := New(ctx, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewSigner([]byte("short"), "a"); err == nil {
		t.Error("signer with a short secret")
	}
}

// slowGuard never answers before its context ends.
type slowGuard struct{}

func (slowGuard) ClaimOnce(ctx context.Context, _, _ string, _ time.Time) error {
	<-ctx.Done()
	return ctx.Err()
}

type brokenGuard struct{}

func (brokenGuard) ClaimOnce(context.Context, string, string, time.Time) error {
	return errors.New("connection refused")
}

func TestReplayGuardFailuresAre503(t *testing.T) {
	s, _ := NewSigner([]byte(testSecret), "node-b")
	for name, tt := range map[string]struct {
		g      ReplayGuard
		reason gatehouse.Reason
	}{"slow": {slowGuard{}, gatehouse.ReasonDeadline}, "broken": {brokenGuard{}, gatehouse.ReasonStoreUnavailable}} {
		a := newTestAuth(t, Options{Replay: tt.g, ReplayDeadline: 20 * time.Millisecond})
		tok, _ := s.Token()
		_, err := a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: tok, Peer: true},
			&gatehouse.Request{Method: "POST", Path: "/synchronize", SourceIP: "10.0.0.1"})
		var ae *gatehouse.AuthError
		if !errors.As(err, &ae) || !ae.Internal || ae.Reason != tt.reason {
			t.Errorf("%s: %v, want an internal %s", name, err, tt.reason)
		}
	}
}

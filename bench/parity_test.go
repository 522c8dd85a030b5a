package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/bench/internal/loadkit"
	"github.com/gatehouse-authz/gatehouse/token"
)

// TestParity runs Gatehouse and the OPA-Envoy peer on loopback and checks
// they give the same verdict (allow/deny and HTTP status) on every request
// of a sample, so the load benchmark compares equivalent work. A few
// verdicts are also pinned, so both cannot agree on a wrong answer.
func TestParity(t *testing.T) {
	ghBin := binary(t, "GATEHOUSE_BIN", loadkit.GatehouseBin, loadkit.BuildGatehouse)
	opaBin := binary(t, "OPA_ENVOY_BIN", loadkit.OPAEnvoyBin, loadkit.BuildOPAEnvoy)

	ctx := context.Background()
	dir := t.TempDir()
	minter, err := loadkit.NewMinter(dir)
	if err != nil {
		t.Fatal(err)
	}
	gh, err := loadkit.StartGatehouse(ctx, ghBin, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Stop() })
	opa, err := loadkit.StartOPA(ctx, opaBin, loadkit.PolicyFile, loadkit.RolesFile, dir, minter.Signer.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = opa.Stop() })

	cases := parityCases(t, minter)
	servers := map[string]*loadkit.Checker{}
	for _, s := range []*loadkit.Server{gh, opa} {
		c, err := loadkit.Dial(s.GRPCAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		servers[s.Name] = c
	}
	seen := map[int]int{}
	for i, tc := range cases {
		req := loadkit.CheckRequest(tc.call, i)
		got := map[string]loadkit.Verdict{}
		for name, c := range servers {
			v, err := c.Check(ctx, req)
			if err != nil {
				t.Fatalf("%s: %s: %v", tc.name, name, err)
			}
			got[name] = v
		}
		g, o := got["gatehouse"], got["opa-envoy"]
		if g != o {
			t.Errorf("%s: gatehouse %v, opa-envoy %v", tc.name, g, o)
		}
		if tc.want != 0 && g.HTTPStatus != tc.want {
			t.Errorf("%s: gatehouse status %d, want %d", tc.name, g.HTTPStatus, tc.want)
		}
		seen[g.HTTPStatus]++
	}
	t.Logf("%d requests; statuses %v", len(cases), seen)
	for _, s := range []int{200, 401, 403} {
		if seen[s] == 0 {
			t.Errorf("the sample never produced status %d", s)
		}
	}
}

type parityCase struct {
	name string
	call loadkit.Call
	want int // 0: only parity is checked
}

func parityCases(t *testing.T, m *loadkit.Minter) []parityCase {
	t.Helper()
	now := time.Now()
	mint := func(sub string, groups ...string) string {
		tok, err := m.Mint(sub, groups, "", time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	expired, err := m.Mint("alice", []string{"admin"}, "", time.Hour, now.Add(-3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Same kid, wrong signature: the last signature characters changed.
	good := mint("alice", "admin")
	tampered := good[:len(good)-6] + flip(good[len(good)-6:])
	// A token from a key neither server trusts (a different kid).
	other, err := token.LoadOrCreateFileKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.MintAccess(token.AccessClaims{Issuer: loadkit.Issuer, Audience: loadkit.Audience, Subject: "eve", Groups: []string{"admin"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wrongAud, err := m.Signer.MintAccess(token.AccessClaims{Issuer: loadkit.Issuer, Audience: "someone-else", Subject: "alice", Groups: []string{"admin"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	wrongIss, err := m.Signer.MintAccess(token.AccessClaims{Issuer: "http://evil.example/oidc", Audience: loadkit.Audience, Subject: "alice", Groups: []string{"admin"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	identities := []struct{ name, token string }{
		{"admin", mint("alice", "admin")},
		{"developer", mint("dev", "developer")},
		{"viewer", mint("vic", "viewer")},
		{"sre", mint("sam", "sre")},
		{"upper-case Developer", mint("dora", "Developer")},
		{"group none", mint("nobody", "none")},
		{"no groups", mint("naked")},
		{"no token", ""},
		{"expired", expired},
		{"bad signature", tampered},
		{"foreign key", foreign},
		{"wrong audience", wrongAud},
		{"wrong issuer", wrongIss},
	}
	ms := "/api/v3/microservices/" + loadkit.MicroserviceUUID
	fog := "/api/v3/iofog/" + loadkit.FogUUID
	paths := []struct{ method, path string }{
		{"GET", "/api/v3/microservices"},
		{"POST", "/api/v3/microservices"},
		{"GET", ms},
		{"DELETE", ms},
		{"GET", "/api/v3/microservices/system"},
		{"GET", fog},
		{"PATCH", fog},
		{"GET", "/api/v3/iofog-list"},
		{"POST", "/api/v3/iofog"},
		{"GET", "/api/v3/roles"},
		{"PUT", "/api/v3/router"},
		{"GET", "/api/v3/user/profile"},
		{"GET", "/api/v3/status"},
		{"GET", "/api/v3/no-such-thing"},
		{"GET", "/api/v3/microservices/?page=2"},
		{"HEAD", "/api/v3/iofog-list"},
	}
	var out []parityCase
	for _, id := range identities {
		for _, p := range paths {
			out = append(out, parityCase{
				name: fmt.Sprintf("%s %s %s", id.name, p.method, p.path),
				call: loadkit.Call{Method: p.method, Path: p.path, Token: id.token},
			})
		}
	}
	pinned := []parityCase{
		{"pinned: admin deletes a fog", loadkit.Call{Method: "DELETE", Path: fog, Token: identities[0].token}, 200},
		{"pinned: developer lists microservices", loadkit.Call{Method: "GET", Path: "/api/v3/microservices", Token: identities[1].token}, 200},
		{"pinned: viewer may not create", loadkit.Call{Method: "POST", Path: "/api/v3/microservices", Token: identities[2].token}, 403},
		{"pinned: developer may not patch a fog", loadkit.Call{Method: "PATCH", Path: fog, Token: identities[1].token}, 403},
		{"pinned: no token", loadkit.Call{Method: "GET", Path: "/api/v3/microservices"}, 401},
		{"pinned: expired", loadkit.Call{Method: "GET", Path: "/api/v3/microservices", Token: expired}, 401},
		{"pinned: bad signature", loadkit.Call{Method: "GET", Path: "/api/v3/microservices", Token: tampered}, 401},
		{"pinned: unknown route", loadkit.Call{Method: "GET", Path: "/api/v3/no-such-thing", Token: identities[0].token}, 403},
		{"pinned: public route without token", loadkit.Call{Method: "GET", Path: "/api/v3/status"}, 200},
		{"pinned: profile for group none", loadkit.Call{Method: "GET", Path: "/api/v3/user/profile", Token: identities[5].token}, 200},
		{"pinned: Basic credential", loadkit.Call{Method: "GET", Path: "/api/v3/microservices", Authorization: "Basic YWxpY2U6c2VjcmV0"}, 401},
	}
	return append(out, pinned...)
}

// flip changes every character of a base64url fragment to another one.
func flip(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, s)
}

// binary finds a server binary: $env, else bench/<rel>. When it is missing,
// CI=true builds it (or fails); elsewhere the test is skipped with one line.
func binary(t *testing.T, env, rel string, build func(string) error) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if err := loadkit.Binary(p); err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		return p
	}
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	err = loadkit.Binary(p)
	if err == nil {
		return p
	}
	if !errors.Is(err, loadkit.ErrNotInstalled) {
		t.Fatal(err)
	}
	if os.Getenv("CI") != "true" {
		t.Skipf("%s is not installed: run `make bench-tools` (or set %s); CI=true builds it", rel, env)
	}
	if err := build(rel); err != nil {
		t.Fatalf("CI: building %s: %v", rel, err)
	}
	return p
}

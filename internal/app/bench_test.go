package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/code"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/server/extauthz"
)

// benchCore builds the whole decision core (JWT verification with its
// identity cache, the default Rego policy) behind the ext_authz service, and
// calls it in-process: no network, so the figure is the core's own cost.
func benchCore(b *testing.B, kv ...string) (*extauthz.Service, *testenv.Issuer, *app.App) {
	iss := testenv.NewIssuer(b)
	env := map[string]string{
		"AUTH_MODE": "external", "OIDC_ISSUER_URL": iss.URL(), "OIDC_CLIENT_ID": iss.Audience(),
		"AUTH_LOGIN_ENABLED": "false", "AUTH_INSECURE_ALLOW_HTTP": "true", "DATA_DIR": b.TempDir(),
		"GRPC_ADDR": "127.0.0.1:0", "HTTP_ADDR": "127.0.0.1:0", "LOG_DECISIONS": "false",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	svc := extauthz.New(a.Decider())
	tok := iss.Mint(groupsClaims(iss, "developer"))
	for range 500 { // keys load in the background: wait, bounded
		if resp, _ := svc.Check(ctx, checkRequest(tok)); resp.GetStatus().GetCode() == int32(code.Code_OK) {
			return svc, iss, a
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("the core never allowed a valid token")
	return nil, nil, nil
}

func groupsClaims(iss *testenv.Issuer, groups ...string) map[string]any {
	c := iss.Claims()
	c["groups"] = groups
	return c
}

func checkRequest(tok string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "10.0.0.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 43210}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "POST", Path: "/api/v3/microservices?x=1", Host: "controller.example",
			Headers: map[string]string{
				"authorization": "Bearer " + tok, "content-type": "application/json",
				"user-agent": "bench", "x-request-id": "r-1", "x-gatehouse-subject": "mallory",
			},
		}},
	}}
}

// BenchmarkCheckRepeatedToken is the steady state: one token, identity and
// decision cache hits.
func BenchmarkCheckRepeatedToken(b *testing.B) {
	svc, iss, _ := benchCore(b)
	req := checkRequest(iss.Mint(groupsClaims(iss, "developer")))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := svc.Check(ctx, req)
		if err != nil || resp.GetStatus().GetCode() != int32(code.Code_OK) {
			b.Fatalf("%v %v", resp.GetStatus(), err)
		}
	}
}

// BenchmarkCheckRepeatedTokenDeadline is the same with a caller's deadline,
// as Envoy always sends one (its ext_authz timeout), so the decision's
// deadline reserve is in play. The deadline is far off: the loop outlasts
// Envoy's 200 ms.
func BenchmarkCheckRepeatedTokenDeadline(b *testing.B) {
	svc, iss, _ := benchCore(b)
	req := checkRequest(iss.Mint(groupsClaims(iss, "developer")))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := svc.Check(ctx, req)
		if err != nil || resp.GetStatus().GetCode() != int32(code.Code_OK) {
			b.Fatalf("%v %v", resp.GetStatus(), err)
		}
	}
}

// BenchmarkCheckDistinctTokens makes every call verify a signature: the
// identity cache holds one entry and the calls cycle through a pool of
// distinct tokens.
func BenchmarkCheckDistinctTokens(b *testing.B) {
	svc, iss, _ := benchCore(b, "IDENTITY_CACHE_SIZE", "1")
	reqs := make([]*authv3.CheckRequest, 256)
	for i := range reqs {
		c := groupsClaims(iss, "developer")
		c["jti"] = fmt.Sprintf("bench-%d", i)
		reqs[i] = checkRequest(iss.Mint(c))
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		resp, err := svc.Check(ctx, reqs[i%len(reqs)])
		if err != nil || resp.GetStatus().GetCode() != int32(code.Code_OK) {
			b.Fatalf("%v %v", resp.GetStatus(), err)
		}
		i++
	}
}

// BenchmarkCheckDenyNoCredential is the cheapest deny: no token, 401.
func BenchmarkCheckDenyNoCredential(b *testing.B) {
	svc, _, _ := benchCore(b)
	req := checkRequest("")
	delete(req.Attributes.Request.Http.Headers, "authorization")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := svc.Check(ctx, req)
		if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 401 {
			b.Fatalf("%v %v", resp, err)
		}
	}
}

// benchTokens prepares n API tokens of a local user bound to the developer
// role and waits (bounded) until the core allows them.
func benchTokens(b *testing.B, n int, kv ...string) (*extauthz.Service, []*authv3.CheckRequest) {
	svc, _, a := benchCore(b, kv...)
	ctx := context.Background()
	st := a.Store()
	u, err := st.CreateUser(ctx, gatehouse.User{Login: "svc"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "svc", RoleRef: "developer",
		Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectUser, Name: "svc"}}}); err != nil {
		b.Fatal(err)
	}
	reqs := make([]*authv3.CheckRequest, n)
	for i := range reqs {
		sec, err := secret.RandomToken(32)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Digest: secret.Digest(sec)}); err != nil {
			b.Fatal(err)
		}
		reqs[i] = checkRequest("")
		reqs[i].Attributes.Request.Http.Headers["authorization"] = "Token " + sec
	}
	for range 500 {
		if resp, _ := svc.Check(ctx, reqs[0]); resp.GetStatus().GetCode() == int32(code.Code_OK) {
			return svc, reqs
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("the binding never reached the policy")
	return nil, nil
}

// BenchmarkCheckAPITokenCached: one API token, identity and decision from
// the caches; compare with BenchmarkCheckRepeatedToken.
func BenchmarkCheckAPITokenCached(b *testing.B) {
	svc, reqs := benchTokens(b, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, err := svc.Check(ctx, reqs[0]); err != nil || resp.GetStatus().GetCode() != int32(code.Code_OK) {
			b.Fatalf("%v %v", resp.GetStatus(), err)
		}
	}
}

// BenchmarkCheckAPITokenUncached: an identity cache of one entry and two
// tokens alternating, so every call looks the token, its user, groups and
// permissions up in the SQLite store and records the token's last use.
func BenchmarkCheckAPITokenUncached(b *testing.B) {
	svc, reqs := benchTokens(b, 2, "IDENTITY_CACHE_SIZE", "1")
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if resp, err := svc.Check(ctx, reqs[i%2]); err != nil || resp.GetStatus().GetCode() != int32(code.Code_OK) {
			b.Fatalf("%v %v", resp.GetStatus(), err)
		}
		i++
	}
}

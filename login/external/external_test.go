package external_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/login"
	"github.com/gatehouse-authz/gatehouse/login/external"
)

func newProvider(t *testing.T, idp *testenv.IdP) *external.Provider {
	t.Helper()
	p, err := external.New(external.Options{
		IssuerURL: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, AllowInsecureHTTP: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLG12ExternalPasswordGrant: CLI login is the IdP's password grant; any
// IdP refusal is ErrInvalidCredentials; the tokens are the IdP's.
func TestLG12ExternalPasswordGrant(t *testing.T) {
	idp := testenv.StartIdP(t, testenv.IdPOptions{})
	p := newProvider(t, idp)
	ctx := context.Background()
	tok, err := p.Login(ctx, login.Credentials{Username: testenv.IdPAlice, Password: testenv.IdPAlicePassword})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok.AccessToken, ".") != 2 || tok.RefreshToken == "" || tok.ExpiresIn <= 0 {
		t.Fatalf("tokens = %+v", tok)
	}
	for _, c := range []login.Credentials{
		{Username: testenv.IdPAlice, Password: "wrong"},
		{Username: "nobody", Password: "x"},
		{Username: "", Password: ""},
	} {
		if _, err := p.Login(ctx, c); !errors.Is(err, login.ErrInvalidCredentials) {
			t.Errorf("Login(%q) err = %v, want ErrInvalidCredentials", c.Username, err)
		}
	}
}

// TestRF07ExternalRefresh: refresh is the IdP's refresh_token grant; a
// refusal is ErrInvalidCredentials.
func TestRF07ExternalRefresh(t *testing.T) {
	idp := testenv.StartIdP(t, testenv.IdPOptions{})
	p := newProvider(t, idp)
	ctx := context.Background()
	tok, err := p.Login(ctx, login.Credentials{Username: testenv.IdPBob, Password: testenv.IdPBobPassword})
	if err != nil {
		t.Fatal(err)
	}
	next, err := p.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.AccessToken == "" || next.AccessToken == tok.AccessToken {
		t.Fatalf("refresh gave no new access token")
	}
	if _, err := p.Refresh(ctx, "not-a-refresh-token"); !errors.Is(err, login.ErrInvalidCredentials) {
		t.Fatalf("bad refresh err = %v", err)
	}
	// Logout revokes the refresh token at the IdP: it no longer refreshes.
	rt := next.RefreshToken
	if rt == "" {
		rt = tok.RefreshToken
	}
	if err := p.Logout(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Refresh(ctx, rt); !errors.Is(err, login.ErrInvalidCredentials) {
		t.Fatalf("refresh after logout err = %v", err)
	}
}

// TestPF02ExternalUserInfo: the profile is the IdP's UserInfo answer; a
// refusal is ErrInvalidCredentials.
func TestPF02ExternalUserInfo(t *testing.T) {
	idp := testenv.StartIdP(t, testenv.IdPOptions{})
	p := newProvider(t, idp)
	ctx := context.Background()
	tok, err := p.Login(ctx, login.Credentials{Username: testenv.IdPAlice, Password: testenv.IdPAlicePassword})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.UserInfo(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal(raw, &info); err != nil || info["sub"] != "alice" || info["email"] != "alice@example.com" {
		t.Fatalf("userinfo = %s (%v)", raw, err)
	}
	if _, err := p.UserInfo(ctx, "x.y.z"); !errors.Is(err, login.ErrInvalidCredentials) {
		t.Fatalf("bad bearer err = %v", err)
	}
}

// TestCF03DiscoveryRequirements: the issuer must match and the endpoints be
// present; an unreachable issuer is retried and Ready says why.
func TestCF03DiscoveryRequirements(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := external.New(external.Options{IssuerURL: "http://" + addr, ClientID: "c", AllowInsecureHTTP: true, MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := p.Ready(); ok || !strings.Contains(why, "OIDC_ISSUER_URL") {
		t.Fatalf("Ready = %v %q", ok, why)
	}
	if _, err := p.Login(context.Background(), login.Credentials{Username: "a", Password: "b"}); !errors.Is(err, login.ErrUnavailable) {
		t.Fatalf("Login before discovery err = %v", err)
	}

	// Bring the issuer up at that address: Run's retry finds it.
	var mu sync.Mutex
	docs := map[string]any{}
	set := func(k, v string) { mu.Lock(); docs[k] = v; mu.Unlock() }
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(docs)
	})
	base := "http://" + addr
	set("issuer", base)
	set("authorization_endpoint", base+"/auth")
	set("token_endpoint", base+"/token")
	set("jwks_uri", base+"/jwks")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	ln2, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln2)
	defer srv.Close()

	// Without userinfo_endpoint discovery keeps failing, saying so.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, why := p.Ready()
		if strings.Contains(why, "userinfo_endpoint") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ready never named the missing userinfo_endpoint: %q", why)
		}
		time.Sleep(20 * time.Millisecond)
	}
	set("userinfo_endpoint", base+"/me")
	select {
	case <-p.Loaded():
	case <-time.After(10 * time.Second):
		_, why := p.Ready()
		t.Fatalf("never discovered: %s", why)
	}

	// A document announcing another issuer is refused.
	set("issuer", "http://evil.example")
	q, _ := external.New(external.Options{IssuerURL: base, ClientID: "c", AllowInsecureHTTP: true})
	if err := q.Discover(context.Background()); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched issuer err = %v", err)
	}
}

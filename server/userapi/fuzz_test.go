package userapi_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/login"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/gateway"
	"github.com/gatehouse-authz/gatehouse/server/userapi"
)

// fuzzProvider accepts one password and one refresh token.
type fuzzProvider struct{}

const (
	goodPassword = "correct horse battery"
	goodRefresh  = "good-refresh-token"
)

func (fuzzProvider) Login(_ context.Context, c login.Credentials) (login.Tokens, error) {
	if c.Password != goodPassword {
		return login.Tokens{}, login.ErrInvalidCredentials
	}
	return login.Tokens{AccessToken: "access", RefreshToken: "refresh"}, nil
}

func (fuzzProvider) Refresh(_ context.Context, tok string) (login.Tokens, error) {
	if tok != goodRefresh {
		return login.Tokens{}, login.ErrInvalidCredentials
	}
	return login.Tokens{AccessToken: "access", RefreshToken: "refresh"}, nil
}

func (fuzzProvider) Logout(context.Context, string) error { return nil }

type refuseAll struct{}

func (refuseAll) Verify(context.Context, string) (*gatehouse.Identity, error) {
	return nil, login.ErrUnauthenticated
}

// restLogin serves the login door over a real gRPC server on loopback and
// returns the REST gateway in front of it, as server.New mounts it.
func restLogin(tb testing.TB) http.Handler {
	tb.Helper()
	svc, err := login.NewService(login.ServiceOptions{Provider: fuzzProvider{}, Verifier: refuseAll{}})
	if err != nil {
		tb.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer()
	gatehousev1.RegisterAuthServiceServer(srv, userapi.New(gatehousev1.UnimplementedAuthServiceServer{}, svc, userapi.RateLimit{}))
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	h, err := gateway.New(context.Background(), conn, false)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// staticText is every message the login routes answer with regardless of
// input; a "password" inside it is not an echo.
const staticText = `Required field 'email' is missing Required field 'password' is missing ` +
	`Required field 'refreshToken' is missing Invalid credentials Invalid or missing bearer token ` +
	`ValidationError InvalidCredentialsError AuthenticationError accessToken refreshToken access refresh ` +
	`Internal server error ServiceUnavailableError RateLimitExceededError`

// FuzzLoginBodies posts prefix+secret+suffix to POST /api/v3/user/login or
// /refresh through the REST gateway and the gRPC login door. It never
// panics; the answer is 200, a 400 ValidationError or a 401
// InvalidCredentialsError in the {"name","message"} envelope; a body that is
// not JSON is 400 ValidationError; and the secret (a password or refresh
// token, whatever shape the body gives it) is never echoed back. Seeds:
// testdata/fuzz/FuzzLoginBodies.
func FuzzLoginBodies(f *testing.F) {
	h := restLogin(f)
	f.Fuzz(func(t *testing.T, refresh bool, prefix, secret, suffix string) {
		path := "/api/v3/user/login"
		if refresh {
			path = "/api/v3/user/refresh"
		}
		body := prefix + secret + suffix
		w := httptest.NewRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, "POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
		if ctx.Err() != nil {
			t.Fatalf("%s %q: no answer within 5s: %d %s", path, body, w.Code, w.Body)
		}
		out := w.Body.String()
		var env struct{ Name, Message string }
		switch w.Code {
		case http.StatusOK:
			if !json.Valid([]byte(body)) {
				t.Fatalf("%s %q accepted: %s", path, body, out)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			if json.Unmarshal([]byte(out), &env) != nil || env.Name == "" {
				t.Fatalf("%s %q: %d %s, want a JSON error envelope", path, body, w.Code, out)
			}
			if w.Code == http.StatusBadRequest && env.Name != "ValidationError" ||
				w.Code == http.StatusUnauthorized && env.Name != "InvalidCredentialsError" {
				t.Fatalf("%s %q: %d %s", path, body, w.Code, out)
			}
			if !json.Valid([]byte(body)) && w.Code != http.StatusBadRequest {
				t.Fatalf("%s %q (not JSON): %d %s, want 400", path, body, w.Code, out)
			}
		default:
			t.Fatalf("%s %q: %d %s", path, body, w.Code, out)
		}
		if len(secret) >= 4 && !strings.Contains(staticText, secret) && !strings.Contains(prefix+suffix, secret) && strings.Contains(out, secret) {
			t.Fatalf("%s %q: the secret %q is echoed: %d %s", path, body, secret, w.Code, out)
		}
	})
}

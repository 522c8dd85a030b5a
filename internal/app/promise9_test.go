package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/authn"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// TestPromise9_OversizedAuthorizationRefusedOnEveryDoor: an Authorization
// value over 16 KiB is refused (401 CREDENTIAL_TOO_LARGE) before parsing
// on every door — ext_authz gRPC, gatehouse.v1 Check (field and header
// map), POST /v1/check, and the forward-auth door in each proxy's shape —
// on protected, agent and public routes alike. The value hides a valid
// token behind inner spaces, which parsing would trim away: it passes at
// exactly 16 KiB and is refused one byte later, so the size is checked
// first and no door truncates or pads it.
func TestPromise9_OversizedAuthorizationRefusedOnEveryDoor(t *testing.T) {
	f := newFixture(t, "FORWARD_AUTH_TRUSTED_PROXIES", "127.0.0.1,::1")
	tok := f.withGroups("viewer")
	padded := func(size int) string {
		return "Bearer" + strings.Repeat(" ", size-len("Bearer")-len(tok)) + tok
	}
	type door struct {
		name string
		ask  func(r req) outcome
	}
	doors := []door{
		{"ext_authz gRPC", f.g.decide},
		{"gatehouse.v1 Check headers", f.g.checkV1},
		{"gatehouse.v1 Check authorization field", func(r req) outcome {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := f.g.v1.Check(ctx, &gatehousev1.CheckRequest{Method: r.method, Path: r.path, Authorization: r.headers["authorization"]})
			if err != nil {
				t.Fatalf("gatehouse.v1 Check: %v", err)
			}
			return fromV1(resp)
		}},
		{"POST /v1/check", func(r req) outcome {
			body, _ := json.Marshal(map[string]any{"method": r.method, "path": r.path, "headers": r.headers})
			code, _, out := f.g.httpDo("POST", "/v1/check", string(body))
			if code != http.StatusOK {
				t.Fatalf("REST check answered %d %s", code, out)
			}
			var rest struct {
				Allowed    bool   `json:"allowed"`
				HTTPStatus int    `json:"httpStatus"`
				Reason     string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(out), &rest); err != nil {
				t.Fatal(err)
			}
			return outcome{allowed: rest.Allowed, status: rest.HTTPStatus, reason: rest.Reason}
		}},
	}
	for _, shape := range forwardShapes(t) {
		doors = append(doors, door{"forward-auth " + shape.name, func(r req) outcome {
			return forwardOutcome(t, shape.build(f.g.base, r))
		}})
	}
	routes := []struct{ name, method, path string }{
		{"protected", "GET", "/api/v3/microservices"},
		{"agent", "GET", "/api/v3/agent/config"},
		{"public", "GET", "/api/v3/user/oauth/authorize"},
	}
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			if o := d.ask(req{method: "GET", path: "/api/v3/microservices", headers: map[string]string{"authorization": padded(authn.MaxCredentialBytes)}}); !o.allowed {
				t.Fatalf("exactly %d bytes: %+v, want the token verified", authn.MaxCredentialBytes, o)
			}
			for _, rt := range routes {
				o := d.ask(req{method: rt.method, path: rt.path, headers: map[string]string{"authorization": padded(authn.MaxCredentialBytes + 1)}})
				if o.allowed || o.status != http.StatusUnauthorized || o.reason != "CREDENTIAL_TOO_LARGE" {
					t.Errorf("%s route, %d bytes: allowed=%v status=%d reason=%q, want 401 CREDENTIAL_TOO_LARGE",
						rt.name, authn.MaxCredentialBytes+1, o.allowed, o.status, o.reason)
				}
			}
		})
	}
}

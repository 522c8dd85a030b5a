package policies

import (
	"context"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

func BenchmarkRoute(b *testing.B) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if m := e.Route("PATCH", "/api/v3/microservices/system/0b5a/config", false); m.Resource != "systemMicroservices" {
			b.Fatal(m)
		}
	}
}

// BenchmarkEvaluate is one Rego decision on the prepared query for a JWT
// identity (claims → groups, system role by group, rule match), the decision
// cache off.
func BenchmarkEvaluate(b *testing.B) { benchEvaluate(b, 0) }

// BenchmarkEvaluateCached is the same decision served from the cache.
func BenchmarkEvaluateCached(b *testing.B) { benchEvaluate(b, 10000) }

func benchEvaluate(b *testing.B, cacheSize int) {
	e, err := New(context.Background(), Options{DecisionCacheSize: cacheSize, Config: map[string]any{"client_id": "gatehouse", "role_claim": "", "administrator_role": "administrator"}})
	if err != nil {
		b.Fatal(err)
	}
	in := &gatehouse.PolicyInput{
		Request: &gatehouse.Request{Method: "POST", Path: "/api/v3/microservices", Host: "controller.example",
			Headers: map[string]string{"content-type": "application/json", "user-agent": "bench"}},
		Identity: &gatehouse.Identity{Kind: gatehouse.KindUser, Issuer: "https://idp.example", Claims: map[string]any{
			"iss": "https://idp.example", "sub": "u-1", "aud": "gatehouse", "exp": 1.9e9, "iat": 1.7e9,
			"preferred_username": "alice", "email": "alice@example.com", "groups": []any{"developer", "Team-A"},
		}},
		Route: e.Route("POST", "/api/v3/microservices", false),
	}
	in.Identity.ComputeDigest()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r, err := e.Evaluate(ctx, in)
		if err != nil || !r.Allow {
			b.Fatal(r, err)
		}
	}
}

package gatehouse

import (
	"encoding/json"
	"testing"
)

func digestOf(id Identity) [32]byte {
	id.ComputeDigest()
	return id.Digest
}

func TestIdentityDigest(t *testing.T) {
	base := func() Identity {
		return Identity{Kind: KindUser, Issuer: "https://idp", Claims: map[string]any{
			"sub": "u1", "groups": []any{"a", "b"}, "exp": 1.9e9, "iat": 1.7e9, "jti": "j1",
			"resource_access": map[string]any{"c": map[string]any{"roles": []any{"x"}}, "d": true},
		}}
	}
	same := []struct {
		name string
		edit func(*Identity)
	}{
		{"volatile claims ignored", func(id *Identity) {
			id.Claims["exp"], id.Claims["iat"], id.Claims["jti"], id.Claims["nbf"], id.Claims["auth_time"] = 2e9, 1.8e9, "j2", 1.0, 5.0
		}},
		{"map order is irrelevant", func(id *Identity) {
			id.Claims["resource_access"] = map[string]any{"d": true, "c": map[string]any{"roles": []any{"x"}}}
		}},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			id := base()
			tt.edit(&id)
			if digestOf(id) != digestOf(base()) {
				t.Fatal("digests differ")
			}
		})
	}
	differ := []struct {
		name string
		edit func(*Identity)
	}{
		{"kind", func(id *Identity) { id.Kind = KindToken }},
		{"subject", func(id *Identity) { id.Subject = "x" }},
		{"issuer", func(id *Identity) { id.Issuer = "https://other" }},
		{"groups field", func(id *Identity) { id.Groups = []string{"a"} }},
		{"permissions", func(id *Identity) { id.Permissions = []string{"view_show"} }},
		{"a group claim", func(id *Identity) { id.Claims["groups"] = []any{"a", "c"} }},
		{"group order", func(id *Identity) { id.Claims["groups"] = []any{"b", "a"} }},
		{"nested value", func(id *Identity) {
			id.Claims["resource_access"] = map[string]any{"c": map[string]any{"roles": []any{"y"}}, "d": true}
		}},
		{"type of a value", func(id *Identity) { id.Claims["sub"] = json.Number("1") }},
		{"string vs array", func(id *Identity) { id.Claims["groups"] = "a,b" }},
		{"extra claim", func(id *Identity) { id.Claims["role"] = "administrator" }},
		{"no claims", func(id *Identity) { id.Claims = nil }},
		{"boundaries are encoded", func(id *Identity) { id.Claims["groups"] = []any{"ab"} }},
	}
	for _, tt := range differ {
		t.Run("differs by "+tt.name, func(t *testing.T) {
			id := base()
			tt.edit(&id)
			if digestOf(id) == digestOf(base()) {
				t.Fatal("digests equal")
			}
		})
	}
	t.Run("deep nesting is bounded", func(t *testing.T) {
		var v any = "leaf"
		for range 10000 {
			v = []any{v}
		}
		id := base()
		id.Claims["deep"] = v
		digestOf(id) // must not overflow the stack
	})
}

// TestIdentityDigestAllocations: the digest of a token's identity (flat
// claims, string arrays) is computed in a stack buffer; it runs once per new
// token on the Check path.
func TestIdentityDigestAllocations(t *testing.T) {
	id := &Identity{Kind: KindUser, Subject: "user-42", Issuer: "https://issuer.example", Claims: map[string]any{
		"iss": "https://issuer.example", "sub": "user-42", "aud": []any{"gatehouse", "controller"},
		"exp": 1.7e9, "iat": 1.7e9, "jti": "3f2a9c1e", "email": "u42@example.com", "email_verified": true,
		"groups": []any{"developer", "viewer", "sre"},
	}}
	if n := testing.AllocsPerRun(100, id.ComputeDigest); n != 0 {
		t.Fatalf("ComputeDigest allocated %v times per run, want 0", n)
	}
}

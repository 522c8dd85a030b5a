package app_test

import (
	"testing"
	"time"
)

// TestPromiseLifecycle_JWTLeewayZeroMeansZero: JWT_LEEWAY=0 tolerates no
// clock skew at all (it once fell back to the 30s default), while the default
// accepts a token a few seconds past its exp.
func TestPromiseLifecycle_JWTLeewayZeroMeansZero(t *testing.T) {
	for _, tt := range []struct {
		name   string
		env    []string
		status int
	}{
		{"default 30s", nil, 200},
		{"JWT_LEEWAY=0", []string{"JWT_LEEWAY", "0"}, 401},
		{"JWT_LEEWAY=0s", []string{"JWT_LEEWAY", "0s"}, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.env...)
			tok := f.token(func(c map[string]any) { c["exp"] = time.Now().Add(-3 * time.Second).Unix() })
			o := f.g.decide(req{method: "GET", path: "/api/v3/user/profile", headers: bearer(tok)})
			wantStatus(t, o, tt.status)
			if tt.status == 401 && o.reason != "TOKEN_EXPIRED" {
				t.Fatalf("reason %q, want TOKEN_EXPIRED", o.reason)
			}
		})
	}
}

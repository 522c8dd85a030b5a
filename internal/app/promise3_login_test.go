package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// TestPromise3_LoginRefreshAndTokenIssuingAnswer503 (promise 3): with the
// database down, login, refresh and token issuing answer 503 — a refusal the
// client can retry, not a hang and not a 401 that would send a user back to
// the login form — and once it returns they work again without a restart.
// The promise's 2 s is logged, not asserted.
func TestPromise3_LoginRefreshAndTokenIssuingAnswer503(t *testing.T) {
	pg := testenv.NewPGCluster(t)
	g := start(t, embeddedEnv(t, t.TempDir(),
		"DATABASE_URL", pg.DSN(),
		"AUTH_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"OIDC_BOOTSTRAP_ADMIN_USERNAME", "admin", "OIDC_BOOTSTRAP_ADMIN_PASSWORD", adminPass,
		"AUTH_RATE_LIMIT_ENABLED", "false",
	), true)
	loginBody := `{"email":"admin","password":"` + adminPass + `"}`

	code, body := g.rest("POST", "/api/v3/user/login", loginBody, nil)
	if code != 200 {
		t.Fatalf("login on a healthy database: %d %s", code, body)
	}
	var pair struct{ AccessToken, RefreshToken string }
	if err := json.Unmarshal([]byte(body), &pair); err != nil || pair.AccessToken == "" || pair.RefreshToken == "" {
		t.Fatalf("login answer %s: %v", body, err)
	}
	admin := map[string]string{"Authorization": "Bearer " + pair.AccessToken}
	issue := `{"user":"admin","ttl":"3600s"}`
	if code, body := g.rest("POST", "/v1/tokens", issue, admin); code != 200 {
		t.Fatalf("token issuing on a healthy database: %d %s", code, body)
	}

	pg.Stop()
	calls := []struct {
		name, path, body string
		headers          map[string]string
	}{
		{"login", "/api/v3/user/login", loginBody, nil},
		{"refresh", "/api/v3/user/refresh", `{"refreshToken":"` + pair.RefreshToken + `"}`, nil},
		{"token issuing", "/v1/tokens", issue, admin},
	}
	for _, c := range calls {
		t0 := time.Now()
		code, body := g.rest("POST", c.path, c.body, c.headers)
		took := time.Since(t0)
		t.Logf("%s with the database down: %d in %v (promise: 503 within 2s)", c.name, code, took.Round(time.Millisecond))
		if code != 503 {
			t.Fatalf("%s with the database down: %d %s, want 503", c.name, code, body)
		}
		if strings.Contains(body, adminPass) || strings.Contains(body, pair.RefreshToken) {
			t.Fatalf("%s: the answer echoes a secret: %s", c.name, body)
		}
	}

	pg.Start()
	deadline := time.Now().Add(time.Minute)
	for {
		code, body := g.rest("POST", "/api/v3/user/login", loginBody, nil)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login a minute after the database returned: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

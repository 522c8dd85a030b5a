package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzIssuerEndpoints feeds outside input to the embedded issuer's parsers:
// token and revocation forms, authorize queries, the interaction API and the
// users, groups and change-password JSON bodies (issue 9: every parser that
// takes outside input). Properties: no panic (a broken connection), never a
// 500, an error body is JSON, and a password the input carries is never
// echoed. One server per fuzzing process, shared by its inputs (a server per
// input ran ~0.4 inputs/s); inputs may add users and groups, which the
// properties do not depend on.
func FuzzIssuerEndpoints(f *testing.F) {
	f.Add(uint8(0), "grant_type=password&username=admin&password=Secret-Marker-9&client_id=controller", "")
	f.Add(uint8(1), "token=abc&token_type_hint=refresh_token", "")
	f.Add(uint8(2), "", "client_id=controller&response_type=code&redirect_uri=http%3A%2F%2Fx%2Fcb&code_challenge=a&code_challenge_method=plain")
	f.Add(uint8(3), `{"login":"admin","password":"Secret-Marker-9"}`, "uid-1")
	f.Add(uint8(4), `{"email":"a@x.io","password":"Secret-Marker-9","groups":["developer",7]}`, "")
	f.Add(uint8(5), `{"name":"Ops","mfaRequired":"yes"}`, "")
	f.Add(uint8(6), `{"currentPassword":"Secret-Marker-9","newPassword":{"x":1}}`, "")
	e := startEmbedded(f, "AUTH_RATE_LIMIT_ENABLED", "false")
	code, login := e.rest("POST", "/api/v3/user/login", `{"email":"admin","password":"`+adminPass+`"}`, nil)
	var pair struct{ AccessToken string }
	if code != 200 || json.Unmarshal([]byte(login), &pair) != nil || pair.AccessToken == "" {
		f.Fatalf("admin login: %d %s", code, login)
	}
	admin := map[string]string{"Authorization": "Bearer " + pair.AccessToken}
	f.Fuzz(func(t *testing.T, route uint8, body, extra string) {
		form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		var method, path string
		var headers map[string]string
		switch route % 7 {
		case 0:
			method, path, headers = "POST", "/oidc/token", form
		case 1:
			method, path, headers = "POST", "/oidc/revoke", form
		case 2:
			method, path, body = "GET", "/oidc/auth?"+extra, ""
		case 3:
			method, path = "POST", "/api/v3/user/interaction/"+pathSegment(extra)+"/login"
		case 4:
			method, path, headers = "POST", "/api/v3/users", admin
		case 5:
			method, path, headers = "POST", "/api/v3/groups", admin
		case 6:
			method, path, headers = "POST", "/api/v3/user/change-password", admin
		}
		req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if body != "" && headers["Content-Type"] == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (a handler panic closes the connection)", method, path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, resp.StatusCode, out)
		}
		if strings.Contains(string(out), "Secret-Marker-9") {
			t.Fatalf("%s %s: the answer echoes the password: %s", method, path, out)
		}
		if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(out) {
			t.Fatalf("%s %s: %d with a broken JSON body %q", method, path, resp.StatusCode, out)
		}
	})
}

// pathSegment keeps a fuzzed value usable as one path segment.
func pathSegment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '?' || r == '#' || r == '%' || r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return "x"
	}
	return s
}

package app_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// fixture is one Gatehouse trusting one test issuer, shared by subtests.
type fixture struct {
	iss *testenv.Issuer
	g   *gh
}

func newFixture(t *testing.T, kv ...string) *fixture {
	t.Helper()
	iss := testenv.NewIssuer(t)
	return &fixture{iss: iss, g: start(t, externalEnv(t, iss, kv...), true)}
}

// token mints a valid access token changed by edit.
func (f *fixture) token(edit func(c map[string]any)) string {
	c := f.iss.Claims()
	if edit != nil {
		edit(c)
	}
	return f.iss.Mint(c)
}

// withGroups mints a token whose groups claim is gs.
func (f *fixture) withGroups(gs ...string) string {
	return f.token(func(c map[string]any) { c["groups"] = gs })
}

func wantStatus(t *testing.T, o outcome, status int) {
	t.Helper()
	if o.status != status {
		t.Fatalf("status %d, want %d (reason %q, body %s)", o.status, status, o.reason, o.body)
	}
}

func wantReason(t *testing.T, o outcome, status int, reason string) {
	t.Helper()
	wantStatus(t, o, status)
	var body map[string]any
	if err := json.Unmarshal([]byte(o.body), &body); err != nil {
		t.Fatalf("deny body %q is not JSON: %v", o.body, err)
	}
	if body["reason"] != reason || o.reason != reason {
		t.Fatalf("reason %q / body %v, want %s", o.reason, body, reason)
	}
	if body["decisionId"] == "" || body["decisionId"] == nil {
		t.Fatalf("deny body without decisionId: %s", o.body)
	}
}

func TestTV01ValidBearerIsAllowed(t *testing.T) {
	f := newFixture(t)
	o := f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))})
	wantStatus(t, o, 200)
	if o.subject != "alice" || o.groups != "viewer" || o.upstream["x-gatehouse-identity-kind"] != "user" || len(o.upstream["x-gatehouse-decision-id"]) != 32 {
		t.Fatalf("identity headers %v", o.upstream)
	}
}

func TestTV02WrongAudienceIsRefused(t *testing.T) {
	f := newFixture(t)
	for _, aud := range []any{"https://graph.microsoft.com", "api://default", []string{"other", "another"}} {
		tok := f.token(func(c map[string]any) { c["aud"] = aud; c["groups"] = []string{"admin"} })
		wantReason(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)}), 401, "TOKEN_AUDIENCE_MISMATCH")
	}
	// An array holding the client id among others is accepted.
	tok := f.token(func(c map[string]any) {
		c["aud"] = []string{"other", f.iss.Audience()}
		c["groups"] = []string{"admin"}
	})
	wantStatus(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)}), 200)
}

func TestTV03RefreshTokenIsRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.token(func(c map[string]any) { c["token_use"] = "refresh"; c["groups"] = []string{"admin"} })
	wantReason(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tok)}), 401, "TOKEN_USE_INVALID")
}

func TestTV05TokenHygiene(t *testing.T) {
	f := newFixture(t)
	rsa := f.iss.Key("rsa-1")
	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"no exp", f.token(func(c map[string]any) { delete(c, "exp") }), "TOKEN_EXPIRY_MISSING"},
		{"expired", f.token(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "TOKEN_EXPIRED"},
		{"future nbf", f.token(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), "TOKEN_NOT_YET_VALID"},
		{"alg none", f.iss.Mint(f.iss.Claims(), testenv.WithAlg("none")), "TOKEN_ALGORITHM_NOT_ALLOWED"},
		{"HS256 signed with the RSA public key", f.iss.Mint(f.iss.Claims(), testenv.WithAlg("HS256"), testenv.WithSigningKey(testenv.PublicKeyPEM(rsa.Public))), "TOKEN_ALGORITHM_NOT_ALLOWED"},
		{"alg outside the key's allow-list", f.iss.Mint(f.iss.Claims(), testenv.WithHeaderAlg("ES256")), "TOKEN_ALGORITHM_NOT_ALLOWED"},
		{"lower-case alg", f.iss.Mint(f.iss.Claims(), testenv.WithHeaderAlg("rs256")), "TOKEN_ALGORITHM_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantReason(t, f.g.decide(req{method: "GET", path: "/api/v3/status/x", headers: bearer(tt.token)}), 401, tt.reason)
		})
	}
}

func TestTV06InvalidBearerGetsTheControllerBody(t *testing.T) {
	f := newFixture(t)
	o := f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(testenv.CorruptSignature(f.withGroups("admin")))})
	wantReason(t, o, 401, "TOKEN_SIGNATURE_INVALID")
	var body map[string]any
	_ = json.Unmarshal([]byte(o.body), &body)
	if body["error"] != "Unauthorized: No authentication information found" {
		t.Fatalf("body %s", o.body)
	}
	if o.client["www-authenticate"] != `Bearer realm="gatehouse", error="invalid_token"` || o.client["content-type"] != "application/json" {
		t.Fatalf("client headers %v", o.client)
	}
	if strings.Contains(o.body, "signature") {
		t.Fatalf("the refusal's detail leaked to the caller: %s", o.body)
	}
	// No credential at all: 401 with a plain challenge.
	o = f.g.decide(req{method: "GET", path: "/api/v3/microservices"})
	wantReason(t, o, 401, "NO_CREDENTIAL")
	if o.client["www-authenticate"] != `Bearer realm="gatehouse"` {
		t.Fatalf("challenge %q", o.client["www-authenticate"])
	}
}

func TestTV08AgentRoutesRefuseUserTokens(t *testing.T) {
	f := newFixture(t)
	o := f.g.decide(req{method: "GET", path: "/api/v3/agent/config", headers: bearer(f.withGroups("admin"))})
	wantStatus(t, o, 401)
	var body map[string]any
	_ = json.Unmarshal([]byte(o.body), &body)
	if body["name"] != "AgentAuthenticationError" || body["retryable"] != false || !strings.HasPrefix(body["code"].(string), "AGENT_") {
		t.Fatalf("agent body %s", o.body)
	}
	// No credential on an agent route: the agent envelope too.
	o = f.g.decide(req{method: "GET", path: "/api/v3/agent/config"})
	wantStatus(t, o, 401)
	if !strings.Contains(o.body, `"code":"AGENT_AUTH_HEADER_INVALID"`) {
		t.Fatalf("agent body %s", o.body)
	}
}

// hostileToken is a token the decision core must refuse, and the reason.
type hostileToken struct {
	name   string
	token  string
	reason string
}

func hostileTokens(t *testing.T, f *fixture) []hostileToken {
	attacker := testenv.NewIssuer(t) // same claims, another key
	good := f.withGroups("admin")
	return []hostileToken{
		{"bad signature", testenv.CorruptSignature(good), "TOKEN_SIGNATURE_INVALID"},
		{"tampered payload", testenv.ReplacePayload(good, map[string]any{"iss": f.iss.URL(), "aud": f.iss.Audience(), "sub": "root", "groups": []string{"admin"}, "exp": time.Now().Add(time.Hour).Unix()}), "TOKEN_SIGNATURE_INVALID"},
		{"wrong issuer", attacker.Mint(attacker.Claims()), "TOKEN_ISSUER_UNTRUSTED"},
		{"signed by another key claiming our kid", attacker.Mint(f.iss.Claims(), testenv.WithKID("rsa-1")), "TOKEN_SIGNATURE_INVALID"},
		{"unknown kid", attacker.Mint(f.iss.Claims(), testenv.WithKID("attacker-1")), "TOKEN_KEY_UNKNOWN"},
		{"jwk header with the attacker's key", attacker.Mint(f.iss.Claims(), testenv.WithKID("attacker-2"), testenv.WithHeader("jwk", testenv.PublicJWK(attacker.Key("rsa-1").Public, "attacker-2"))), "TOKEN_KEY_UNKNOWN"},
		{"jku header to the attacker's JWKS", attacker.Mint(f.iss.Claims(), testenv.WithKID("rsa-1"), testenv.WithHeader("jku", attacker.JWKSURL())), "TOKEN_SIGNATURE_INVALID"},
		{"JSON serialization", testenv.JSONSerialization(good), "TOKEN_MALFORMED"},
		{"not a JWT", "hello", "TOKEN_MALFORMED"},
		{"expired", f.token(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "TOKEN_EXPIRED"},
		{"wrong audience", f.token(func(c map[string]any) { c["aud"] = "api://default" }), "TOKEN_AUDIENCE_MISMATCH"},
	}
}

func TestHostileTokensAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, tt := range hostileTokens(t, f) {
		t.Run(tt.name, func(t *testing.T) {
			wantReason(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices", headers: bearer(tt.token)}), 401, tt.reason)
		})
	}
}

// TestRB20WebSocketTokensAreVerifiedLikeBearers: a token in a WebSocket
// upgrade's ?token= (RB-19) goes through the same verification as an
// Authorization header, before any RBAC check: every hostile token gets
// the same 401 and reason, and a valid one the same verdict.
func TestRB20WebSocketTokensAreVerifiedLikeBearers(t *testing.T) {
	f := newFixture(t)
	const logs = "/api/v3/microservices/3f2a9c1e/logs"
	ws := func(tok string) req {
		return req{method: "GET", path: logs + "?token=" + url.QueryEscape(tok),
			headers: map[string]string{"upgrade": "websocket", "connection": "Upgrade"}}
	}
	for _, tt := range hostileTokens(t, f) {
		t.Run(tt.name, func(t *testing.T) {
			wantReason(t, f.g.decide(ws(tt.token)), 401, tt.reason)
		})
	}
	t.Run("valid tokens get the bearer's verdict", func(t *testing.T) {
		for _, groups := range [][]string{{"admin"}, {"viewer"}, nil} {
			tok := f.withGroups(groups...)
			viaHeader := f.g.decide(req{method: "GET", path: logs, headers: map[string]string{"upgrade": "websocket", "connection": "Upgrade", "authorization": "Bearer " + tok}})
			viaQuery := f.g.decide(ws(tok))
			if viaQuery.status != viaHeader.status || viaQuery.reason != viaHeader.reason {
				t.Fatalf("groups %v: ?token= gave %d %s, the header %d %s", groups, viaQuery.status, viaQuery.reason, viaHeader.status, viaHeader.reason)
			}
		}
		wantStatus(t, f.g.decide(ws(f.withGroups("admin"))), 200)
	})
	t.Run("no token at all", func(t *testing.T) {
		wantReason(t, f.g.decide(req{method: "GET", path: logs, headers: map[string]string{"upgrade": "websocket", "connection": "Upgrade"}}), 401, "NO_CREDENTIAL")
	})
}

func TestIdentityMapping(t *testing.T) {
	f := newFixture(t)
	client := f.iss.Audience()
	tests := []struct {
		name          string
		edit          func(c map[string]any)
		subject       string
		groups        string
		mayCreateMsvc bool
	}{
		{"ID01 preferred_username first", func(c map[string]any) { c["username"] = "u"; c["email"] = "e@x.io" }, "alice", "", false},
		{"ID01 then username", func(c map[string]any) { c["preferred_username"] = ""; c["username"] = "bob"; c["email"] = "e@x.io" }, "bob", "", false},
		{"ID01 then email", func(c map[string]any) { delete(c, "preferred_username"); c["email"] = "e@x.io" }, "e@x.io", "", false},
		{"ID01 then sub", func(c map[string]any) { delete(c, "preferred_username") }, "user-1", "", false},
		{"ID02 roles lower-cased", func(c map[string]any) { c["roles"] = []string{"SRE"} }, "alice", "sre", true},
		{"ID02 client roles come first", func(c map[string]any) {
			c["resource_access"] = map[string]any{client: map[string]any{"roles": []string{"Viewer"}}}
			c["roles"] = []string{"admin"}
			c["groups"] = []string{"admin"}
		}, "alice", "viewer", false},
		{"ID02 groups when no roles", func(c map[string]any) { c["groups"] = []string{"Developer"} }, "alice", "developer", true},
		{"ID03 other clients ignored", func(c map[string]any) {
			c["resource_access"] = map[string]any{"other-client": map[string]any{"roles": []string{"admin"}}}
			c["groups"] = []string{"viewer"}
		}, "alice", "viewer", false},
		{"ID04 namespaced claim ignored", func(c map[string]any) { c["https://x.example/groups"] = []string{"admin"} }, "alice", "", false},
		{"ID04 non-array groups ignored", func(c map[string]any) { c["groups"] = "admin" }, "alice", "", false},
		{"ID05 full-path group kept", func(c map[string]any) { c["groups"] = []string{"/admin"} }, "alice", "/admin", false},
		{"ID02 ASCII-only lower-casing", func(c map[string]any) { c["groups"] = []string{"ÉQUIPE-ADMIN"} }, "alice", "Équipe-admin", false},
		{"ID08 role claim off unless configured", func(c map[string]any) { c["role"] = "administrator" }, "alice", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := f.token(tt.edit)
			o := f.g.decide(req{method: "GET", path: "/api/v3/user/profile", headers: bearer(tok)})
			wantStatus(t, o, 200)
			if o.subject != tt.subject || o.groups != tt.groups {
				t.Fatalf("subject %q groups %q, want %q %q", o.subject, o.groups, tt.subject, tt.groups)
			}
			o = f.g.decide(req{method: "POST", path: "/api/v3/microservices", headers: bearer(tok)})
			if (o.status == 200) != tt.mayCreateMsvc {
				t.Fatalf("create microservice status %d, want allowed=%v", o.status, tt.mayCreateMsvc)
			}
		})
	}
}

func TestID06ID07HoraoRoleClaim(t *testing.T) {
	const uri = "https://claims.idp.example.com/role"
	f := newFixture(t, "OAUTH_ROLE_URI", uri)
	tests := []struct {
		name  string
		value any
		admin bool
	}{
		{"array with the role", []string{"user", "administrator"}, true},
		{"string equal to the role", "administrator", true},
		{"substring does not count", "not-administrator", false},
		{"array element substring does not count", []string{"administrators"}, false},
		{"absent", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := f.token(func(c map[string]any) {
				if tt.value != nil {
					c[uri] = tt.value
				}
			})
			o := f.g.decide(req{method: "DELETE", path: "/api/v3/iofog/abc", headers: bearer(tok)})
			if (o.status == 200) != tt.admin {
				t.Fatalf("status %d, want admin=%v", o.status, tt.admin)
			}
			if tt.admin && o.groups != "admin" {
				t.Fatalf("groups %q", o.groups)
			}
		})
	}
	// A custom ADMINISTRATOR_ROLE.
	f2 := newFixture(t, "OAUTH_ROLE_URI", "role", "ADMINISTRATOR_ROLE", "ops-admin")
	tok := f2.token(func(c map[string]any) { c["role"] = []string{"ops-admin"} })
	wantStatus(t, f2.g.decide(req{method: "DELETE", path: "/api/v3/iofog/abc", headers: bearer(tok)}), 200)
}

func TestRBACDecisions(t *testing.T) {
	f := newFixture(t)
	ws := map[string]string{"upgrade": "websocket", "connection": "Upgrade"}
	tests := []struct {
		name   string
		groups []string
		method string
		path   string
		extra  map[string]string
		status int
		reason string
	}{
		{"RB01 admin needs no binding", []string{"admin"}, "DELETE", "/api/v3/iofog/abc", nil, 200, ""},
		{"RB01 admin on auth admin routes", []string{"admin"}, "POST", "/api/v3/auth/jwks/rotate", nil, 200, ""},
		{"RB02 viewer may list applications", []string{"viewer"}, "GET", "/api/v3/application", nil, 200, ""},
		{"RB02 viewer may not create applications", []string{"viewer"}, "POST", "/api/v3/application", nil, 403, "PERMISSION_DENIED"},
		{"RB04 developer creates microservices", []string{"developer"}, "POST", "/api/v3/microservices", nil, 200, ""},
		{"RB04 developer may not patch fogs", []string{"developer"}, "PATCH", "/api/v3/iofog/abc", nil, 403, "PERMISSION_DENIED"},
		{"RB05 sre may not create roles", []string{"sre"}, "POST", "/api/v3/roles", nil, 403, "PERMISSION_DENIED"},
		{"RB05 sre may not create role bindings", []string{"sre"}, "POST", "/api/v3/rolebindings", nil, 403, "PERMISSION_DENIED"},
		{"RB05 sre may read roles", []string{"sre"}, "GET", "/api/v3/roles", nil, 200, ""},
		{"RB05 sre patches tunnels", []string{"sre"}, "PATCH", "/api/v3/iofog/abc/tunnel", nil, 200, ""},
		{"RB05 sre deletes events", []string{"sre"}, "DELETE", "/api/v3/events", nil, 200, ""},
		{"RB06 no role", nil, "GET", "/api/v3/microservices", nil, 403, "PERMISSION_DENIED"},
		{"RB11 query and trailing slash ignored", []string{"viewer"}, "GET", "/api/v3/microservices/?x=1", nil, 200, ""},
		{"RB12 HEAD is get", []string{"viewer"}, "HEAD", "/api/v3/capabilities/nats", nil, 200, ""},
		{"RB12 PUT is update", []string{"developer"}, "PUT", "/api/v3/application/app1", nil, 200, ""},
		{"RB12 PUT is update, viewer denied", []string{"viewer"}, "PUT", "/api/v3/application/app1", nil, 403, "PERMISSION_DENIED"},
		{"RB12 DELETE is delete", []string{"viewer"}, "DELETE", "/api/v3/microservices/m1", nil, 403, "PERMISSION_DENIED"},
		{"RB12 POST sub-action is patch", []string{"developer"}, "POST", "/api/v3/iofog/abc/reboot", nil, 403, "PERMISSION_DENIED"},
		{"RB12 WS is get: developer may exec", []string{"developer"}, "GET", "/api/v3/microservices/exec/m1", ws, 200, ""},
		{"RB12 WS is get: viewer may not exec", []string{"viewer"}, "GET", "/api/v3/microservices/exec/m1", ws, 403, "PERMISSION_DENIED"},
		{"most specific route: system microservices", []string{"developer"}, "GET", "/api/v3/microservices/system", nil, 200, ""},
		{"RB13 route in no row is denied even for admin", []string{"admin"}, "GET", "/api/v3/not-a-route", nil, 403, "ROUTE_NOT_IN_CATALOG"},
		{"RB13 dot segments match nothing", []string{"admin"}, "GET", "/api/v3/microservices/../users", nil, 403, "ROUTE_NOT_IN_CATALOG"},
		{"authenticated route needs no permission", nil, "GET", "/api/v3/user/profile", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bearer(f.withGroups(tt.groups...))
			for k, v := range tt.extra {
				h[k] = v
			}
			o := f.g.decide(req{method: tt.method, path: tt.path, headers: h})
			if tt.status == 200 {
				wantStatus(t, o, 200)
				return
			}
			wantReason(t, o, tt.status, tt.reason)
			if tt.status == 403 && !strings.Contains(o.body, "Authorization denied: You do not have permission to perform this action. Please contact your administrator.") {
				t.Fatalf("403 body %s", o.body)
			}
		})
	}
	t.Run("RB13 route in no row, anonymous", func(t *testing.T) {
		wantReason(t, f.g.decide(req{method: "GET", path: "/api/v3/not-a-route"}), 401, "NO_CREDENTIAL")
	})
}

func TestRB16PublicRoutes(t *testing.T) {
	f := newFixture(t)
	bad := bearer(testenv.CorruptSignature(f.withGroups("admin")))
	routes := []struct{ method, path string }{
		{"POST", "/api/v3/user/login"}, {"POST", "/api/v3/user/refresh"},
		{"GET", "/api/v3/user/oauth/authorize"}, {"GET", "/api/v3/user/oauth/callback"},
		{"GET", "/api/v3/user/interaction/uid1"}, {"POST", "/api/v3/user/interaction/uid1/login"},
		{"GET", "/api/v3/status"}, {"GET", "/api/v3/architectures/"}, {"GET", "/api/v3/live"},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			o := f.g.decide(req{method: r.method, path: r.path})
			wantStatus(t, o, 200)
			if o.upstream["x-gatehouse-identity-kind"] != "anonymous" {
				t.Fatalf("kind %q", o.upstream["x-gatehouse-identity-kind"])
			}
			// An invalid credential on a public route is ignored, not refused.
			wantStatus(t, f.g.decide(req{method: r.method, path: r.path, headers: bad}), 200)
		})
	}
}

func TestSpoofedIdentityHeadersAreStripped(t *testing.T) {
	f := newFixture(t)
	h := bearer(f.withGroups("viewer"))
	h["x-gatehouse-subject"] = "root"
	h["x-gatehouse-groups"] = "admin"
	h["x-gatehouse-identity-kind"] = "peer"
	h["x-gatehouse-decision-id"] = "forged"
	resp := f.g.check(req{method: "GET", path: "/api/v3/microservices", headers: h})
	ok := resp.GetOkResponse()
	if ok == nil {
		t.Fatalf("denied: %v", resp)
	}
	set := map[string]string{}
	for _, hv := range ok.GetHeaders() {
		set[hv.GetHeader().GetKey()] = hv.GetHeader().GetValue()
		if hv.GetAppendAction().String() != "OVERWRITE_IF_EXISTS_OR_ADD" {
			t.Fatalf("%s is appended, so a client copy would survive", hv.GetHeader().GetKey())
		}
	}
	if set["x-gatehouse-subject"] != "alice" || set["x-gatehouse-groups"] != "viewer" || set["x-gatehouse-identity-kind"] != "user" || set["x-gatehouse-decision-id"] == "forged" {
		t.Fatalf("identity headers %v", set)
	}
	for _, name := range []string{"x-gatehouse-subject", "x-gatehouse-groups", "x-gatehouse-identity-kind", "x-gatehouse-decision-id"} {
		_, isSet := set[name]
		removed := false
		for _, r := range ok.GetHeadersToRemove() {
			removed = removed || r == name
		}
		if isSet == removed {
			t.Fatalf("%s: set=%v removed=%v; exactly one must hold (Envoy removes after setting)", name, isSet, removed)
		}
	}
}

func TestDoorsAgree(t *testing.T) {
	f := newFixture(t)
	cases := []req{
		{method: "GET", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))},
		{method: "POST", path: "/api/v3/microservices", headers: bearer(f.withGroups("viewer"))},
		{method: "GET", path: "/api/v3/microservices"},
		{method: "GET", path: "/api/v3/microservices", headers: bearer(f.token(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))},
		{method: "GET", path: "/api/v3/microservices", headers: bearer(f.token(func(c map[string]any) { c["aud"] = "x" }))},
		{method: "GET", path: "/api/v3/agent/config", headers: bearer(f.withGroups("admin"))},
		{method: "GET", path: "/api/v3/status", headers: map[string]string{"authorization": "Token abc"}},
		{method: "GET", path: "/api/v3/microservices", headers: map[string]string{"authorization": "Basic dTpw"}},
		{method: "GET", path: "/api/v3/microservices", headers: map[string]string{"authorization": "Bearer " + f.withGroups("admin"), "x-gatehouse-subject": "root"}},
	}
	for i, c := range cases {
		envoy := f.g.decide(c)
		v1 := f.g.checkV1(c)
		body, _ := json.Marshal(map[string]any{"method": c.method, "path": c.path, "headers": c.headers})
		code, _, out := f.g.httpDo("POST", "/v1/check", string(body))
		if code != 200 {
			t.Fatalf("case %d: REST %d %s", i, code, out)
		}
		var rest struct {
			Allowed    bool   `json:"allowed"`
			HTTPStatus int    `json:"httpStatus"`
			Reason     string `json:"reason"`
			Subject    string `json:"subject"`
		}
		if err := json.Unmarshal([]byte(out), &rest); err != nil {
			t.Fatal(err)
		}
		if envoy.allowed != v1.allowed || envoy.status != v1.status || envoy.subject != v1.subject || envoy.groups != v1.groups ||
			(!envoy.allowed && (envoy.reason != v1.reason || envoy.client["www-authenticate"] != v1.client["www-authenticate"])) {
			t.Errorf("case %d: ext_authz %+v\ngatehouse.v1 %+v", i, envoy, v1)
		}
		if rest.Allowed != v1.allowed || rest.HTTPStatus != v1.status || (!rest.Allowed && rest.Reason != v1.reason) {
			t.Errorf("case %d: REST %s disagrees with gRPC %+v", i, out, v1)
		}
	}
	// A malformed call is the only gRPC error.
	code, _, out := f.g.httpDo("POST", "/v1/check", `{"path":"x"}`)
	if code != 400 || !strings.Contains(out, `"name":"ValidationError"`) {
		t.Fatalf("malformed REST check: %d %s", code, out)
	}
}

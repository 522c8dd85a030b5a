package policies

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

func newDefault(t *testing.T) *Engine {
	t.Helper()
	e, err := New(context.Background(), Options{DecisionCacheSize: 10000, Config: map[string]any{"client_id": "gatehouse", "role_claim": "", "administrator_role": "administrator"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRouteResolution(t *testing.T) {
	e := newDefault(t)
	tests := []struct {
		name, method, path string
		ws                 bool
		resource, verb     string
		marker, instance   string
		template           string
	}{
		{"RB11 trailing slash", "GET", "/api/v3/microservices/", false, "microservices", "list", "", "", "/api/v3/microservices"},
		{"RB11 query ignored", "GET", "/api/v3/microservices?x=1", false, "microservices", "list", "", "", "/api/v3/microservices"},
		{"fragment ignored", "GET", "/api/v3/microservices#frag", false, "microservices", "list", "", "", "/api/v3/microservices"},
		{"RB12 GET item is get", "GET", "/api/v3/microservices/m1", false, "microservices", "get", "", "m1", "/api/v3/microservices/:uuid"},
		{"RB12 POST is create", "POST", "/api/v3/microservices", false, "microservices", "create", "", "", "/api/v3/microservices"},
		{"RB12 PUT is update", "PUT", "/api/v3/application/a1", false, "applications", "update", "", "a1", "/api/v3/application/:name"},
		{"RB12 POST sub-action is patch", "POST", "/api/v3/iofog/f1/reboot", false, "fogs", "patch", "", "f1", "/api/v3/iofog/:uuid/reboot"},
		{"RB12 DELETE is delete", "DELETE", "/api/v3/secrets/s1", false, "secrets", "delete", "", "s1", "/api/v3/secrets/:name"},
		{"RB12 WS is get", "GET", "/api/v3/microservices/exec/m1", true, "execSessions", "get", "", "m1", "/api/v3/microservices/exec/:microserviceUuid"},
		{"WS falls back to GET", "GET", "/api/v3/microservices/m1", true, "microservices", "get", "", "m1", "/api/v3/microservices/:uuid"},
		{"WS route needs the upgrade", "GET", "/api/v3/microservices/m1/logs", false, "", "", "", "", ""},
		{"HEAD route", "HEAD", "/api/v3/capabilities/nats", false, "capabilities", "get", "", "", "/api/v3/capabilities/nats"},
		{"HEAD falls back to GET", "HEAD", "/api/v3/microservices/m1", false, "microservices", "get", "", "m1", "/api/v3/microservices/:uuid"},
		{"literal beats parameter", "GET", "/api/v3/microservices/system", false, "systemMicroservices", "list", "", "", "/api/v3/microservices/system"},
		{"literal beats parameter deeper", "PATCH", "/api/v3/microservices/system/s1", false, "systemMicroservices", "patch", "", "s1", "/api/v3/microservices/system/:uuid"},
		{"backtrack to parameter when the literal lacks the method", "DELETE", "/api/v3/microservices/system", false, "microservices", "delete", "", "system", "/api/v3/microservices/:uuid"},
		{"yaml sub-path", "PATCH", "/api/v3/microservices/yaml/m1", false, "microservices", "patch", "", "m1", "/api/v3/microservices/yaml/:uuid"},
		{"route-level name parameter", "POST", "/api/v3/microservices/system/s1/exec", false, "systemExecSessions", "patch", "", "s1", "/api/v3/microservices/system/:uuid/exec"},
		{"name is percent-decoded", "GET", "/api/v3/secrets/a%20b", false, "secrets", "get", "", "a b", "/api/v3/secrets/:name"},
		{"tunnel under fogs", "PATCH", "/api/v3/iofog/f1/tunnel", false, "tunnels", "patch", "", "f1", "/api/v3/iofog/:id/tunnel"},
		{"public marker", "POST", "/api/v3/user/login", false, "", "", "public", "", "/api/v3/user/login"},
		{"RB16 architectures with slash", "GET", "/api/v3/architectures/", false, "", "", "public", "", "/api/v3/architectures"},
		{"authenticated marker", "GET", "/api/v3/user/profile", false, "", "", "authenticated", "", "/api/v3/user/profile"},
		{"RB13 no row", "GET", "/api/v3/not-a-route", false, "", "", "", "", ""},
		{"unknown method", "OPTIONS", "/api/v3/microservices", false, "", "", "", "", ""},
		{"dot segment", "GET", "/api/v3/microservices/../users", false, "", "", "", "", ""},
		{"single dot", "GET", "/api/v3/./microservices", false, "", "", "", "", ""},
		{"encoded dot segment", "GET", "/api/v3/microservices/%2e%2E", false, "", "", "", "", ""},
		{"encoded slash", "GET", "/api/v3/microservices/a%2Fb", false, "", "", "", "", ""},
		{"empty segment", "GET", "/api/v3//microservices", false, "", "", "", "", ""},
		{"double trailing slash", "GET", "/api/v3/microservices//", false, "", "", "", "", ""},
		{"relative path", "GET", "api/v3/microservices", false, "", "", "", "", ""},
		{"root", "GET", "/", false, "", "", "", "", ""},
		{"case-sensitive", "GET", "/API/v3/microservices", false, "", "", "", "", ""},
		{"hostile depth", "GET", strings.Repeat("/a", 500), false, "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := e.Route(tt.method, tt.path, tt.ws)
			if m.Resource != tt.resource || m.Verb != tt.verb || m.Marker != tt.marker || m.Name != tt.instance || m.Template != tt.template {
				t.Fatalf("got %+v", m)
			}
		})
	}
	t.Run("agent routes accept agent tokens only", func(t *testing.T) {
		m := e.Route("GET", "/api/v3/agent/config", false)
		if len(m.Credentials) != 1 || m.Credentials[0] != gatehouse.KindAgent {
			t.Fatalf("got %+v", m)
		}
		if m := e.Route("GET", "/api/v3/microservices", false); len(m.Credentials) != 0 {
			t.Fatalf("got %+v", m)
		}
	})
}

func TestCatalogValidation(t *testing.T) {
	tests := []struct {
		name, catalog, want string
	}{
		{"unknown method", `{"resources":{"a":{"routes":[{"path":"/a","methods":{"FETCH":"get"}}]}}}`, "unknown method"},
		{"empty verb", `{"resources":{"a":{"routes":[{"path":"/a","methods":{"GET":""}}]}}}`, "empty verb"},
		{"duplicate route", `{"resources":{"a":{"routes":[{"path":"/a","methods":{"GET":"list"}}]},"b":{"routes":[{"path":"/a/","methods":{"GET":"get"}}]}}}`, "already"},
		{"relative path", `{"resources":{"a":{"routes":[{"path":"a","methods":{"GET":"list"}}]}}}`, "must start with /"},
		{"dot segment", `{"resources":{"a":{"routes":[{"path":"/a/../b","methods":{"GET":"list"}}]}}}`, "dot segment"},
		{"unknown field", `{"resources":{"a":{"routs":[]}}}`, "unknown field"},
		{"unknown kind", `{"resources":{"a":{"credentials":["robot"],"routes":[]}}}`, "unknown credential kind"},
		{"name parameter not in path", `{"resources":{"a":{"routes":[{"path":"/a/:id","methods":{"GET":"get"},"nameParam":"uuid"}]}}}`, "not a parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := policyDir(t)
			writeFile(t, filepath.Join(dir, "gatehouse", "catalog", "data.json"), tt.catalog)
			os.Remove(filepath.Join(dir, "gatehouse", "catalog", "data.yaml"))
			_, err := New(context.Background(), Options{Dir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestDecodeResult(t *testing.T) {
	bad := []struct{ name, rego string }{
		{"undefined", `decision := 1 if false`},
		{"not an object", `decision := "allow"`},
		{"allow not a boolean", `decision := {"allow": "yes", "status": 200, "reason": "X"}`},
		{"status not a number", `decision := {"allow": true, "status": "200", "reason": "X"}`},
		{"status out of range", `decision := {"allow": false, "status": 99, "reason": "X"}`},
		{"status fractional", `decision := {"allow": false, "status": 403.5, "reason": "X"}`},
		{"allow with a deny status", `decision := {"allow": true, "status": 403, "reason": "X"}`},
		{"deny with an allow status", `decision := {"allow": false, "status": 200, "reason": "X"}`},
		{"missing reason", `decision := {"allow": false, "status": 403}`},
		{"empty reason", `decision := {"allow": false, "status": 403, "reason": ""}`},
		{"missing status", `decision := {"allow": false, "reason": "X"}`},
		{"missing allow", `decision := {"status": 403, "reason": "X"}`},
		{"unknown field", `decision := {"allow": false, "status": 403, "reason": "X", "extra": 1}`},
		{"header value not a string", `decision := {"allow": true, "status": 200, "reason": "X", "headers": {"x-a": 1}}`},
		{"header name invalid", `decision := {"allow": true, "status": 200, "reason": "X", "headers": {"X-A\n": "v"}}`},
		{"groups not strings", `decision := {"allow": true, "status": 200, "reason": "X", "groups": [1]}`},
		{"subject not a string", `decision := {"allow": true, "status": 200, "reason": "X", "subject": 1}`},
		{"body a number", `decision := {"allow": false, "status": 403, "reason": "X", "body": 1}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			e := engineWith(t, tt.rego)
			_, err := e.Evaluate(context.Background(), &gatehouse.PolicyInput{})
			if !errors.Is(err, ErrResult) {
				t.Fatalf("error %v, want ErrResult", err)
			}
		})
	}
	t.Run("a complete decision", func(t *testing.T) {
		e := engineWith(t, `decision := {"allow": false, "status": 418, "reason": "TEAPOT", "headers": {"x-b": "2", "x-a": "1"},
			"body": {"error": "short and stout"}, "subject": "s", "groups": ["g1", "g2"]}`)
		r, err := e.Evaluate(context.Background(), &gatehouse.PolicyInput{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Allow || r.Status != 418 || r.Reason != "TEAPOT" || r.Subject != "s" || strings.Join(r.Groups, ",") != "g1,g2" ||
			len(r.Headers) != 2 || r.Headers[0] != (gatehouse.Header{Name: "x-a", Value: "1"}) || string(r.Body) != `{"error":"short and stout"}` {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("a conflict is an error", func(t *testing.T) {
		e := engineWith(t, "decision := {\"allow\": false, \"status\": 403, \"reason\": \"A\"} if input.request.method == \"GET\"\n"+
			"decision := {\"allow\": false, \"status\": 403, \"reason\": \"B\"} if input.request.path == \"/\"")
		if _, err := e.Evaluate(context.Background(), &gatehouse.PolicyInput{Request: &gatehouse.Request{Method: "GET", Path: "/"}}); err == nil {
			t.Fatal("conflicting decisions evaluated")
		}
	})
}

func TestPolicyWithoutDecisionIsRefused(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "authz.rego"), "package gatehouse.authz\n\nallow := true\n")
	if _, err := New(context.Background(), Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), DecisionQuery) {
		t.Fatalf("error %v", err)
	}
	writeFile(t, filepath.Join(dir, "authz.rego"), "package gatehouse.authz\n\ndecision := {\n")
	if _, err := New(context.Background(), Options{Dir: dir}); err == nil {
		t.Fatal("a syntax error loaded")
	}
}

func TestEvalTimeoutIsADeadline(t *testing.T) {
	dir := t.TempDir()
	// A deliberately expensive rule: 10^8 iterations.
	writeFile(t, filepath.Join(dir, "authz.rego"), `package gatehouse.authz

n := count([x | some i in numbers.range(1, 10000); some j in numbers.range(1, 10000); x := i * j])

decision := {"allow": false, "status": 403, "reason": sprintf("%d", [n])}
`)
	e, err := New(context.Background(), Options{Dir: dir, EvalTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Evaluate(context.Background(), &gatehouse.PolicyInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a deadline", err)
	}
}

func TestBrokenPolicyDirKeepsTheLastGoodPolicy(t *testing.T) {
	dir := policyDir(t)
	var reloads, failures atomic.Int32
	e, err := New(context.Background(), Options{
		Dir: dir, PollInterval: 10 * time.Millisecond,
		OnReload: func(ok bool, _ error) {
			reloads.Add(1)
			if !ok {
				failures.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Watch(ctx)

	admin := &gatehouse.PolicyInput{
		Request:  &gatehouse.Request{Method: "GET", Path: "/api/v3/microservices"},
		Identity: &gatehouse.Identity{Kind: gatehouse.KindToken, Subject: "svc", Groups: []string{"admin"}},
		Route:    e.Route("GET", "/api/v3/microservices", false),
	}
	wantAllow := func(want bool) {
		t.Helper()
		r, err := e.Evaluate(context.Background(), admin)
		if err != nil || r.Allow != want {
			t.Fatalf("allow %v err %v, want allow %v", r.Allow, err, want)
		}
	}
	wantAllow(true)

	writeFile(t, filepath.Join(dir, "authz.rego"), "package gatehouse.authz\n\ndecision := {{{\n")
	waitFor(t, func() bool { return failures.Load() == 1 })
	wantAllow(true) // the old policy still serves
	if e.Route("GET", "/api/v3/microservices", false).Resource != "microservices" {
		t.Fatal("the old catalog was dropped")
	}

	writeFile(t, filepath.Join(dir, "authz.rego"), `package gatehouse.authz

decision := {"allow": false, "status": 403, "reason": "LOCKDOWN"}
`)
	waitFor(t, func() bool { return reloads.Load() == 2 })
	r, err := e.Evaluate(context.Background(), admin)
	if err != nil || r.Allow || r.Reason != "LOCKDOWN" {
		t.Fatalf("after a good reload: %+v %v", r, err)
	}
	if failures.Load() != 1 {
		t.Fatalf("failures %d: a rejected policy must be reported once", failures.Load())
	}
}

func TestPushedDataSurvivesReload(t *testing.T) {
	dir := policyDir(t)
	e, err := New(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := &gatehouse.PolicyInput{
		Request:  &gatehouse.Request{Method: "GET", Path: "/api/v3/microservices/abc"},
		Identity: &gatehouse.Identity{Kind: gatehouse.KindToken, Subject: "carol"},
		Route:    e.Route("GET", "/api/v3/microservices/abc", false),
	}
	allowed := func() bool {
		t.Helper()
		r, err := e.Evaluate(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return r.Allow
	}
	if allowed() {
		t.Fatal("allowed before any binding")
	}
	if err := e.SetData(ctx, "gatehouse/roles/custom", map[string]any{
		"abc-reader": map[string]any{"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"microservices"}, "verbs": []any{"get"}, "resourceNames": []any{"abc"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetData(ctx, "gatehouse/bindings", map[string]any{
		"carol": map[string]any{"subjects": []any{map[string]any{"kind": "User", "name": "carol"}}, "roleRef": map[string]any{"kind": "Role", "name": "abc-reader"}},
	}); err != nil {
		t.Fatal(err)
	}
	if !allowed() {
		t.Fatal("RB09: binding to a resourceNames role not honoured")
	}
	in.Route = e.Route("GET", "/api/v3/microservices/def", false)
	if allowed() {
		t.Fatal("RB09: another instance allowed")
	}
	in.Route = e.Route("GET", "/api/v3/microservices/abc", false)
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !allowed() {
		t.Fatal("pushed data lost on reload")
	}
	if err := e.SetData(ctx, "/bad", 1); err == nil {
		t.Fatal("absolute path accepted")
	}
}

// TestCodenameCatalog proves the Django codename model end to end on a small
// AURA-style catalog: routes resolve from the data, the identity's
// permission codenames decide.
func TestCodenameCatalog(t *testing.T) {
	dir := policyDir(t)
	b, err := os.ReadFile(filepath.Join("testdata", "aura", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "gatehouse", "catalog", "data.yaml"), string(b))
	e, err := New(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Codenames(), ","); got != "add_episode,add_show,change_show,delete_episode,delete_show,view_episode,view_show" {
		t.Fatalf("codenames %s", got)
	}
	tests := []struct {
		method, path string
		perms        []string
		kind         gatehouse.IdentityKind
		status       int
		reason       string
	}{
		{"GET", "/api/v1/shows", []string{"view_show"}, gatehouse.KindToken, 200, "PERMITTED"},
		{"GET", "/api/v1/shows/7", []string{"view_show"}, gatehouse.KindBasic, 200, "PERMITTED"},
		{"POST", "/api/v1/shows", []string{"view_show"}, gatehouse.KindToken, 403, "PERMISSION_DENIED"},
		{"POST", "/api/v1/shows", []string{"add_show"}, gatehouse.KindToken, 200, "PERMITTED"},
		{"PUT", "/api/v1/shows/7", []string{"change_show"}, gatehouse.KindToken, 200, "PERMITTED"},
		{"DELETE", "/api/v1/shows/7/episodes/3", []string{"delete_show"}, gatehouse.KindToken, 403, "PERMISSION_DENIED"},
		{"DELETE", "/api/v1/shows/7/episodes/3", []string{"delete_episode"}, gatehouse.KindToken, 200, "PERMITTED"},
		{"GET", "/api/v1/program", nil, gatehouse.KindAnonymous, 200, "PUBLIC_ROUTE"},
		{"GET", "/api/v1/users/me", nil, gatehouse.KindToken, 200, "AUTHENTICATED"},
		{"GET", "/api/v1/users/me", nil, gatehouse.KindAnonymous, 401, "NO_CREDENTIAL"},
		{"GET", "/api/v3/microservices", []string{"view_show"}, gatehouse.KindToken, 403, "ROUTE_NOT_IN_CATALOG"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+strings.Join(tt.perms, ","), func(t *testing.T) {
			in := &gatehouse.PolicyInput{
				Request:  &gatehouse.Request{Method: tt.method, Path: tt.path},
				Identity: &gatehouse.Identity{Kind: tt.kind, Subject: "svc", Permissions: tt.perms},
				Route:    e.Route(tt.method, tt.path, false),
			}
			r, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.status || string(r.Reason) != tt.reason {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Reason, tt.status, tt.reason)
			}
		})
	}
}

// policyDir copies the default policy (no tests) into a temporary POLICY_DIR.
func policyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(Default, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.rego") {
			return err
		}
		b, err := fs.ReadFile(Default, path)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dir, path), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// engineWith loads a policy made of one authz module.
func engineWith(t *testing.T, rules string) *Engine {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "authz.rego"), "package gatehouse.authz\n\n"+rules+"\n")
	e, err := New(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write beside and rename, as editors and ConfigMap updates do, so a
	// poll never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s (a bounded loop, not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached in 10 s")
}

// FuzzRoute: resolution never panics, and a match always has a template
// with as many segments as the normalised path, and no dot segment.
func FuzzRoute(f *testing.F) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"/api/v3/microservices/", "/api/v3/microservices/system/x/exec", "/api/v3/../v3/status", "/api/v3/a%2e%2e", "//", "/api/v3/iofog/x/tunnel?y#z"} {
		f.Add("GET", s, false)
	}
	f.Fuzz(func(t *testing.T, method, path string, ws bool) {
		m := e.Route(method, path, ws)
		if !m.Found() {
			return
		}
		p := strings.TrimSuffix(strings.SplitN(strings.SplitN(path, "?", 2)[0], "#", 2)[0], "/")
		if strings.Count(p, "/") != strings.Count(m.Template, "/") {
			t.Fatalf("%s %q matched %s", method, path, m.Template)
		}
		for _, seg := range strings.Split(p, "/")[1:] {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("%q matched with segment %q", path, seg)
			}
		}
		if (m.Marker == "") == (m.Resource == "") {
			t.Fatalf("%q: %+v has both or neither of marker and resource", path, m)
		}
	})
}

func TestDecisionCache(t *testing.T) {
	ctx := context.Background()
	token := func(groups ...any) *gatehouse.Identity {
		id := &gatehouse.Identity{Kind: gatehouse.KindUser, Issuer: "https://idp", Claims: map[string]any{
			"sub": "u1", "preferred_username": "alice", "groups": groups, "jti": time.Now().String(),
		}}
		id.ComputeDigest()
		return id
	}
	input := func(e *Engine, id *gatehouse.Identity, method, path string) *gatehouse.PolicyInput {
		return &gatehouse.PolicyInput{Request: &gatehouse.Request{Method: method, Path: path}, Identity: id, Route: e.Route(method, path, false)}
	}
	t.Run("the default policy's decisions are cached per identity and route", func(t *testing.T) {
		e := newDefault(t)
		want := []struct {
			id           *gatehouse.Identity
			method, path string
			allow        bool
			hits         uint64
		}{
			{token("viewer"), "GET", "/api/v3/application", true, 0},
			{token("viewer"), "GET", "/api/v3/application", true, 1}, // another token, same claims
			{token("viewer"), "POST", "/api/v3/application", false, 1},
			{token("developer"), "POST", "/api/v3/application", true, 1},
			{token("viewer"), "POST", "/api/v3/application", false, 2},
			{token("viewer"), "GET", "/api/v3/application/a1", true, 2},
			{token("viewer"), "GET", "/api/v3/application/a2", true, 2}, // the instance is part of the key
			{nil, "GET", "/api/v3/application/a2", false, 2},
			{nil, "GET", "/api/v3/application/a2", false, 3},
		}
		for i, w := range want {
			r, err := e.Evaluate(ctx, input(e, w.id, w.method, w.path))
			if err != nil || r.Allow != w.allow {
				t.Fatalf("step %d: %+v %v", i, r, err)
			}
			if hits, _, _ := e.CacheStats(); hits != w.hits {
				t.Fatalf("step %d: hits %d, want %d", i, hits, w.hits)
			}
		}
	})
	t.Run("new data starts a fresh cache", func(t *testing.T) {
		e := newDefault(t)
		carol := &gatehouse.Identity{Kind: gatehouse.KindToken, Subject: "carol"}
		in := input(e, carol, "GET", "/api/v3/application")
		if r, _ := e.Evaluate(ctx, in); r.Allow {
			t.Fatal("allowed without a binding")
		}
		if err := e.SetData(ctx, "gatehouse/bindings", map[string]any{"b": map[string]any{
			"subjects": []any{map[string]any{"kind": "User", "name": "carol"}}, "roleRef": map[string]any{"kind": "Role", "name": "viewer"},
		}}); err != nil {
			t.Fatal(err)
		}
		if r, _ := e.Evaluate(ctx, in); !r.Allow {
			t.Fatal("a stale cached deny outlived the new binding")
		}
	})
	t.Run("a policy that does not declare it is never cached", func(t *testing.T) {
		e := engineWith(t, `decision := {"allow": true, "status": 200, "reason": "OK"} if input.request.headers["x-pass"] == "1"
else := {"allow": false, "status": 403, "reason": "NO"}`)
		id := token("viewer")
		for _, h := range []string{"1", "0", "1"} {
			in := &gatehouse.PolicyInput{Request: &gatehouse.Request{Method: "GET", Path: "/", Headers: map[string]string{"x-pass": h}}, Identity: id}
			r, err := e.Evaluate(ctx, in)
			if err != nil || r.Allow != (h == "1") {
				t.Fatalf("x-pass %s: %+v %v", h, r, err)
			}
		}
		if hits, misses, size := e.CacheStats(); hits+misses+uint64(size) != 0 {
			t.Fatalf("cache used: %d %d %d", hits, misses, size)
		}
	})
	t.Run("a malformed declaration is refused", func(t *testing.T) {
		dir := policyDir(t)
		writeFile(t, filepath.Join(dir, "gatehouse", "decision_cache", "data.yaml"), "enabled: yes please\n")
		if _, err := New(ctx, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "decision_cache") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("disabled by size", func(t *testing.T) {
		e, err := New(ctx, Options{DecisionCacheSize: 0})
		if err != nil {
			t.Fatal(err)
		}
		id := token("viewer")
		for range 2 {
			if _, err := e.Evaluate(ctx, input(e, id, "GET", "/api/v3/application")); err != nil {
				t.Fatal(err)
			}
		}
		if hits, misses, _ := e.CacheStats(); hits+misses != 0 {
			t.Fatal("cache used while disabled")
		}
	})
}

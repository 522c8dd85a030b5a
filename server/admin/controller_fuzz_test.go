package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/server/admin"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
)

// allowAll is a Decider that permits every request: the fuzz target is the
// body handling behind the authorization step.
type allowAll struct{}

func (allowAll) Decide(context.Context, *gatehouse.Request) gatehouse.Decision {
	return gatehouse.Decision{Allow: true, Status: http.StatusOK}
}

// controllerRoutes are the routes that read a JSON body.
var controllerRoutes = []struct{ method, path string }{
	{"POST", "/api/v3/roles"},
	{"PATCH", "/api/v3/roles/fuzz-role"},
	{"POST", "/api/v3/rolebindings"},
	{"PATCH", "/api/v3/rolebindings/fuzz-binding"},
}

// Field names the Controller's schemas allow, per nesting level, exactly as
// spelled (additionalProperties: false is case-sensitive).
var (
	roleFields    = map[string]bool{"name": true, "kind": true, "rules": true}
	ruleFields    = map[string]bool{"apiGroups": true, "resources": true, "verbs": true, "resourceNames": true}
	bindingFields = map[string]bool{"name": true, "kind": true, "roleRef": true, "subjects": true}
	refFields     = map[string]bool{"kind": true, "name": true, "apiGroup": true}
)

// unknownField reports whether a JSON object body names a field the schema
// does not allow, at the top level or in a nested object.
func unknownField(body []byte, binding bool) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	allowed := roleFields
	if binding {
		allowed = bindingFields
	}
	objects := func(raw json.RawMessage, fields map[string]bool, list bool) bool {
		var items []map[string]json.RawMessage
		if list {
			_ = json.Unmarshal(raw, &items)
		} else {
			var one map[string]json.RawMessage
			if json.Unmarshal(raw, &one) == nil {
				items = append(items, one)
			}
		}
		for _, it := range items {
			for k := range it {
				if !fields[k] {
					return true
				}
			}
		}
		return false
	}
	for k, v := range top {
		switch {
		case !allowed[k]:
			return true
		case k == "rules" && objects(v, ruleFields, true),
			k == "roleRef" && objects(v, refFields, false),
			k == "subjects" && objects(v, refFields, true):
			return true
		}
	}
	return false
}

// FuzzControllerBodies sends JSON bodies to the Controller's role and role
// binding routes (server/admin Controller, SQLite store, every request
// permitted). A route never panics and never answers 5xx; a refusal is a
// 4xx {"name","message"} JSON envelope; a body that is not JSON, or names a
// field the Controller's schema does not allow (exact spelling, at any
// level), is 400 ValidationError. Seeds: testdata/fuzz/FuzzControllerBodies.
func FuzzControllerBodies(f *testing.F) {
	st, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "gatehouse.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	mux := http.NewServeMux()
	admin.NewController(admin.New(admin.Options{Store: st}), allowAll{}, false).Register(mux)
	// The PATCH routes find something to update.
	for _, b := range []struct{ path, body string }{
		{"/api/v3/roles", `{"name":"fuzz-role","rules":[{"apiGroups":["*"],"resources":["microservices"],"verbs":["get"]}]}`},
		{"/api/v3/rolebindings", `{"name":"fuzz-binding","roleRef":{"kind":"Role","name":"fuzz-role"},"subjects":[{"kind":"User","name":"u"}]}`},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("POST", b.path, strings.NewReader(b.body)))
		if w.Code != http.StatusCreated {
			f.Fatalf("%s: %d %s", b.path, w.Code, w.Body)
		}
	}

	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := controllerRoutes[int(route)%len(controllerRoutes)]
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body)))
		out := w.Body.Bytes()
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, body, w.Code, out)
		}
		if w.Code < 300 {
			if !json.Valid(body) || unknownField(body, strings.Contains(rt.path, "bindings")) {
				t.Fatalf("%s %s %q accepted: %d %s", rt.method, rt.path, body, w.Code, out)
			}
			return
		}
		var env struct{ Name, Message string }
		if ct := w.Header().Get("Content-Type"); ct != "application/json" || json.Unmarshal(out, &env) != nil || env.Name == "" || env.Message == "" {
			t.Fatalf("%s %s %q: %d %s (%s), want a JSON error envelope", rt.method, rt.path, body, w.Code, out, ct)
		}
		if (!json.Valid(body) || unknownField(body, strings.Contains(rt.path, "bindings"))) && (w.Code != http.StatusBadRequest || env.Name != "ValidationError") {
			t.Fatalf("%s %s %q: %d %s, want 400 ValidationError", rt.method, rt.path, body, w.Code, out)
		}
	})
}

// Field names match exactly and once: encoding/json alone would take
// "Name" for "name" and let a repeated name win last, so a body would name
// a different record than a case-sensitive reader of it sees.
func TestControllerRefusesCaseVariantAndDuplicateFields(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mux := http.NewServeMux()
	admin.NewController(admin.New(admin.Options{Store: st}), allowAll{}, false).Register(mux)
	rules := `"rules":[{"apiGroups":["*"],"resources":["agents"],"verbs":["get"]}]`
	for _, tt := range []struct{ path, body, msg string }{
		{"/api/v3/roles", `{"name":"a","Name":"b",` + rules + `}`, `Unknown field \"Name\"`},
		{"/api/v3/roles", `{"name":"a","name":"b",` + rules + `}`, `Duplicate field \"name\"`},
		{"/api/v3/roles", `{"name":"a","rules":[{"apiGroups":["*"],"resources":["agents"],"VERBS":["get"]}]}`, `Unknown field \"VERBS\"`},
		{"/api/v3/rolebindings", `{"name":"b","roleRef":{"kind":"Role","name":"x","name":"y"},"subjects":[{"kind":"User","name":"u"}]}`, `Duplicate field \"name\"`},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body)))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"name":"ValidationError"`) || !strings.Contains(w.Body.String(), tt.msg) {
			t.Errorf("%s %s: %d %s, want 400 ValidationError %s", tt.path, tt.body, w.Code, w.Body, tt.msg)
		}
	}
	// The exact spelling still works.
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("POST", "/api/v3/roles", strings.NewReader(`{"name":"a","kind":"Role",`+rules+`}`)))
	if w.Code != http.StatusCreated {
		t.Fatalf("exact body: %d %s", w.Code, w.Body)
	}
}

package provision_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-authz/gatehouse/provision"
)

// FuzzProvisionRequest posts fuzzed bodies to the provisioning handler,
// whose provisioner refuses every key. It never panics; every answer is a
// 400-class JSON envelope; the provisioner is only asked for a body that
// is one JSON object with an integral type in 0..2 and a string key, and
// gets exactly those. Seeds: testdata/fuzz/FuzzProvisionRequest.
func FuzzProvisionRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		p := &fakeProvisioner{err: provision.ErrInvalidKey}
		mux := http.NewServeMux()
		mux.Handle(provision.Route, provision.Handler(p, nil))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v3/agent/provision", bytes.NewReader(body)))
		var env struct{ Name, Message string }
		if rec.Code < 400 || rec.Code > 499 || json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Name == "" || env.Message == "" {
			t.Fatalf("%q: status %d %s", body, rec.Code, rec.Body)
		}
		asked := rec.Code == http.StatusNotFound
		if (rec.Code == http.StatusBadRequest) == asked || (env.Name == "ValidationError") == asked {
			t.Fatalf("%q: status %d %s", body, rec.Code, rec.Body)
		}
		if !asked {
			return
		}
		var want struct {
			Type *float64 `json:"type"`
			Key  *string  `json:"key"`
		}
		if err := json.Unmarshal(body, &want); err != nil || want.Type == nil || want.Key == nil ||
			*want.Type != math.Trunc(*want.Type) || *want.Type < 0 || *want.Type > 2 {
			t.Fatalf("%q reached the provisioner (%v)", body, err)
		}
		if p.key != *want.Key || p.archType != int(*want.Type) {
			t.Fatalf("%q: provisioner got %q %d", body, p.key, p.archType)
		}
	})
}

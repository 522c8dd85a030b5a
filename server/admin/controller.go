package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/server/authhttp"
	"github.com/gatehouse-authz/gatehouse/server/gateway"
)

// The Controller's /api/v3/roles and /api/v3/rolebindings are plain HTTP
// handlers rather than grpc-gateway rules, for two reasons:
//   - shapes: the Controller wraps results ({"roles": [...]}, {"role": {...}},
//     {"bindings": [...]}, {"binding": {...}}), nests roleRef as
//     {"kind":"Role","name":...}, answers 201 on create and 204 with no body
//     on delete, and refuses unknown fields (additionalProperties: false);
//     the gateway would need a parallel set of messages to say that;
//   - authorization: these are Controller routes, so they are decided as the
//     HTTP request itself against the catalog's roles/roleBindings resources
//     (RB-05: sre may read but not create), not as an AdminService method on
//     Gatehouse's own gatehouse.* resources.
// Each handler asks the Decider first (no authorization logic here) and then
// calls the same record operations as AdminService.

// Controller serves the Controller's role and role binding routes.
type Controller struct {
	svc        *Service
	decider    Decider
	trustProxy bool
}

// NewController returns the handlers over svc, authorized by d; trustProxy
// (TRUST_PROXY) takes the client IP from one proxy hop of X-Forwarded-For.
func NewController(svc *Service, d Decider, trustProxy bool) *Controller {
	return &Controller{svc: svc, decider: d, trustProxy: trustProxy}
}

// Register mounts the routes on mux.
func (c *Controller) Register(mux *http.ServeMux) {
	for _, r := range []struct {
		pattern string
		h       endpoint
	}{
		{"GET /api/v3/roles", c.listRoles},
		{"POST /api/v3/roles", c.createRole},
		{"GET /api/v3/roles/{name}", c.getRole},
		{"PATCH /api/v3/roles/{name}", c.updateRole},
		{"DELETE /api/v3/roles/{name}", c.deleteRole},
		{"GET /api/v3/rolebindings", c.listBindings},
		{"POST /api/v3/rolebindings", c.createBinding},
		{"GET /api/v3/rolebindings/{name}", c.getBinding},
		{"PATCH /api/v3/rolebindings/{name}", c.updateBinding},
		{"DELETE /api/v3/rolebindings/{name}", c.deleteBinding},
	} {
		mux.Handle(r.pattern, c.authorized(r.h))
	}
}

// endpoint answers an authorized request with a status and the value to
// encode as its JSON body (no body for nil), or with an error that
// writeError renders; the status and body are ignored with an error.
type endpoint func(r *http.Request) (int, any, error)

// authorized decides the HTTP request with the policy before h runs; a deny
// is written exactly as the decision says (status, headers, body).
func (c *Controller) authorized(h endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := c.decider.Decide(r.Context(), authhttp.DecisionRequest(r, c.trustProxy))
		if !d.Allow {
			for _, hd := range d.Response {
				w.Header().Set(hd.Name, hd.Value)
			}
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(d.Status)
			_, _ = w.Write(d.Body) // the client may be gone; nothing to do
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		switch code, body, err := h(r); {
		case err != nil:
			writeError(w, err)
		case body == nil:
			w.WriteHeader(code)
		default:
			writeJSON(w, code, body)
		}
	})
}

// --- wire shapes (the Controller's) ---

type ruleJSON struct {
	APIGroups     []string `json:"apiGroups"`
	Resources     []string `json:"resources"`
	Verbs         []string `json:"verbs"`
	ResourceNames []string `json:"resourceNames,omitempty"`
}

type roleJSON struct {
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	Rules     []ruleJSON `json:"rules"`
	CreatedAt string     `json:"createdAt,omitempty"`
	UpdatedAt string     `json:"updatedAt,omitempty"`
}

type roleRefJSON struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	APIGroup string `json:"apiGroup,omitempty"`
}

type subjectJSON struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	APIGroup string `json:"apiGroup,omitempty"`
}

type bindingJSON struct {
	Name      string        `json:"name"`
	Kind      string        `json:"kind"`
	RoleRef   roleRefJSON   `json:"roleRef"`
	Subjects  []subjectJSON `json:"subjects"`
	CreatedAt string        `json:"createdAt,omitempty"`
	UpdatedAt string        `json:"updatedAt,omitempty"`
}

// Request bodies: pointers tell a missing field from an empty one.
type roleBody struct {
	Name  *string     `json:"name"`
	Kind  *string     `json:"kind"`
	Rules *[]ruleJSON `json:"rules"`
}

type bindingBody struct {
	Name     *string        `json:"name"`
	Kind     *string        `json:"kind"`
	RoleRef  *roleRefJSON   `json:"roleRef"`
	Subjects *[]subjectJSON `json:"subjects"`
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func roleOut(r gatehouse.Role) roleJSON {
	out := roleJSON{Name: r.Name, Kind: "Role", Rules: make([]ruleJSON, 0, len(r.Rules)), CreatedAt: iso(r.CreatedAt), UpdatedAt: iso(r.UpdatedAt)}
	for _, rule := range r.Rules {
		out.Rules = append(out.Rules, ruleJSON(rule))
	}
	return out
}

func bindingOut(b gatehouse.RoleBinding) bindingJSON {
	out := bindingJSON{Name: b.Name, Kind: "RoleBinding", RoleRef: roleRefJSON{Kind: "Role", Name: b.RoleRef},
		Subjects: make([]subjectJSON, 0, len(b.Subjects)), CreatedAt: iso(b.CreatedAt), UpdatedAt: iso(b.UpdatedAt)}
	for _, s := range b.Subjects {
		out.Subjects = append(out.Subjects, subjectJSON{Kind: s.Kind, Name: s.Name})
	}
	return out
}

// --- helpers ---

// errValidation is a request body the Controller's schema would refuse.
type errValidation string

func (e errValidation) Error() string { return string(e) }

// decode reads a request body into v, refusing what the Controller's
// schema (additionalProperties: false) refuses. encoding/json matches field
// names case-insensitively and lets a repeated name win last, so
// {"name":"a","Name":"b"} would name the record "b" while a case-sensitive
// reader of the same body sees "a": exactKeys refuses both first.
func decode(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errValidation("Request body is too large")
		}
		return errValidation("Invalid JSON body")
	}
	if err := exactKeys(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return errValidation("Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errValidation("Invalid JSON body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errValidation("Invalid JSON body")
	}
	return nil
}

// decodeChecked decodes a role or binding body and checks it against the
// Controller's schema, for a create (name required) or an update.
func decodeChecked(r *http.Request, b interface{ check(create bool) error }, create bool) error {
	if err := decode(r, b); err != nil {
		return err
	}
	return b.check(create)
}

// exactKeys walks the JSON tokens of data and refuses an object key that is
// not spelled exactly as a json field name of t (or of a type nested in t),
// and a key repeated in one object. Together with DisallowUnknownFields
// (which checks each key against its own level, case-insensitively) this
// makes field matching exact: no two field names of the body types differ
// in case only. Malformed JSON is left to the decoder.
func exactKeys(data []byte, t reflect.Type) error {
	names := map[string]bool{}
	jsonNames(t, names, map[reflect.Type]bool{})
	type frame struct {
		object, wantKey bool
		keys            map[string]bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // EOF, or malformed: the decoder reports it
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]bool{}})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			key, _ := tok.(string)
			top := stack[n-1]
			switch {
			case !names[key]:
				return errValidation(fmt.Sprintf("Unknown field %q", key))
			case top.keys[key]:
				return errValidation(fmt.Sprintf("Duplicate field %q", key))
			}
			top.keys[key], top.wantKey = true, false
			continue
		}
		valueDone()
	}
}

// jsonNames adds the json field names of t and of the types it contains.
func jsonNames(t reflect.Type, into map[string]bool, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		into[name] = true
		jsonNames(f.Type, into, seen)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

// writeError renders an error in the Controller's {"name","message"} envelope.
func writeError(w http.ResponseWriter, err error) {
	var ve errValidation
	if errors.As(err, &ve) {
		gateway.WriteError(w, http.StatusBadRequest, "ValidationError", string(ve))
		return
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		gateway.WriteError(w, http.StatusBadRequest, "ValidationError", st.Message())
	case codes.NotFound:
		gateway.WriteError(w, http.StatusNotFound, "NotFoundError", st.Message())
	case codes.AlreadyExists:
		gateway.WriteError(w, http.StatusConflict, "ConflictError", st.Message())
	case codes.Canceled, codes.DeadlineExceeded, codes.Unavailable:
		gateway.WriteError(w, http.StatusServiceUnavailable, "ServiceUnavailableError", "Service unavailable")
	default:
		gateway.WriteError(w, http.StatusInternalServerError, "InternalServerError", "Internal server error")
	}
}

func required(field string) error {
	return errValidation(fmt.Sprintf("Required field '%s' is missing", field))
}

func (b *roleBody) rules() []gatehouse.RoleRule {
	out := make([]gatehouse.RoleRule, 0, len(*b.Rules))
	for _, r := range *b.Rules {
		out = append(out, gatehouse.RoleRule(r))
	}
	return out
}

func (b *roleBody) check(create bool) error {
	if create && b.Name == nil {
		return required("name")
	}
	if b.Rules == nil {
		return required("rules")
	}
	if b.Kind != nil && *b.Kind != "Role" {
		return errValidation("Field 'kind' must be Role")
	}
	return nil
}

func (b *bindingBody) check(create bool) error {
	switch {
	case create && b.Name == nil:
		return required("name")
	case b.RoleRef == nil:
		return required("roleRef")
	case b.Subjects == nil:
		return required("subjects")
	case b.Kind != nil && *b.Kind != "RoleBinding":
		return errValidation("Field 'kind' must be RoleBinding")
	case b.RoleRef.Kind != "Role":
		return errValidation("Field 'roleRef.kind' must be Role")
	}
	return nil
}

func (b *bindingBody) subjects() []gatehouse.Subject {
	out := make([]gatehouse.Subject, 0, len(*b.Subjects))
	for _, s := range *b.Subjects {
		out = append(out, gatehouse.Subject{Kind: s.Kind, Name: s.Name})
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// --- roles ---

func (c *Controller) listRoles(r *http.Request) (int, any, error) {
	rs, err := c.svc.ListRoleRecords(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := make([]roleJSON, 0, len(rs))
	for _, role := range rs {
		out = append(out, roleOut(role))
	}
	return http.StatusOK, map[string]any{"roles": out}, nil
}

func (c *Controller) createRole(r *http.Request) (int, any, error) {
	var b roleBody
	if err := decodeChecked(r, &b, true); err != nil {
		return 0, nil, err
	}
	role, err := c.svc.CreateRoleRecord(r.Context(), gatehouse.Role{Name: *b.Name, Rules: b.rules()})
	return http.StatusCreated, map[string]any{"role": roleOut(role)}, err
}

func (c *Controller) getRole(r *http.Request) (int, any, error) {
	role, err := c.svc.GetRoleRecord(r.Context(), r.PathValue("name"))
	return http.StatusOK, map[string]any{"role": roleOut(role)}, err
}

func (c *Controller) updateRole(r *http.Request) (int, any, error) {
	var b roleBody
	if err := decodeChecked(r, &b, false); err != nil {
		return 0, nil, err
	}
	role, err := c.svc.UpdateRoleRecord(r.Context(), r.PathValue("name"), deref(b.Name), b.rules())
	return http.StatusOK, map[string]any{"role": roleOut(role)}, err
}

func (c *Controller) deleteRole(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, c.svc.DeleteRoleRecord(r.Context(), r.PathValue("name"))
}

// --- role bindings ---

func (c *Controller) listBindings(r *http.Request) (int, any, error) {
	bs, err := c.svc.ListBindingRecords(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := make([]bindingJSON, 0, len(bs))
	for _, b := range bs {
		out = append(out, bindingOut(b))
	}
	return http.StatusOK, map[string]any{"bindings": out}, nil
}

func (c *Controller) createBinding(r *http.Request) (int, any, error) {
	var b bindingBody
	if err := decodeChecked(r, &b, true); err != nil {
		return 0, nil, err
	}
	out, err := c.svc.CreateBindingRecord(r.Context(), gatehouse.RoleBinding{Name: *b.Name, Subjects: b.subjects(), RoleRef: b.RoleRef.Name})
	return http.StatusCreated, map[string]any{"binding": bindingOut(out)}, err
}

func (c *Controller) getBinding(r *http.Request) (int, any, error) {
	b, err := c.svc.GetBindingRecord(r.Context(), r.PathValue("name"))
	return http.StatusOK, map[string]any{"binding": bindingOut(b)}, err
}

func (c *Controller) updateBinding(r *http.Request) (int, any, error) {
	var b bindingBody
	if err := decodeChecked(r, &b, false); err != nil {
		return 0, nil, err
	}
	out, err := c.svc.UpdateBindingRecord(r.Context(), r.PathValue("name"), deref(b.Name), b.subjects(), b.RoleRef.Name)
	return http.StatusOK, map[string]any{"binding": bindingOut(out)}, err
}

func (c *Controller) deleteBinding(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, c.svc.DeleteBindingRecord(r.Context(), r.PathValue("name"))
}

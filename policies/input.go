package policies

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/gatehouse-authz/gatehouse"
)

// inputValue builds the policy input (DESIGN.md "Policy contract") as an AST
// value directly, sparing a JSON round trip per request.
func inputValue(in *gatehouse.PolicyInput) (ast.Value, error) {
	req := in.Request
	if req == nil {
		req = &gatehouse.Request{}
	}
	id := in.Identity
	if id == nil {
		id = &gatehouse.Anonymous
	}
	headers := ast.NewObject()
	for k, v := range req.Headers {
		headers.Insert(ast.StringTerm(k), ast.StringTerm(v))
	}
	var claims *ast.Term
	if id.Claims != nil {
		v, err := ast.InterfaceToValue(id.Claims)
		if err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
		claims = ast.NewTerm(v)
	} else {
		claims = ast.NullTerm()
	}
	request := ast.NewObject(
		ast.Item(ast.StringTerm("method"), ast.StringTerm(req.Method)),
		ast.Item(ast.StringTerm("path"), ast.StringTerm(req.Path)),
		ast.Item(ast.StringTerm("query"), ast.StringTerm(req.Query)),
		ast.Item(ast.StringTerm("host"), ast.StringTerm(req.Host)),
		ast.Item(ast.StringTerm("headers"), ast.NewTerm(headers)),
		ast.Item(ast.StringTerm("source_ip"), ast.StringTerm(req.SourceIP)),
	)
	identity := ast.NewObject(
		ast.Item(ast.StringTerm("authenticated"), ast.BooleanTerm(id.Authenticated())),
		ast.Item(ast.StringTerm("kind"), ast.StringTerm(string(id.Kind))),
		ast.Item(ast.StringTerm("subject"), ast.StringTerm(id.Subject)),
		ast.Item(ast.StringTerm("groups"), stringArray(id.Groups)),
		ast.Item(ast.StringTerm("permissions"), stringArray(id.Permissions)),
		ast.Item(ast.StringTerm("issuer"), ast.StringTerm(id.Issuer)),
		ast.Item(ast.StringTerm("claims"), claims),
	)
	kinds := make([]*ast.Term, len(in.Route.Credentials))
	for i, k := range in.Route.Credentials {
		kinds[i] = ast.StringTerm(string(k))
	}
	route := ast.NewObject(
		ast.Item(ast.StringTerm("resource"), ast.StringTerm(in.Route.Resource)),
		ast.Item(ast.StringTerm("verb"), ast.StringTerm(in.Route.Verb)),
		ast.Item(ast.StringTerm("name"), ast.StringTerm(in.Route.Name)),
		ast.Item(ast.StringTerm("marker"), ast.StringTerm(in.Route.Marker)),
		ast.Item(ast.StringTerm("template"), ast.StringTerm(in.Route.Template)),
		ast.Item(ast.StringTerm("credentials"), ast.ArrayTerm(kinds...)),
	)
	return ast.NewObject(
		ast.Item(ast.StringTerm("request"), ast.NewTerm(request)),
		ast.Item(ast.StringTerm("identity"), ast.NewTerm(identity)),
		ast.Item(ast.StringTerm("route"), ast.NewTerm(route)),
	), nil
}

func stringArray(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

// decodeResult reads the decision object strictly: allow (bool), status (an
// HTTP status matching allow), reason (non-empty string), and optionally
// headers (string → string), body (object, array or string), subject (string)
// and groups (array of strings). Anything else is an error, which the core
// turns into a 503 deny.
func decodeResult(v any) (gatehouse.PolicyResult, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return gatehouse.PolicyResult{}, fmt.Errorf("%w: decision is %T, not an object", ErrResult, v)
	}
	var r gatehouse.PolicyResult
	for k, val := range obj {
		switch k {
		case "allow":
			b, ok := val.(bool)
			if !ok {
				return r, fmt.Errorf("%w: allow is %T, not a boolean", ErrResult, val)
			}
			r.Allow = b
		case "status":
			n, ok := val.(json.Number)
			if !ok {
				return r, fmt.Errorf("%w: status is %T, not a number", ErrResult, val)
			}
			f, err := n.Float64()
			if err != nil || f != math.Trunc(f) || f < 200 || f > 599 {
				return r, fmt.Errorf("%w: status %s is not an HTTP status", ErrResult, n)
			}
			r.Status = int(f)
		case "reason":
			s, ok := val.(string)
			if !ok || s == "" {
				return r, fmt.Errorf("%w: reason must be a non-empty string", ErrResult)
			}
			r.Reason = gatehouse.Reason(s)
		case "headers":
			hm, ok := val.(map[string]any)
			if !ok {
				return r, fmt.Errorf("%w: headers is %T, not an object", ErrResult, val)
			}
			for _, name := range sortedKeys(hm) {
				s, ok := hm[name].(string)
				if !ok || !validHeaderName(name) {
					return r, fmt.Errorf("%w: header %q must be a valid name with a string value", ErrResult, name)
				}
				r.Headers = append(r.Headers, gatehouse.Header{Name: name, Value: s})
			}
		case "body":
			switch b := val.(type) {
			case string:
				r.Body = []byte(b)
			case map[string]any, []any:
				enc, err := json.Marshal(b)
				if err != nil {
					return r, fmt.Errorf("%w: body: %w", ErrResult, err)
				}
				r.Body = enc
			default:
				return r, fmt.Errorf("%w: body is %T", ErrResult, val)
			}
		case "subject":
			s, ok := val.(string)
			if !ok {
				return r, fmt.Errorf("%w: subject is %T, not a string", ErrResult, val)
			}
			r.Subject = s
		case "groups":
			arr, ok := val.([]any)
			if !ok {
				return r, fmt.Errorf("%w: groups is %T, not an array", ErrResult, val)
			}
			r.Groups = make([]string, len(arr))
			for i, g := range arr {
				s, ok := g.(string)
				if !ok {
					return r, fmt.Errorf("%w: groups[%d] is %T, not a string", ErrResult, i, g)
				}
				r.Groups[i] = s
			}
		default:
			return r, fmt.Errorf("%w: unknown field %q", ErrResult, k)
		}
	}
	if _, ok := obj["allow"]; !ok {
		return r, fmt.Errorf("%w: allow is missing", ErrResult)
	}
	if _, ok := obj["status"]; !ok {
		return r, fmt.Errorf("%w: status is missing", ErrResult)
	}
	if r.Reason == "" {
		return r, fmt.Errorf("%w: reason is missing", ErrResult)
	}
	if r.Allow != (r.Status < 300) {
		return r, fmt.Errorf("%w: allow=%v with status %d", ErrResult, r.Allow, r.Status)
	}
	return r, nil
}

// validHeaderName accepts lower-case token characters only, so a policy
// cannot smuggle a header Envoy would treat differently.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

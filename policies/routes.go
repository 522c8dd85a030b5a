package policies

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// catalogDoc is data.gatehouse.catalog as written in the policy data.
type catalogDoc struct {
	Resources map[string]resourceDoc `json:"resources"`
}

type resourceDoc struct {
	NameParam   string            `json:"nameParam"`
	APIGroup    string            `json:"apiGroup"`
	Credentials []string          `json:"credentials"`
	Permissions map[string]string `json:"permissions"`
	Routes      []routeDoc        `json:"routes"`
}

type routeDoc struct {
	Path      string            `json:"path"`
	Methods   map[string]string `json:"methods"`
	NameParam string            `json:"nameParam"`
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "WS"}

var knownKinds = []gatehouse.IdentityKind{
	gatehouse.KindUser, gatehouse.KindToken, gatehouse.KindBasic, gatehouse.KindAgent, gatehouse.KindPeer,
}

// router resolves a request to its catalog entry. Resolution is compiled into
// Go from the catalog data so that Rego decides on a resource and verb
// instead of matching paths on every request.
type router struct {
	root node
	// codenames are the permission codenames the catalog maps verbs to.
	codenames []string
}

type node struct {
	literal map[string]*node
	param   *node
	// endpoints by method, at the node where a template ends.
	endpoints map[string]*endpoint
}

type endpoint struct {
	template    string
	resource    string
	verb        string
	marker      string
	nameIndex   int // index of the naming parameter among the path's parameters, -1 if none
	credentials []gatehouse.IdentityKind
}

// buildRouter validates the catalog and compiles it. A nil or empty catalog
// gives a router that matches nothing.
func buildRouter(raw any) (*router, error) {
	r := &router{}
	if raw == nil {
		return r, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var doc catalogDoc
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	for _, name := range sortedKeys(doc.Resources) {
		res := doc.Resources[name]
		var kinds []gatehouse.IdentityKind
		for _, k := range res.Credentials {
			if !slices.Contains(knownKinds, gatehouse.IdentityKind(k)) {
				return nil, fmt.Errorf("catalog: resource %s: unknown credential kind %q", name, k)
			}
			kinds = append(kinds, gatehouse.IdentityKind(k))
		}
		for _, c := range res.Permissions {
			if !slices.Contains(r.codenames, c) {
				r.codenames = append(r.codenames, c)
			}
		}
		for i, rt := range res.Routes {
			if err := r.add(name, res, rt, kinds); err != nil {
				return nil, fmt.Errorf("catalog: resource %s, route %d (%s): %w", name, i, rt.Path, err)
			}
		}
	}
	slices.Sort(r.codenames)
	return r, nil
}

func (r *router) add(resource string, res resourceDoc, rt routeDoc, kinds []gatehouse.IdentityKind) error {
	if !strings.HasPrefix(rt.Path, "/") {
		return fmt.Errorf("path must start with /")
	}
	if len(rt.Methods) == 0 {
		return fmt.Errorf("no methods")
	}
	segs := strings.Split(strings.TrimSuffix(rt.Path, "/"), "/")[1:]
	var params []string
	n := &r.root
	for _, s := range segs {
		switch {
		case s == "" || s == "." || s == "..":
			return fmt.Errorf("empty or dot segment")
		case strings.HasPrefix(s, ":"):
			if len(s) == 1 {
				return fmt.Errorf("unnamed parameter")
			}
			params = append(params, s[1:])
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		default:
			if n.literal == nil {
				n.literal = map[string]*node{}
			}
			next := n.literal[s]
			if next == nil {
				next = &node{}
				n.literal[s] = next
			}
			n = next
		}
	}
	nameIndex := -1
	nameParam := rt.NameParam
	if nameParam == "" {
		nameParam = res.NameParam
	}
	if nameParam != "" {
		nameIndex = slices.Index(params, nameParam)
		if nameIndex < 0 && rt.NameParam != "" {
			return fmt.Errorf("nameParam %q is not a parameter of the path", rt.NameParam)
		}
	}
	if n.endpoints == nil {
		n.endpoints = map[string]*endpoint{}
	}
	for _, m := range sortedKeys(rt.Methods) {
		verb := rt.Methods[m]
		if !slices.Contains(knownMethods, m) {
			return fmt.Errorf("unknown method %q", m)
		}
		if verb == "" {
			return fmt.Errorf("method %s: empty verb", m)
		}
		if prev := n.endpoints[m]; prev != nil {
			return fmt.Errorf("%s %s is already %s %s", m, rt.Path, prev.resource, prev.template)
		}
		ep := &endpoint{template: rt.Path, resource: resource, verb: verb, nameIndex: nameIndex, credentials: kinds}
		if verb == gatehouse.MarkerPublic || verb == gatehouse.MarkerAuthenticated {
			// Marker routes need no permission: no resource, no verb.
			ep.marker, ep.resource, ep.verb = verb, "", ""
		}
		n.endpoints[m] = ep
	}
	return nil
}

// maxSegments bounds the work a hostile path can cause.
const maxSegments = 64

// match resolves method and path. The path has no query; a fragment, a
// trailing "/" are ignored. Empty, "." and ".." segments (also percent-encoded)
// match nothing, so a path an upstream might normalise differently is denied.
func (r *router) match(method, path string, websocket bool) gatehouse.RouteMatch {
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if !strings.HasPrefix(path, "/") {
		return gatehouse.RouteMatch{}
	}
	path = strings.TrimSuffix(path[1:], "/")
	// Split into a stack array: resolution allocates nothing.
	var segArr [maxSegments]string
	nseg := 0
	for path != "" {
		if nseg == maxSegments {
			return gatehouse.RouteMatch{}
		}
		seg := path
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg, path = path[:i], path[i+1:]
			if path == "" { // a "//" at the end
				return gatehouse.RouteMatch{}
			}
		} else {
			path = ""
		}
		if seg == "" || isDotSegment(seg) {
			return gatehouse.RouteMatch{}
		}
		segArr[nseg] = seg
		nseg++
	}
	segs := segArr[:nseg]
	methods := [2]string{method, ""}
	switch {
	case websocket:
		methods = [2]string{"WS", "GET"}
	case method == "HEAD":
		methods[1] = "GET"
	}
	var params [maxSegments]string
	for _, m := range methods {
		if m == "" {
			continue
		}
		if ep, n := r.root.find(segs, m, params[:0]); ep != nil {
			out := gatehouse.RouteMatch{
				Resource: ep.resource, Verb: ep.verb, Marker: ep.marker,
				Template: ep.template, Credentials: ep.credentials,
			}
			if ep.nameIndex >= 0 && ep.nameIndex < n {
				out.Name = params[ep.nameIndex]
				if d, err := url.PathUnescape(out.Name); err == nil {
					out.Name = d // the upstream sees the decoded value
				}
			}
			return out
		}
	}
	return gatehouse.RouteMatch{}
}

// find walks the trie, literal children first, backtracking to the
// parameter child when the literal branch has no endpoint for the method.
// It returns the endpoint and the number of captured parameters, written
// into params' backing array.
func (n *node) find(segs []string, method string, params []string) (*endpoint, int) {
	if len(segs) == 0 {
		if ep := n.endpoints[method]; ep != nil {
			return ep, len(params)
		}
		return nil, 0
	}
	if next := n.literal[segs[0]]; next != nil {
		if ep, c := next.find(segs[1:], method, params); ep != nil {
			return ep, c
		}
	}
	if n.param != nil {
		if ep, c := n.param.find(segs[1:], method, append(params, segs[0])); ep != nil {
			return ep, c
		}
	}
	return nil, 0
}

func isDotSegment(s string) bool {
	if s == "." || s == ".." {
		return true
	}
	if !strings.Contains(s, "%") {
		return false
	}
	d, err := url.PathUnescape(s)
	return err != nil || d == "." || d == ".." || strings.Contains(d, "/")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

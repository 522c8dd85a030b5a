package gatehouse

import (
	"maps"
	"slices"
	"strings"
)

// Request is one HTTP request as a door saw it, in wire-neutral form.
type Request struct {
	// Method is the HTTP method in upper case ("GET"); a WebSocket upgrade keeps
	// its HTTP method here and is recognised by its headers.
	Method string
	// Path is the request path without query or fragment.
	Path string
	// Query is the raw query string without the leading '?'.
	Query string
	// Host is the authority the client addressed.
	Host string
	// Headers maps lower-cased header names to their values. Repeated headers
	// are joined with ", " as HTTP allows.
	Headers map[string]string
	// SourceIP is the address of the peer that sent the request, as text.
	SourceIP string
	// Body is the request body when the door received it (peer signatures).
	Body []byte
}

// Header returns the value of the lower-cased header name, or "".
func (r *Request) Header(name string) string {
	return r.Headers[name]
}

// IsWebSocket reports whether the request asks for a WebSocket upgrade.
func (r *Request) IsWebSocket() bool {
	return strings.EqualFold(r.Headers["upgrade"], "websocket")
}

// SplitPathQuery splits a request target into its path and raw query,
// dropping any fragment.
func SplitPathQuery(target string) (path, query string) {
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	path, query, _ = strings.Cut(target, "?")
	return path, query
}

// LowerHeaders lower-cases header names, the rule every door applies before
// filling Request.Headers. Names differing in case only are one header:
// their values are joined in name order, as repeated headers are, so the
// result never depends on map iteration order. The result is never nil and
// has room for one more header.
func LowerHeaders(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+1)
	for k, v := range in {
		out[strings.ToLower(k)] = v
	}
	if len(out) == len(in) {
		return out
	}
	clear(out)
	for _, k := range slices.Sorted(maps.Keys(in)) {
		lk, v := strings.ToLower(k), in[k]
		if prev, ok := out[lk]; ok {
			v = prev + ", " + v
		}
		out[lk] = v
	}
	return out
}

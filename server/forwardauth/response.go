package forwardauth

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-authz/gatehouse"
)

// writeDecision answers the proxy. Allow: 200 with the identity headers,
// which the proxy copies onto the upstream request (Envoy
// allowed_upstream_headers, Traefik authResponseHeaders, Caddy copy_headers,
// nginx auth_request_set). Deny: the decision's status, client headers and
// body, which the proxies relay to the client.
func writeDecision(w http.ResponseWriter, d *gatehouse.Decision) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if d.Allow {
		for _, u := range d.Upstream {
			h.Set(u.Name, u.Value)
		}
		// An identity header the decision does not set is answered empty:
		// the proxy copies it over (or, for nginx, drops) any copy the
		// client sent, so it cannot be spoofed.
		for _, name := range d.RemoveUpstream {
			if _, set := h[http.CanonicalHeaderKey(name)]; !set {
				h.Set(name, "")
			}
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, c := range d.Response {
		h.Set(c.Name, c.Value)
	}
	if len(d.Body) > 0 {
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
		h.Set("Content-Length", strconv.Itoa(len(d.Body)))
	}
	status := d.Status
	if status < 400 || status > 599 {
		status = http.StatusForbidden // a deny is never a success
	}
	w.WriteHeader(status)
	_, _ = w.Write(d.Body) // the proxy may be gone; nothing to do
}

// writeError answers a malformed or untrusted call without a decision.
func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + http.StatusText(status) + `","message":` + strconv.Quote(message) + `}`))
}

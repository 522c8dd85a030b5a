package forwardauth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"

	"github.com/gatehouse-authz/gatehouse"
)

// Decider is the decision core as this door needs it.
type Decider interface {
	Decide(ctx context.Context, req *gatehouse.Request) gatehouse.Decision
}

// Handler serves both forward-auth shapes.
type Handler struct {
	decider Decider
	trusted []netip.Prefix
}

// New returns the door. trusted lists the proxies allowed to ask: a call
// from any other address is refused with 403 and never decided.
func New(d Decider, trusted []netip.Prefix) *Handler {
	return &Handler{decider: d, trusted: trusted}
}

// Register mounts the door on mux at EnvoyPrefix/ and ForwardAuthPath.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle(EnvoyPrefix+"/", h)
	mux.Handle(ForwardAuthPath, h)
}

// ServeHTTP decides one forwarded request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.fromTrusted(r) {
		writeError(w, http.StatusForbidden, "forward-auth answers trusted proxies only (FORWARD_AUTH_TRUSTED_PROXIES)")
		return
	}
	var (
		req *gatehouse.Request
		err error
	)
	if r.URL.Path == ForwardAuthPath {
		req, err = fromForwardAuth(r)
	} else {
		req, err = fromEnvoy(r)
	}
	switch {
	case errors.Is(err, errTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d := h.decider.Decide(r.Context(), req)
	writeDecision(w, &d)
}

func (h *Handler) fromTrusted(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range h.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

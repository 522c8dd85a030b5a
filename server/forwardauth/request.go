package forwardauth

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/server/authhttp"
)

// Paths of the two shapes this door answers.
const (
	// EnvoyPrefix receives Envoy's HTTP ext_authz call: the original request
	// with this prefix before its path (http_service.path_prefix).
	EnvoyPrefix = "/ext_authz"
	// ForwardAuthPath receives nginx, Traefik and Caddy subrequests.
	ForwardAuthPath = "/forward-auth"
)

// MaxBody bounds the request body Envoy may send (with_request_body) for
// peer signatures.
const MaxBody = 64 << 10

var (
	errNoMethod = errors.New("forward-auth request lacks the original method (X-Forwarded-Method or X-Original-Method)")
	errNoURI    = errors.New("forward-auth request lacks the original URI (X-Forwarded-Uri or X-Original-URI)")
	errBadURI   = errors.New("the original URI must be an absolute path or an absolute http(s) URL")
)

// fromEnvoy converts Envoy's HTTP ext_authz call: method (upper-cased),
// Host and headers are the original request's; the path follows EnvoyPrefix.
func fromEnvoy(r *http.Request) (*gatehouse.Request, error) {
	target := strings.TrimPrefix(r.URL.RequestURI(), EnvoyPrefix)
	if !strings.HasPrefix(target, "/") {
		return nil, errBadURI
	}
	path, query := gatehouse.SplitPathQuery(target)
	req := &gatehouse.Request{
		Method:   strings.ToUpper(r.Method), // as the other doors: the router matches upper case
		Path:     path,
		Query:    query,
		Host:     r.Host,
		Headers:  authhttp.Headers(r.Header),
		SourceIP: sourceIP(r),
	}
	if r.Body != nil && r.ContentLength != 0 {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			return nil, err
		}
		if len(b) > MaxBody {
			return nil, errTooLarge
		}
		req.Body = b
	}
	return req, nil
}

var errTooLarge = errors.New("request body larger than the forward-auth limit")

// fromForwardAuth converts a forward-auth subrequest. Traefik and Caddy send
// X-Forwarded-Method, -Uri, -Host and -Proto; the usual nginx configuration
// sends X-Original-Method and X-Original-URI (nginx has no default), and
// Host as the original host.
func fromForwardAuth(r *http.Request) (*gatehouse.Request, error) {
	h := r.Header
	method := first(h.Get("X-Forwarded-Method"), h.Get("X-Original-Method"))
	if method == "" {
		return nil, errNoMethod
	}
	uri := first(h.Get("X-Forwarded-Uri"), h.Get("X-Original-URI"), h.Get("X-Original-Url"))
	if uri == "" {
		return nil, errNoURI
	}
	if u, err := url.Parse(uri); err == nil && u.IsAbs() { // X-Original-URL may be absolute
		// Only an http(s) URL with a host: "a:" or "mailto:x" would
		// otherwise be decided as "/" or refused by accident.
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
			return nil, errBadURI
		}
		uri = u.RequestURI()
	}
	if !strings.HasPrefix(uri, "/") {
		return nil, errBadURI
	}
	path, query := gatehouse.SplitPathQuery(uri)
	return &gatehouse.Request{
		Method:   strings.ToUpper(method),
		Path:     path,
		Query:    query,
		Host:     first(h.Get("X-Forwarded-Host"), h.Get("X-Original-Host"), r.Host),
		Headers:  authhttp.Headers(h),
		SourceIP: sourceIP(r),
	}, nil
}

// sourceIP is the client as the trusted proxy saw it: the last
// X-Forwarded-For entry (the one the proxy appended), else X-Real-IP, else
// the proxy itself.
func sourceIP(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
			return ip.Unmap().String()
		}
	}
	if ip, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return ip.Unmap().String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func first(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

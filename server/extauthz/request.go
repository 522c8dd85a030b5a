package extauthz

import (
	"errors"
	"net"
	"strings"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/gatehouse-authz/gatehouse"
)

// ErrNoHTTPRequest is returned for a CheckRequest without HTTP attributes (a
// network-level ext_authz call, or a malformed one).
var ErrNoHTTPRequest = errors.New("check request has no attributes.request.http")

var errNoMethodOrPath = errors.New("check request lacks the HTTP method or path")

// ToRequest converts Envoy's view of a request into Gatehouse's. It keeps
// Envoy's header map when its names are already lower case (they always are
// for HTTP/2 and for Envoy's own normalisation), so the common path copies
// nothing.
func ToRequest(cr *authv3.CheckRequest) (*gatehouse.Request, error) {
	req := new(gatehouse.Request)
	if err := fillRequest(req, cr); err != nil {
		return nil, err
	}
	return req, nil
}

func fillRequest(req *gatehouse.Request, cr *authv3.CheckRequest) error {
	attrs := cr.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	if h == nil {
		return ErrNoHTTPRequest
	}
	headers := h.GetHeaders()
	if hm := h.GetHeaderMap(); len(headers) == 0 && hm != nil {
		// Envoy's encode_raw_headers mode sends raw bytes instead of the map.
		headers = make(map[string]string, len(hm.GetHeaders()))
		for _, hv := range hm.GetHeaders() {
			v := hv.GetValue()
			if raw := hv.GetRawValue(); len(raw) > 0 {
				v = string(raw)
			}
			k := strings.ToLower(hv.GetKey())
			if prev, ok := headers[k]; ok {
				v = prev + ", " + v
			}
			headers[k] = v
		}
	} else if !lowerKeys(headers) {
		headers = gatehouse.LowerHeaders(headers)
	}
	if headers == nil {
		headers = map[string]string{}
	}

	method := h.GetMethod()
	if method == "" {
		method = headers[":method"]
	}
	target := h.GetPath()
	if target == "" {
		target = headers[":path"]
	}
	if method == "" || target == "" {
		return errNoMethodOrPath
	}
	host := h.GetHost()
	if host == "" {
		host = headers[":authority"]
	}
	path, query := gatehouse.SplitPathQuery(target)
	body := h.GetRawBody()
	if len(body) == 0 && h.GetBody() != "" {
		body = []byte(h.GetBody())
	}
	*req = gatehouse.Request{
		Method:   strings.ToUpper(method), // no allocation when already upper case
		Path:     path,
		Query:    query,
		Host:     host,
		Headers:  headers,
		SourceIP: sourceIP(attrs.GetSource()),
		Body:     body,
	}
	return nil
}

func lowerKeys(m map[string]string) bool {
	for k := range m {
		for i := 0; i < len(k); i++ {
			if c := k[i]; c >= 'A' && c <= 'Z' {
				return false
			}
		}
	}
	return true
}

func sourceIP(p *authv3.AttributeContext_Peer) string {
	if sa := p.GetAddress().GetSocketAddress(); sa != nil {
		return sa.GetAddress()
	}
	if pipe := p.GetAddress().GetPipe(); pipe != nil {
		return "unix:" + pipe.GetPath()
	}
	return principalHost(p.GetPrincipal())
}

// principalHost is the host of a "host:port" principal: some callers only
// fill the principal or nothing at all.
func principalHost(principal string) string {
	if host, _, err := net.SplitHostPort(principal); err == nil {
		return host
	}
	return ""
}

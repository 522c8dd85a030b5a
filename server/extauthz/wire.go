package extauthz

import (
	"errors"
	"strings"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gatehouse-authz/gatehouse"
)

// The wire decoder reads an envoy.service.auth.v3.CheckRequest straight into
// a gatehouse.Request: only the fields fillRequest reads, with the same
// result, and without building the generated message. protobuf-go decodes
// the header map through reflection, one allocation per key and value, and
// that was 45 % of the bytes allocated per Check under load; here the
// request's bytes are copied once and every string points into that copy.
//
// Field numbers, from envoy/service/auth/v3/{external_auth,attribute_context}.proto,
// envoy/config/core/v3/{address,base}.proto. FuzzWireDecode checks the result
// against proto.Unmarshal followed by fillRequest.
const (
	fCheckRequestAttributes = 1 // CheckRequest.attributes

	fAttributesSource  = 1 // AttributeContext.source (Peer)
	fAttributesRequest = 4 // AttributeContext.request

	fPeerAddress   = 1 // Peer.address (config.core.v3.Address)
	fPeerPrincipal = 4 // Peer.principal

	fAddressSocket   = 1 // Address.socket_address (oneof address)
	fAddressPipe     = 2 // Address.pipe
	fAddressInternal = 3 // Address.envoy_internal_address

	fSocketAddressAddress = 2 // SocketAddress.address
	fPipePath             = 1 // Pipe.path

	fRequestHTTP = 2 // AttributeContext.Request.http

	fHTTPMethod    = 2  // HttpRequest.method
	fHTTPHeaders   = 3  // HttpRequest.headers (map<string, string>)
	fHTTPPath      = 4  // HttpRequest.path
	fHTTPHost      = 5  // HttpRequest.host
	fHTTPBody      = 11 // HttpRequest.body
	fHTTPRawBody   = 12 // HttpRequest.raw_body
	fHTTPHeaderMap = 13 // HttpRequest.header_map (config.core.v3.HeaderMap)

	fMapKey   = 1 // map entry key
	fMapValue = 2 // map entry value

	fHeaderMapHeaders = 1 // HeaderMap.headers (repeated HeaderValue)
	fHeaderValueKey   = 1 // HeaderValue.key
	fHeaderValueValue = 2 // HeaderValue.value
	fHeaderValueRaw   = 3 // HeaderValue.raw_value
)

// Errors of the wire decoder; proto.Unmarshal fails on the same inputs (its
// own error text differs).
var (
	errWireDecode = errors.New("malformed protobuf")
	errWireUTF8   = errors.New("string field contains invalid UTF-8")
)

// Address kinds: which member of the Address oneof was set last.
const (
	addrNone = iota
	addrSocket
	addrPipe
	addrOther
)

// wireCheck is what the decoder accumulates. Like proto.Unmarshal it merges
// repeated occurrences of a message field and keeps the last value of a
// scalar field; fields it does not read are skipped (and, unlike
// proto.Unmarshal, not checked for valid UTF-8 inside).
type wireCheck struct {
	hasHTTP                 bool
	method, path, host      string
	body                    string
	rawBody                 []byte
	headers                 map[string]string
	upperKeys               bool
	hasHeaderMap            bool
	headerMaps              [][]byte // header_map occurrences, read only when headers is empty
	addrKind                int
	socketAddress, pipePath string
	principal               string
}

// decodeCheckRequest decodes b into req. The request's strings point into
// b, which must not change afterwards. A wire error means the bytes are not
// a CheckRequest (gRPC's codec error); a conversion error is what
// fillRequest would return for the decoded message.
func decodeCheckRequest(req *gatehouse.Request, b []byte) (wireErr, convErr error) {
	var w wireCheck
	if err := w.checkRequest(b); err != nil {
		return err, nil
	}
	return nil, w.fill(req)
}

// field reads one field of b: its number and wire type and, for a
// length-delimited field, its payload. Other wire types are skipped the way
// proto.Unmarshal skips unknown fields (groups included).
func field(b []byte) (num protowire.Number, typ protowire.Type, payload, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num > protowire.MaxValidNumber {
		return 0, 0, nil, nil, errWireDecode
	}
	b = b[n:]
	if typ == protowire.BytesType {
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return 0, 0, nil, nil, errWireDecode
		}
		return num, typ, v, b[m:], nil
	}
	m := protowire.ConsumeFieldValue(num, typ, b)
	if m < 0 {
		return 0, 0, nil, nil, errWireDecode
	}
	return num, typ, nil, b[m:], nil
}

// str is a string field's value: a string sharing v's memory, after the
// UTF-8 check proto3 strings get.
func str(v []byte) (string, error) {
	if !utf8.Valid(v) {
		return "", errWireUTF8
	}
	return unsafe.String(unsafe.SliceData(v), len(v)), nil
}

// bytesFields calls fn with the number and payload of each length-delimited
// field of the message b, in order, after checking that every field is well
// formed. Fields of other wire types are skipped: the fields read here are
// all strings, bytes or messages, and a known field with an unexpected wire
// type is unknown to proto.Unmarshal too.
func bytesFields(b []byte, fn func(num protowire.Number, v []byte) error) error {
	for len(b) > 0 {
		num, typ, v, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if typ != protowire.BytesType {
			continue
		}
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}

// The methods below each decode one message type.

func (w *wireCheck) checkRequest(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) error {
		if num == fCheckRequestAttributes {
			return w.attributes(v)
		}
		return nil
	})
}

func (w *wireCheck) attributes(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fAttributesSource:
			return w.peer(v)
		case fAttributesRequest:
			return w.request(v)
		}
		return nil
	})
}

func (w *wireCheck) peer(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) (err error) {
		switch num {
		case fPeerAddress:
			err = w.address(v)
		case fPeerPrincipal:
			w.principal, err = str(v)
		}
		return err
	})
}

func (w *wireCheck) address(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) error {
		// Setting another member of the oneof clears the previous one; the
		// same member again merges into it.
		switch num {
		case fAddressSocket:
			if w.addrKind != addrSocket {
				w.addrKind, w.socketAddress = addrSocket, ""
			}
			return w.socketAddr(v)
		case fAddressPipe:
			if w.addrKind != addrPipe {
				w.addrKind, w.pipePath = addrPipe, ""
			}
			return w.pipe(v)
		case fAddressInternal:
			// Not read, but it still has to be well formed and it replaces
			// the other members.
			w.addrKind = addrOther
			return skipMessage(v)
		}
		return nil
	})
}

func (w *wireCheck) socketAddr(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) (err error) {
		if num == fSocketAddressAddress {
			w.socketAddress, err = str(v)
		}
		return err
	})
}

func (w *wireCheck) pipe(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) (err error) {
		if num == fPipePath {
			w.pipePath, err = str(v)
		}
		return err
	})
}

// skipMessage checks that b is a sequence of well-formed fields.
func skipMessage(b []byte) error {
	return bytesFields(b, func(protowire.Number, []byte) error { return nil })
}

func (w *wireCheck) request(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) error {
		if num == fRequestHTTP {
			w.hasHTTP = true
			return w.http(v)
		}
		return nil
	})
}

func (w *wireCheck) http(b []byte) error {
	return bytesFields(b, func(num protowire.Number, v []byte) (err error) {
		switch num {
		case fHTTPMethod:
			w.method, err = str(v)
		case fHTTPHeaders:
			err = w.headerEntry(v)
		case fHTTPPath:
			w.path, err = str(v)
		case fHTTPHost:
			w.host, err = str(v)
		case fHTTPBody:
			w.body, err = str(v)
		case fHTTPRawBody:
			w.rawBody = v[:len(v):len(v)]
		case fHTTPHeaderMap:
			// Checked now (proto.Unmarshal would fail on it), used at the
			// end only if the headers map stays empty.
			if err = checkHeaderMap(v); err == nil {
				w.hasHeaderMap = true
				w.headerMaps = append(w.headerMaps, v)
			}
		}
		return err
	})
}

// headerEntry decodes one map entry of HttpRequest.headers: a later entry
// with the same key replaces an earlier one, a missing key or value is "".
func (w *wireCheck) headerEntry(b []byte) error {
	var key, value string
	err := bytesFields(b, func(num protowire.Number, v []byte) (err error) {
		switch num {
		case fMapKey:
			key, err = str(v)
		case fMapValue:
			value, err = str(v)
		}
		return err
	})
	if err != nil {
		return err
	}
	if w.headers == nil {
		w.headers = make(map[string]string, 32)
	}
	w.headers[key] = value
	if !w.upperKeys && hasUpper(key) {
		w.upperKeys = true
	}
	return nil
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// checkHeaderMap validates a HeaderMap without keeping anything.
func checkHeaderMap(b []byte) error {
	return forEachHeaderValue(b, func(string, string, []byte) {})
}

// forEachHeaderValue calls fn with each HeaderValue of a HeaderMap, in order.
func forEachHeaderValue(b []byte, fn func(key, value string, raw []byte)) error {
	return bytesFields(b, func(num protowire.Number, v []byte) error {
		if num != fHeaderMapHeaders {
			return nil
		}
		var key, value string
		var raw []byte
		err := bytesFields(v, func(num protowire.Number, fv []byte) (err error) {
			switch num {
			case fHeaderValueKey:
				key, err = str(fv)
			case fHeaderValueValue:
				value, err = str(fv)
			case fHeaderValueRaw:
				raw = fv
			}
			return err
		})
		if err != nil {
			return err
		}
		fn(key, value, raw)
		return nil
	})
}

// fill is fillRequest for the decoded fields.
func (w *wireCheck) fill(req *gatehouse.Request) error {
	if !w.hasHTTP {
		return ErrNoHTTPRequest
	}
	headers := w.headers
	switch {
	case len(headers) == 0 && w.hasHeaderMap:
		// Envoy's encode_raw_headers mode sends raw bytes instead of the map.
		headers = make(map[string]string)
		for _, hm := range w.headerMaps {
			_ = forEachHeaderValue(hm, func(key, value string, raw []byte) { // checked in http
				if len(raw) > 0 {
					value = string(raw)
				}
				k := strings.ToLower(key)
				if prev, ok := headers[k]; ok {
					value = prev + ", " + value
				}
				headers[k] = value
			})
		}
	case w.upperKeys:
		lower := make(map[string]string, len(headers))
		for k, v := range headers {
			lower[strings.ToLower(k)] = v
		}
		headers = lower
	}
	if headers == nil {
		headers = map[string]string{}
	}

	method := w.method
	if method == "" {
		method = headers[":method"]
	}
	target := w.path
	if target == "" {
		target = headers[":path"]
	}
	if method == "" || target == "" {
		return errNoMethodOrPath
	}
	host := w.host
	if host == "" {
		host = headers[":authority"]
	}
	path, query := gatehouse.SplitPathQuery(target)
	var body []byte
	if len(w.rawBody) > 0 {
		body = w.rawBody
	} else if w.body != "" {
		body = unsafe.Slice(unsafe.StringData(w.body), len(w.body))
		body = body[:len(body):len(body)]
	}
	*req = gatehouse.Request{
		Method:   strings.ToUpper(method),
		Path:     path,
		Query:    query,
		Host:     host,
		Headers:  headers,
		SourceIP: w.sourceIP(),
		Body:     body,
	}
	return nil
}

func (w *wireCheck) sourceIP() string {
	switch w.addrKind {
	case addrSocket:
		return w.socketAddress
	case addrPipe:
		return "unix:" + w.pipePath
	}
	return principalHost(w.principal)
}

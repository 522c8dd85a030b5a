package jwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxTokenBytes bounds the token a Verifier looks at, whatever the caller
// already checked (the credential parser caps headers at the same size).
const MaxTokenBytes = 16 << 10

var b64 = base64.RawURLEncoding.Strict()

// compact is a JWS compact serialization split and decoded.
type compact struct {
	header       []byte
	payload      []byte
	signature    []byte
	signingInput string // "header.payload" as sent: what the signature covers
}

// parseCompact accepts exactly three dot-separated segments of strict
// base64url without padding. Everything else — the JSON serialization, two
// or five segments, padding, whitespace, line breaks (which Go's base64
// decoder would otherwise skip) — is malformed. The signature segment may be
// empty here so that alg "none" is refused for its algorithm.
func parseCompact(tok string) (compact, error) {
	d1, d2 := -1, -1
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			switch {
			case d1 < 0:
				d1 = i
			case d2 < 0:
				d2 = i
			default:
				return compact{}, errors.New("more than three segments")
			}
		default:
			return compact{}, fmt.Errorf("byte %d is not base64url or '.'", i)
		}
	}
	if d2 < 0 {
		return compact{}, errors.New("fewer than three segments")
	}
	if d1 == 0 || d2 == d1+1 {
		return compact{}, errors.New("empty header or payload segment")
	}
	var c compact
	var err error
	if c.header, err = b64.DecodeString(tok[:d1]); err != nil {
		return compact{}, fmt.Errorf("header: %w", err)
	}
	if c.payload, err = b64.DecodeString(tok[d1+1 : d2]); err != nil {
		return compact{}, fmt.Errorf("payload: %w", err)
	}
	if c.signature, err = b64.DecodeString(tok[d2+1:]); err != nil {
		return compact{}, fmt.Errorf("signature: %w", err)
	}
	c.signingInput = tok[:d2]
	return c, nil
}

// header holds the JOSE header members the Verifier acts on. jku, x5u, jwk
// and x5c are deliberately absent: a key named by the token itself is never
// used to verify it.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
	B64  *bool           `json:"b64"`
}

func decodeHeader(b []byte) (header, error) {
	var h header
	if !isObject(b) {
		return h, errors.New("header is not a JSON object")
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

func decodeClaims(b []byte) (map[string]any, error) {
	if !isObject(b) {
		return nil, errors.New("payload is not a JSON object")
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return claims, nil
}

// isObject reports whether b starts, after white space, with '{': json
// decodes "null" into a struct or map without complaint.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

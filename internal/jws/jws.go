// Package jws splits and decodes a JWS compact serialization strictly, for
// the authenticators that verify tokens themselves (authn/jwt, authn/agent,
// authn/peer): one reading of "three segments of base64url", so that a
// token shape one of them refuses is refused by all. It checks no
// algorithm, key or claim. Standard library only.
package jws

import (
	"encoding/base64"
	"errors"
	"fmt"
)

var b64 = base64.RawURLEncoding.Strict()

// base64URL marks the bytes of the base64url alphabet: one load per byte of
// the token instead of five comparisons.
var base64URL = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

// Compact is a JWS compact serialization split and decoded.
type Compact struct {
	Header    []byte
	Payload   []byte
	Signature []byte
	// SigningInput is "header.payload" as sent: what the signature covers.
	SigningInput string
}

// Parse accepts exactly three dot-separated segments of strict base64url
// without padding. Everything else — the JSON serialization, two or five
// segments, padding, whitespace, line breaks (which Go's base64 decoder
// would otherwise skip) — is malformed. The signature segment may be empty,
// so that a caller can refuse alg "none" for its algorithm; callers that
// need a signature check its length.
func Parse(tok string) (Compact, error) {
	d1, d2 := -1, -1
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case base64URL[c]:
		case c == '.':
			switch {
			case d1 < 0:
				d1 = i
			case d2 < 0:
				d2 = i
			default:
				return Compact{}, errors.New("more than three segments")
			}
		default:
			return Compact{}, fmt.Errorf("byte %d is not base64url or '.'", i)
		}
	}
	if d2 < 0 {
		return Compact{}, errors.New("fewer than three segments")
	}
	if d1 == 0 || d2 == d1+1 {
		return Compact{}, errors.New("empty header or payload segment")
	}
	// One allocation for the three decoded segments.
	h, p, sig := tok[:d1], tok[d1+1:d2], tok[d2+1:]
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(sig)))
	var c Compact
	var err error
	if c.Header, buf, err = decodeInto(buf, h); err != nil {
		return Compact{}, fmt.Errorf("header: %w", err)
	}
	if c.Payload, buf, err = decodeInto(buf, p); err != nil {
		return Compact{}, fmt.Errorf("payload: %w", err)
	}
	if c.Signature, _, err = decodeInto(buf, sig); err != nil {
		return Compact{}, fmt.Errorf("signature: %w", err)
	}
	c.SigningInput = tok[:d2]
	return c, nil
}

// decodeInto decodes seg at the start of buf and returns it (capacity
// capped, so appending to it copies) and the rest of buf.
func decodeInto(buf []byte, seg string) (decoded, rest []byte, err error) {
	n, err := b64.Decode(buf, []byte(seg))
	if err != nil {
		return nil, nil, err
	}
	return buf[:n:n], buf[n:], nil
}

// IsObject reports whether b starts, after white space, with '{': json
// decodes "null" into a struct or map without complaint.
func IsObject(b []byte) bool {
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

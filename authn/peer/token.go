package peer

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/jws"
)

// Algorithm is the only JWS algorithm peer tokens may use (PR-11).
const Algorithm = "HS256"

// MaxTokenBytes bounds a peer token before any decoding.
const MaxTokenBytes = 8 << 10

// Claim length limits.
const (
	MaxPeerIDLen = 253
	MinJTILen    = 16
	MaxJTILen    = 128
)

// Claims are a peer token's claims. The JSON field order is the one
// docs/peer-auth.md's worked example uses.
type Claims struct {
	// Peer names the sending host (HOST_ID, else the system host name).
	Peer string `json:"peer"`
	// IssuedAt and Expires are seconds since the Unix epoch.
	IssuedAt int64 `json:"iat"`
	Expires  int64 `json:"exp"`
	// ID is unique per token; the receiver remembers it until Expires.
	ID string `json:"jti"`
	// NotBefore is optional (0: absent).
	NotBefore int64 `json:"nbf,omitempty"`
	// Method, Target and BodyHash bind the token to one request (signed
	// requests): the HTTP method, the path with its query, and the
	// unpadded base64url SHA-256 of the body. All three or none.
	Method   string `json:"htm,omitempty"`
	Target   string `json:"htp,omitempty"`
	BodyHash string `json:"hbs,omitempty"`

	// present records which registered claims the token carried; set by
	// Parse only.
	present map[string]bool
}

// Bound reports whether the claims bind a request.
func (c *Claims) Bound() bool { return c.Method != "" || c.Target != "" || c.BodyHash != "" }

// Has reports whether a parsed token carried the claim name.
func (c *Claims) Has(name string) bool { return c.present[name] }

// headerJSON is the header every Gatehouse signer writes.
const headerJSON = `{"alg":"HS256","typ":"JWT"}`

var b64 = base64.RawURLEncoding.Strict()

// BodyHash returns the hbs claim value for body: unpadded base64url of its
// SHA-256 digest (an empty body hashes too).
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return b64.EncodeToString(sum[:])
}

// Sign serialises c (compact JSON, the field order of Claims, no HTML
// escaping) and returns the compact JWS signed with secret.
func Sign(secret []byte, c Claims) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("peer: empty secret")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return "", fmt.Errorf("peer: encode claims: %w", err)
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	input := b64.EncodeToString([]byte(headerJSON)) + "." + b64.EncodeToString(payload)
	return input + "." + b64.EncodeToString(mac(secret, input)), nil
}

func mac(secret []byte, input string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return m.Sum(nil)
}

// Token is a parsed, not yet verified, peer token.
type Token struct {
	Claims Claims
	// signingInput is header.payload as received; sig the decoded signature.
	signingInput string
	sig          []byte
}

// Verify reports whether the token is signed with one of secrets. Every
// secret is tried, in constant time each.
func (t *Token) Verify(secrets [][]byte) bool {
	ok := false
	for _, s := range secrets {
		if hmac.Equal(mac(s, t.signingInput), t.sig) {
			ok = true
		}
	}
	return ok
}

// Parse decodes a compact HS256 JWS strictly: three base64url segments
// without padding, a header whose alg is exactly HS256 and that names no
// other parameter than typ ("JWT") and kid, a payload that is one JSON
// object without duplicate names, and well-typed registered claims. It
// checks no signature and no time: Verify and the Authenticator do. Errors
// are *gatehouse.AuthError values with a stable reason.
func Parse(token string) (*Token, error) {
	if len(token) > MaxTokenBytes {
		return nil, gatehouse.Refuse(gatehouse.ReasonCredentialTooLarge, "peer: token of %d bytes", len(token))
	}
	jt, err := jws.Parse(token)
	if err != nil {
		return nil, malformed("%v", err)
	}
	header, err := object(jt.Header)
	if err != nil {
		return nil, malformed("header: %v", err)
	}
	var alg string
	if raw, ok := header["alg"]; !ok || json.Unmarshal(raw, &alg) != nil {
		return nil, malformed("header without a string alg")
	}
	if alg != Algorithm {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenAlgorithm, "peer: alg %.20q, only HS256 is accepted", alg)
	}
	if _, ok := header["crit"]; ok { // before the loop: map order must not pick the reason
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenCritical, "peer: crit header")
	}
	for name, raw := range header {
		switch name {
		case "alg":
		case "typ":
			var typ string
			if json.Unmarshal(raw, &typ) != nil || !strings.EqualFold(typ, "JWT") {
				return nil, malformed("typ must be JWT")
			}
		case "kid":
			var kid string
			if json.Unmarshal(raw, &kid) != nil {
				return nil, malformed("kid must be a string")
			}
		default:
			return nil, malformed("header parameter %.20q not allowed", name)
		}
	}
	if len(jt.Signature) != sha256.Size {
		return nil, malformed("signature is not 32 bytes")
	}
	payload, err := object(jt.Payload)
	if err != nil {
		return nil, malformed("payload: %v", err)
	}
	t := &Token{signingInput: jt.SigningInput, sig: jt.Signature}
	c := &t.Claims
	c.present = make(map[string]bool, len(payload))
	for name, raw := range payload {
		var err error
		switch name {
		case "peer":
			err = str(raw, &c.Peer)
		case "jti":
			err = str(raw, &c.ID)
		case "htm":
			err = str(raw, &c.Method)
		case "htp":
			err = str(raw, &c.Target)
		case "hbs":
			err = str(raw, &c.BodyHash)
		case "iat":
			err = numericDate(raw, &c.IssuedAt)
		case "exp":
			err = numericDate(raw, &c.Expires)
		case "nbf":
			err = numericDate(raw, &c.NotBefore)
		default:
			continue // other claims (aud, …) are ignored
		}
		if err != nil {
			return nil, malformed("claim %s: %v", name, err)
		}
		c.present[name] = true
	}
	if !c.present["peer"] {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenClaimMissing, "peer: no peer claim")
	}
	if err := validPeerID(c.Peer); err != nil {
		return nil, malformed("peer claim: %v", err)
	}
	if n := 0; c.present["htm"] || c.present["htp"] || c.present["hbs"] {
		for _, k := range []string{"htm", "htp", "hbs"} {
			if c.present[k] {
				n++
			}
		}
		if n != 3 {
			return nil, malformed("htm, htp and hbs go together")
		}
	}
	return t, nil
}

func malformed(format string, args ...any) *gatehouse.AuthError {
	return gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "peer: "+format, args...)
}

func str(raw json.RawMessage, dst *string) error {
	if err := json.Unmarshal(raw, dst); err != nil {
		return errors.New("not a string")
	}
	return nil
}

// numericDate accepts a JSON integer of seconds (no fraction, no exponent).
func numericDate(raw json.RawMessage, dst *int64) error {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' { // json.Number would take "123" too
		return errors.New("not a non-negative integer")
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return errors.New("not a number")
	}
	v, err := n.Int64()
	if err != nil || v < 0 {
		return errors.New("not a non-negative integer")
	}
	*dst = v
	return nil
}

// object decodes one JSON object into its members, refusing duplicate names
// and anything after the closing brace.
func object(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("bad JSON")
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("bad JSON")
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("duplicate member %.20q", name)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New("bad JSON")
		}
		out[name] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("bad JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return out, nil
}

// validPeerID accepts 1 to MaxPeerIDLen printable ASCII characters without
// spaces: host names, addresses and ids of the PEERS grammar.
func validPeerID(s string) error {
	if s == "" || len(s) > MaxPeerIDLen {
		return fmt.Errorf("length %d outside 1..%d", len(s), MaxPeerIDLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ',' || c == '=' {
			return errors.New("control, space, comma, '=' or non-ASCII character")
		}
	}
	return nil
}

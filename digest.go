package gatehouse

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// volatileClaim reports the claims that differ between two tokens of the same
// principal with the same rights (times, ids, hashes). A policy that allows
// decision caching promises not to decide on them.
func volatileClaim(name string) bool {
	switch name {
	case "exp", "iat", "nbf", "jti", "auth_time", "nonce", "at_hash", "c_hash", "sid", "uti", "rh":
		return true
	}
	return false
}

// ComputeDigest fills Digest with a SHA-256 over the identity's content:
// kind, subject, groups, permissions, issuer and its claims except the
// volatile ones, in a canonical, type-tagged encoding. Two tokens of the same
// principal with the same claims get the same digest, which is what lets
// decisions be cached across distinct tokens.
func (id *Identity) ComputeDigest() {
	// The encoding is appended to one buffer, on the stack for a typical
	// identity, and hashed once: a Write per field through hash.Hash cost an
	// allocation per tag and string.
	var stack [1024]byte
	b := appendStr(stack[:0], string(id.Kind))
	b = appendStr(b, id.Subject)
	b = appendStrs(b, id.Groups)
	b = appendStrs(b, id.Permissions)
	b = appendStr(b, id.Issuer)
	if id.Claims == nil {
		b = append(b, '0')
	} else {
		var keyStack [32]string
		keys := keyStack[:0]
		for k := range id.Claims {
			if !volatileClaim(k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		b = append(b, '{')
		b = appendLength(b, len(keys))
		for _, k := range keys {
			b = appendStr(b, k)
			b = appendValue(b, id.Claims[k], 0)
		}
	}
	id.Digest = sha256.Sum256(b)
}

func appendLength(b []byte, n int) []byte { return binary.BigEndian.AppendUint64(b, uint64(n)) }

func appendStr(b []byte, s string) []byte {
	b = append(b, 's')
	b = appendLength(b, len(s))
	return append(b, s...)
}

func appendStrs(b []byte, ss []string) []byte {
	b = append(b, '[')
	b = appendLength(b, len(ss))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

// maxDepth bounds recursion over hostile claim nesting; deeper values are
// hashed through their JSON text.
const maxDepth = 32

func appendValue(b []byte, v any, depth int) []byte {
	if depth > maxDepth {
		j, _ := json.Marshal(v)
		return appendJSON(b, j)
	}
	switch x := v.(type) {
	case nil:
		return append(b, 'n')
	case bool:
		if x {
			return append(b, 't')
		}
		return append(b, 'f')
	case string:
		return appendStr(b, x)
	case float64:
		b = append(b, 'd')
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x))
	case json.Number:
		b = append(b, '#')
		return appendStr(b, string(x))
	case []any:
		b = append(b, '[')
		b = appendLength(b, len(x))
		for _, e := range x {
			b = appendValue(b, e, depth+1)
		}
		return b
	case []string:
		return appendStrs(b, x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		b = appendLength(b, len(keys))
		for _, k := range keys {
			b = appendStr(b, k)
			b = appendValue(b, x[k], depth+1)
		}
		return b
	default:
		// Other types (int64 from some decoders, …): their JSON text is canonical
		// enough; a mismatch only costs a cache miss.
		j, err := json.Marshal(x)
		if err != nil {
			j = fmt.Appendf(nil, "%T:%v", x, x)
		}
		return appendJSON(b, j)
	}
}

func appendJSON(b, j []byte) []byte {
	b = append(b, 'j')
	b = appendLength(b, len(j))
	return append(b, j...)
}

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
	// The encoding is built in one buffer and hashed once: a Write per
	// field through hash.Hash cost an allocation per tag and string.
	var d digester
	d.b = d.stack[:0]
	d.str(string(id.Kind))
	d.str(id.Subject)
	d.strs(id.Groups)
	d.strs(id.Permissions)
	d.str(id.Issuer)
	if id.Claims == nil {
		d.tag('0')
	} else {
		keys := make([]string, 0, len(id.Claims))
		for k := range id.Claims {
			if !volatileClaim(k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		d.tag('{')
		d.length(len(keys))
		for _, k := range keys {
			d.str(k)
			d.value(id.Claims[k], 0)
		}
	}
	id.Digest = sha256.Sum256(d.b)
}

type digester struct {
	b     []byte
	stack [1024]byte
}

func (d *digester) tag(t byte) { d.b = append(d.b, t) }

func (d *digester) length(n int) { d.b = binary.BigEndian.AppendUint64(d.b, uint64(n)) }

func (d *digester) str(s string) {
	d.tag('s')
	d.length(len(s))
	d.b = append(d.b, s...)
}

func (d *digester) strs(ss []string) {
	d.tag('[')
	d.length(len(ss))
	for _, s := range ss {
		d.str(s)
	}
}

// maxDepth bounds recursion over hostile claim nesting; deeper values are
// hashed through their JSON text.
const maxDepth = 32

func (d *digester) value(v any, depth int) {
	if depth > maxDepth {
		b, _ := json.Marshal(v)
		d.tag('j')
		d.length(len(b))
		d.b = append(d.b, b...)
		return
	}
	switch x := v.(type) {
	case nil:
		d.tag('n')
	case bool:
		if x {
			d.tag('t')
		} else {
			d.tag('f')
		}
	case string:
		d.str(x)
	case float64:
		d.tag('d')
		d.b = binary.BigEndian.AppendUint64(d.b, math.Float64bits(x))
	case json.Number:
		d.tag('#')
		d.str(string(x))
	case []any:
		d.tag('[')
		d.length(len(x))
		for _, e := range x {
			d.value(e, depth+1)
		}
	case []string:
		d.strs(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		d.tag('{')
		d.length(len(keys))
		for _, k := range keys {
			d.str(k)
			d.value(x[k], depth+1)
		}
	default:
		// Other types (int64 from some decoders, …): their JSON text is canonical
		// enough; a mismatch only costs a cache miss.
		b, err := json.Marshal(x)
		if err != nil {
			b = fmt.Appendf(nil, "%T:%v", x, x)
		}
		d.tag('j')
		d.length(len(b))
		d.b = append(d.b, b...)
	}
}

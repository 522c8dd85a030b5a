package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// fuzzGoodJWK is a usable Ed25519 public key with kid "good".
const fuzzGoodJWK = `{"kty":"OKP","crv":"Ed25519","kid":"good","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`

// FuzzKeySetFromJWKS feeds JWKS documents as an IdP would serve them. It
// never panics; a set it builds holds only public keys of the families it
// supports, each allowing asymmetric algorithms only (never HS* or none),
// RSA keys of at least MinRSABits. Promise 2: whatever one more member
// holds, next to a good key it never makes that key unusable.
// Seeds: testdata/fuzz/FuzzKeySetFromJWKS.
func FuzzKeySetFromJWKS(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc, member []byte) {
		if set, err := KeySetFromJWKS(doc); err == nil {
			checkKeySet(t, set)
		}
		if !json.Valid(member) {
			return
		}
		var buf bytes.Buffer
		buf.WriteString(`{"keys":[` + fuzzGoodJWK + `,`)
		buf.Write(member)
		buf.WriteString(`]}`)
		set, err := KeySetFromJWKS(buf.Bytes())
		if err != nil || !slices.Contains(set.KIDs(), "good") {
			t.Fatalf("member %s made the good key unusable: %v", member, err)
		}
		checkKeySet(t, set)
	})
}

func checkKeySet(t *testing.T, set *KeySet) {
	t.Helper()
	if set.Len() == 0 {
		t.Fatal("empty set built")
	}
	for _, k := range set.keys {
		if len(k.algs) == 0 {
			t.Fatalf("kid %q allows no algorithm", k.kid)
		}
		for _, a := range k.algs {
			if strings.HasPrefix(a, "HS") || strings.EqualFold(a, "none") {
				t.Fatalf("kid %q allows %s", k.kid, a)
			}
		}
		switch pub := k.pub.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < MinRSABits {
				t.Fatalf("kid %q: RSA key of %d bits", k.kid, pub.N.BitLen())
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			t.Fatalf("kid %q: key of type %T", k.kid, k.pub)
		}
	}
}

package rsapkcs1

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // hash functions the tests digest with
	_ "crypto/sha256"
	_ "crypto/sha512"
	"math/big"
	"sync"
	"testing"
)

// keys are generated once per test process: 2048, 3072 and 4096 bits.
var keys = sync.OnceValue(func() []*rsa.PrivateKey {
	var out []*rsa.PrivateKey
	for _, bits := range []int{2048, 3072, 4096} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		out = append(out, k)
	}
	return out
})

func digest(h crypto.Hash, msg []byte) []byte {
	d := h.New()
	d.Write(msg)
	return d.Sum(nil)
}

func TestVerify(t *testing.T) {
	for _, priv := range keys() {
		pub, err := New(&priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			msg := []byte("header.payload")
			hashed := digest(h, msg)
			sig, err := rsa.SignPKCS1v15(rand.Reader, priv, h, hashed)
			if err != nil {
				t.Fatal(err)
			}
			n := priv.N
			tests := []struct {
				name string
				h    crypto.Hash
				hash []byte
				sig  []byte
				ok   bool
			}{
				{"valid", h, hashed, sig, true},
				{"another message", h, digest(h, []byte("header.payloaD")), sig, false},
				{"a bit flipped", h, hashed, flip(sig, len(sig)/2), false},
				{"last bit flipped", h, hashed, flip(sig, len(sig)-1), false},
				{"one byte short", h, hashed, sig[1:], false},
				{"one byte long", h, hashed, append([]byte{0}, sig...), false},
				{"empty", h, hashed, nil, false},
				{"zero", h, hashed, make([]byte, len(sig)), false},
				{"one", h, hashed, n1(big.NewInt(1), len(sig)), false},
				{"n", h, hashed, n1(n, len(sig)), false},
				{"n-1", h, hashed, n1(new(big.Int).Sub(n, big.NewInt(1)), len(sig)), false},
				{"s+n (same residue, too long a number)", h, hashed, n1(new(big.Int).Add(new(big.Int).SetBytes(sig), n), len(sig)), false},
				{"another hash named", other(h), digest(other(h), msg), sig, false},
				{"digest of the wrong length", h, hashed[1:], sig, false},
				{"unsupported hash", crypto.SHA1, digest(crypto.SHA1, msg), sig, false},
			}
			for _, tt := range tests {
				got := pub.Verify(tt.h, tt.hash, tt.sig) == nil
				std := rsa.VerifyPKCS1v15(&priv.PublicKey, tt.h, tt.hash, tt.sig) == nil
				if got != tt.ok || got != std {
					t.Errorf("%d bits %v %s: ours %v, crypto/rsa %v, want %v", priv.N.BitLen(), h, tt.name, got, std, tt.ok)
				}
			}
		}
	}
}

func TestNewRefusesWhatCryptoRSARefuses(t *testing.T) {
	n := keys()[0].N
	even := new(big.Int).Add(n, big.NewInt(1))
	for _, tt := range []struct {
		name string
		pub  *rsa.PublicKey
	}{
		{"nil", nil},
		{"no modulus", &rsa.PublicKey{E: 65537}},
		{"even modulus", &rsa.PublicKey{N: even, E: 65537}},
		{"e = 1", &rsa.PublicKey{N: n, E: 1}},
		{"even e", &rsa.PublicKey{N: n, E: 65536}},
		{"e ≥ 2^31", &rsa.PublicKey{N: n, E: 1<<31 + 1}},
	} {
		if _, err := New(tt.pub); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if _, err := New(&rsa.PublicKey{N: n, E: 3}); err != nil {
		t.Errorf("e = 3: %v", err)
	}
}

// FuzzVerifyAgreesWithCryptoRSA: for any message and any signature — a
// real one with fuzzed bytes XORed in, or fuzzed bytes alone — Verify
// accepts exactly what rsa.VerifyPKCS1v15 accepts.
func FuzzVerifyAgreesWithCryptoRSA(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.e30"), []byte{}, uint8(0))
	f.Add([]byte("m"), []byte{1}, uint8(1))
	f.Add([]byte("m"), bytes.Repeat([]byte{0xff}, 256), uint8(2))
	f.Add([]byte(""), []byte{0, 0, 0, 1}, uint8(5))
	priv := keys()[0]
	pub, err := New(&priv.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg, mutation []byte, mode uint8) {
		h := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}[mode%3]
		hashed := digest(h, msg)
		var sig []byte
		if mode&4 == 0 {
			s, err := rsa.SignPKCS1v15(nil, priv, h, hashed)
			if err != nil {
				t.Fatal(err)
			}
			for i, b := range mutation {
				s[i%len(s)] ^= b
			}
			sig = s
		} else {
			sig = mutation
		}
		got := pub.Verify(h, hashed, sig) == nil
		if std := rsa.VerifyPKCS1v15(&priv.PublicKey, h, hashed, sig) == nil; got != std {
			t.Fatalf("%v sig %x: ours %v, crypto/rsa %v", h, sig, got, std)
		}
	})
}

func BenchmarkVerifyRS256(b *testing.B) {
	priv := keys()[0]
	hashed := digest(crypto.SHA256, []byte("header.payload"))
	sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, hashed)
	pub, _ := New(&priv.PublicKey)
	b.Run("rsapkcs1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if pub.Verify(crypto.SHA256, hashed, sig) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, hashed, sig) != nil {
				b.Fatal("refused")
			}
		}
	})
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

// n1 is x as a big-endian number of size bytes (longer if it does not fit).
func n1(x *big.Int, size int) []byte {
	b := x.Bytes()
	if len(b) >= size {
		return b
	}
	return append(make([]byte, size-len(b)), b...)
}

func other(h crypto.Hash) crypto.Hash {
	if h == crypto.SHA256 {
		return crypto.SHA384
	}
	return crypto.SHA256
}

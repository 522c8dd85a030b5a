package secret

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestDigestIsSHA256(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"long", strings.Repeat("x", 4096), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Digest(tt.in)
			want := sha256.Sum256([]byte(tt.in))
			if got != want {
				t.Fatalf("Digest(%q) = %x, want %x", tt.name, got, want)
			}
			if tt.want != "" && hex.EncodeToString(got[:]) != tt.want {
				t.Fatalf("Digest = %x, want %s", got, tt.want)
			}
		})
	}
}

func TestDigestDoesNotAllocate(t *testing.T) {
	// Caches digest every credential on the hot path.
	tok := strings.Repeat("eyJhbGciOiJSUzI1NiJ9", 40)
	if n := testing.AllocsPerRun(100, func() { _ = Digest(tok) }); n != 0 {
		t.Fatalf("Digest allocates %v times per call, want 0", n)
	}
}

func TestDigestPrefix(t *testing.T) {
	got := DigestPrefix("abc")
	if got != "ba7816bf" {
		t.Fatalf("DigestPrefix(abc) = %q, want ba7816bf", got)
	}
	if strings.Contains(DigestPrefix("secret-token"), "secret") {
		t.Fatal("prefix reveals the input")
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same", "s3cret", "s3cret", true},
		{"both empty", "", "", true},
		{"different last byte", "s3cret", "s3creT", false},
		{"prefix", "s3cret", "s3cre", false},
		{"empty vs value", "", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Fatalf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestRandomToken(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tok, err := RandomToken(32)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 {
			t.Fatalf("len = %d, want 43 (32 bytes, base64url, no padding)", len(tok))
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q does not decode to 32 bytes: %v", tok, err)
		}
		if seen[tok] {
			t.Fatal("RandomToken repeated a value")
		}
		seen[tok] = true
	}
	for _, n := range []int{0, -1} {
		if _, err := RandomToken(n); err == nil {
			t.Fatalf("RandomToken(%d) succeeded", n)
		}
	}
}

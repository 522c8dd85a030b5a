package issuer

import (
	"bytes"
	"encoding/base32"
	"strings"
	"testing"
	"time"
)

// TestMF04TOTPVectors: RFC 6238 appendix B (SHA-1), truncated to 6 digits,
// 30 s steps; a code is never accepted twice; one step of skew.
func TestMF04TOTPVectors(t *testing.T) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	for _, tc := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := TOTPCode(secret, TOTPStep(time.Unix(tc.unix, 0)))
		if err != nil || got != tc.want {
			t.Errorf("t=%d: %s %v, want %s", tc.unix, got, err, tc.want)
		}
	}
	now := time.Unix(1234567890, 0)
	code, _ := TOTPCode(secret, TOTPStep(now))
	step := matchTOTP(secret, code, now, 0)
	if step != TOTPStep(now) {
		t.Fatalf("match %d", step)
	}
	if matchTOTP(secret, code, now, step) >= 0 {
		t.Fatal("the same step accepted twice")
	}
	prev, _ := TOTPCode(secret, TOTPStep(now)-1)
	if matchTOTP(secret, prev, now, 0) < 0 {
		t.Fatal("one step of skew refused")
	}
	old, _ := TOTPCode(secret, TOTPStep(now)-3)
	if matchTOTP(secret, old, now, 0) >= 0 {
		t.Fatal("a code three steps old accepted")
	}
	u := OTPAuthURL("Gatehouse", "ada@example.com", secret)
	if !strings.HasPrefix(u, "otpauth://totp/Gatehouse:ada@example.com?") || !strings.Contains(u, "secret="+secret) {
		t.Fatalf("otpauth %s", u)
	}
}

func TestSealerBindsKeyAndLabel(t *testing.T) {
	k1 := bytes.Repeat([]byte{1}, 32)
	k2 := bytes.Repeat([]byte{2}, 32)
	s1, _ := NewSealer(k1)
	s2, _ := NewSealer(k2)
	sealed, err := s1.Seal([]byte("private key"), "signing-key:a")
	if err != nil || bytes.Contains(sealed, []byte("private key")) {
		t.Fatalf("%v", err)
	}
	if got, err := s1.Open(sealed, "signing-key:a"); err != nil || string(got) != "private key" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := s2.Open(sealed, "signing-key:a"); err == nil {
		t.Fatal("another key opened it")
	}
	if _, err := s1.Open(sealed, "totp:a"); err == nil {
		t.Fatal("another label opened it")
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
	dir := t.TempDir()
	a, err := LoadOrCreateKeyFile(dir)
	b, err2 := LoadOrCreateKeyFile(dir)
	if err != nil || err2 != nil || !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("key file: %v %v", err, err2)
	}
}

func TestPasswordPolicy(t *testing.T) {
	err := CheckPasswordPolicy("short")
	pe, ok := err.(*PolicyError)
	if !ok || len(pe.Rules) != 3 || !strings.Contains(err.Error(), "Password must be at least 12 characters") {
		t.Fatalf("%v", err)
	}
	if err := CheckPasswordPolicy("NewSecurePass456!"); err != nil {
		t.Fatal(err)
	}
}

package jws

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, tok string
		ok        bool
	}{
		{"three segments", "eyJ9.e30.c2ln", true},
		{"empty signature (alg none is the caller's to refuse)", "eyJ9.e30.", true},
		{"two segments", "eyJ9.e30", false},
		{"four segments", "eyJ9.e30.c2ln.x", false},
		{"five segments (JWE shape)", "eyJ9..e30.c2ln.x", false},
		{"empty header", ".e30.c2ln", false},
		{"empty payload", "eyJ9..c2ln", false},
		{"padding", "eyJ9.e30=.c2ln", false},
		{"line break, which base64 alone would skip", "eyJ9.e3\n0.c2ln", false},
		{"standard alphabet", "eyJ9.e30.c2l+", false},
		{"not base64 at all", "eyJ9.e.c2ln", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.tok)
			if (err == nil) != tc.ok {
				t.Fatalf("Parse(%q) error %v, want ok=%v", tc.tok, err, tc.ok)
			}
			if tc.ok && (c.SigningInput+"." != tc.tok[:len(c.SigningInput)+1] || !bytes.Equal(c.Payload, []byte("{}"))) {
				t.Fatalf("Parse(%q) = %+v", tc.tok, c)
			}
		})
	}
}

func TestIsObject(t *testing.T) {
	for in, want := range map[string]bool{`{}`: true, " \n\t{": true, `null`: false, `[]`: false, ``: false, `  `: false} {
		if got := IsObject([]byte(in)); got != want {
			t.Errorf("IsObject(%q) = %v", in, got)
		}
	}
}

// TestParseAlphabet: every byte value, placed in the payload segment, is
// accepted exactly when it belongs to the base64url alphabet.
func TestParseAlphabet(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for c := range 256 {
		// "e30" + c + "AA" is 6 characters: valid base64url length whatever c decodes to.
		tok := "eyJ9.e30" + string([]byte{byte(c)}) + "AA.c2ln"
		_, err := Parse(tok)
		if want := bytes.IndexByte([]byte(alphabet), byte(c)) >= 0; (err == nil) != want {
			t.Errorf("byte %#x: Parse error %v, want accepted=%v", c, err, want)
		}
	}
}

// TestParseAllocatesOnce: the three segments are decoded into one buffer
// (Parse runs for every new token on the Check path).
func TestParseAllocatesOnce(t *testing.T) {
	e := base64.RawURLEncoding
	tok := e.EncodeToString([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`)) + "." +
		e.EncodeToString([]byte(`{"iss":"https://issuer.example","sub":"user-42","aud":"gatehouse","exp":1700000000}`)) + "." +
		e.EncodeToString(make([]byte, 256))
	c, err := Parse(tok)
	if err != nil || string(c.Header) != `{"alg":"RS256","kid":"k1","typ":"JWT"}` || len(c.Signature) != 256 {
		t.Fatalf("Parse = %q, %v", c.Header, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(tok) }); n != 1 {
		t.Fatalf("Parse allocated %v times, want 1", n)
	}
	// The header's capacity ends where the payload starts.
	if h := append(c.Header, '!'); &h[0] == &c.Header[0] {
		t.Fatal("appending to the header would overwrite the payload")
	}
}

package jsonobj

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// claimSet is a realistic access-token payload (~400 bytes) for the
// benchmark and the seed corpus.
const claimSet = `{"iss":"https://id.example.com/realms/gatehouse","sub":"8f14e45f-ceea-467e-9a75-5e0e5a1b2c3d",` +
	`"aud":"gatehouse-api","exp":1765112400,"iat":1765108800,"nbf":1765108800,` +
	`"jti":"3f1c6f0e-9a41-4e55-8f1e-1b8d4c7a2e90","email":"alice@example.com","name":"Alice Example",` +
	`"groups":["sre","platform-admins","on-call"],` +
	`"realm_access":{"roles":["offline_access","uma_authorization","gatehouse-admin"]},"azp":"gatehouse-cli"}`

// seeds are realistic claim sets and the edge cases where a hand-written
// decoder tends to part from encoding/json.
var seeds = []string{
	claimSet,
	`{"iss":"https://issuer.example","sub":"u1","aud":["a","b"],"exp":1.7651124e9,"iat":1765108800.25,"nbf":17651088E2}`,
	`{"aud":[],"groups":[],"resource_access":{"gatehouse":{"roles":["admin"]},"account":{"roles":[]}},"scope":"openid email"}`,
	`{"name":"Zoë Ünïcødé 日本語 🎉","esc":"\"\\\/\b\f\n\r\t","u":"\u00e9\u65E5\ud83c\udf89"}`,
	` 	{ "a" : 1 , "b" : [ 1 , 2 ] , "c" : { } } ` + "\r\n",
	`{"a":1,"a":2,"a":{"x":1},"a":"last"}`,
	`{"lone-high":"\ud800","lone-low":"\udc00x","high-high":"\ud800\ud800\udc00","high-other":"\ud800\u0041","high-bad":"\ud800\u00zz"}`,
	`{"hi-then-text":"\ud83cabc","bad":"\ud83c\n"}`,
	"{\"invalid-utf8\":\"a\xffb\xc3\",\"trunc\":\"\xe6\x97\",\"surrogate-utf8\":\"\xed\xa0\x80\",\"\xff\":1}",
	"{\"ctl\":\"a\x01b\"}",
	"{\"tab\":\"a\tb\"}",
	"{\"del\":\"a\x7fb\"}",
	`{"n":[0,-0,1,-1,0.5,-0.5,1e10,1E+10,1e-10,123456789012345678901234567890,1.7976931348623157e308,5e-324,1e-400]}`,
	`{"big":1e400}`,
	`{"big":-1e309}`,
	`{"a":01}`, `{"a":+1}`, `{"a":.5}`, `{"a":1.}`, `{"a":1e}`, `{"a":1e+}`, `{"a":-}`, `{"a":--1}`, `{"a":0x10}`, `{"a":1_0}`,
	`{"a":NaN}`, `{"a":Infinity}`, `{"a":-Infinity}`,
	`{"t":true,"f":false,"n":null}`, `{"a":tru}`, `{"a":True}`, `{"a":nul}`, `{"a":nulll}`, `{"a":truefalse}`,
	`{}`, `{ }`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a" 1}`, `{'a':1}`, `{a:1}`,
	`{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":[}`, `{"a":]}`,
	`{}x`, `{}{}`, `{} `, "{}\v", "{}\f", "\v{}", "{}\u00a0", "\xef\xbb\xbf{}",
	`{"a":"\x"}`, `{"a":"\'"}`, `{"a":"\u12"}`, `{"a":"\U0041"}`, `{"a":"unterminated}`, `{"a":"\`,
	`{"a":1}` + "\x00",
	`{"nested":{"a":{"b":{"c":[[[{"d":null}]]]}}}}`,
	`{"": "", "k": ""}`,
}

func decodeJSON(b []byte) (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(b, &m)
	return m, err
}

// compare holds Decode to encoding/json for inputs starting with '{'.
func compare(t *testing.T, b []byte) {
	t.Helper()
	got, err := Decode(b)
	if !bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{")) {
		if err == nil {
			t.Fatalf("Decode(%q) = %v, want an error for a non-object", b, got)
		}
		return
	}
	want, wantErr := decodeJSON(b)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("Decode(%q): error %v, encoding/json: %v", b, err, wantErr)
	}
	if err != nil {
		if got != nil {
			t.Fatalf("Decode(%q) = %v with error %v, want nil", b, got, err)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q)\n got %#v\nwant %#v", b, got, want)
	}
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		compare(t, []byte(s))
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]any
	}{
		{`{}`, map[string]any{}},
		{`{"aud":[]}`, map[string]any{"aud": []any{}}},
		{`{"a":1,"a":2}`, map[string]any{"a": 2.0}},
		{`{"x":{"y":[true,false,null,"s",1.5e2]}}`, map[string]any{"x": map[string]any{"y": []any{true, false, nil, "s", 150.0}}}},
		{`{"s":"\u00e9\ud83c\udf89\ud800"}`, map[string]any{"s": "é🎉\uFFFD"}},
		{"{\"s\":\"a\xffb\"}", map[string]any{"s": "a\uFFFDb"}},
		{`{"s":"\ud800\u0041"}`, map[string]any{"s": "\uFFFDA"}},
	} {
		got, err := Decode([]byte(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, in := range []string{
		``, `   `, `null`, ` null `, `[]`, `"s"`, `1`, `true`, // not an object (null: see Decode)
		`{"a":1e400}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`,
		"{\"a\":\"\x1f\"}", `{"a":"\q"}`, `{} x`, `{"a":1}}`,
	} {
		if m, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) = %v, want an error", in, m)
		}
	}
}

func TestNegativeZero(t *testing.T) {
	m, err := Decode([]byte(`{"z":-0,"y":-0.0e5}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		if f := v.(float64); f != 0 || !math.Signbit(f) {
			t.Errorf("%s = %v, want -0", k, f)
		}
	}
}

// TestDepth pins encoding/json's limit: 10000 nested containers, the
// top-level object included, and not one more.
func TestDepth(t *testing.T) {
	nest := func(n int, open, close string) []byte {
		return []byte(`{"a":` + strings.Repeat(open, n-2) + `{}` + strings.Repeat(close, n-2) + `}`)
	}
	for _, n := range []int{9999, 10000, 10001} {
		for _, oc := range [][2]string{{`[`, `]`}, {`{"b":`, `}`}} {
			b := nest(n, oc[0], oc[1])
			_, err := Decode(b)
			if (err == nil) != (n <= maxDepth) {
				t.Errorf("depth %d (%s): error %v", n, oc[0], err)
			}
			compare(t, b)
		}
	}
}

func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		compare(t, b)
	})
}

func BenchmarkDecode(b *testing.B) {
	in := []byte(claimSet)
	b.Run("jsonobj", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := Decode(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := decodeJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

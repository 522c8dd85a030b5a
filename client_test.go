package gatehouse

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		name, uri string
		allowHTTP bool
		wantErr   string
	}{
		{"https", "https://app.example/cb", false, ""},
		{"http refused by default", "http://localhost:3000/cb", false, "AUTH_INSECURE_ALLOW_HTTP"},
		{"http allowed for development", "http://localhost:3000/cb", true, ""},
		{"relative", "/cb", false, "absolute"},
		{"no host", "https:///cb", false, "absolute"},
		{"fragment", "https://app.example/cb#x", false, "fragment"},
		{"empty fragment", "https://app.example/cb#", false, "fragment"},
		{"other scheme", "ftp://app.example/", true, "not https"},
		{"not a URI", "https://app.example/%zz", false, "not a URI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRedirectURI(tc.uri, tc.allowHTTP)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("CheckRedirectURI(%q, %v) = %v, want %q", tc.uri, tc.allowHTTP, err, tc.wantErr)
			}
		})
	}
}

func TestNormalizeResponseTypes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out []string
		wantErr string
	}{
		{"none given means code", nil, []string{"code"}, ""},
		{"spaces folded, duplicates dropped", []string{"code", " id_token  token ", "id_token token"}, []string{"code", "id_token token"}, ""},
		{"none alone", []string{"none"}, []string{"none"}, ""},
		{"unknown word", []string{"code device"}, nil, `"device" is not one of`},
		{"repeated word", []string{"code code"}, nil, "repeated"},
		{"none with another", []string{"none code"}, nil, "none stands alone"},
		{"empty value", []string{" "}, nil, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeResponseTypes(tc.in)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) || !slices.Equal(got, tc.out) {
				t.Fatalf("NormalizeResponseTypes(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.out, tc.wantErr)
			}
		})
	}
}

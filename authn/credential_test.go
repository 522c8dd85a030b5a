package authn

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

func TestParseCredential(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    gatehouse.Credential
		reason  gatehouse.Reason // non-empty: an AuthError with this reason
	}{
		{"no headers", nil, gatehouse.Credential{}, ""},
		{"empty header", map[string]string{"authorization": ""}, gatehouse.Credential{}, ""},
		{"blank header", map[string]string{"authorization": "  \t "}, gatehouse.Credential{}, ""},
		{"bearer", map[string]string{"authorization": "Bearer abc.def.ghi"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "abc.def.ghi"}, ""},
		{"bearer keyword any case", map[string]string{"authorization": "bEaReR abc"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "abc"}, ""},
		{"surrounding spaces trimmed", map[string]string{"authorization": "  Bearer    abc   "},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "abc"}, ""},
		{"tab after keyword", map[string]string{"authorization": "Bearer\tabc"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "abc"}, ""},
		{"inner spaces kept for the authenticator", map[string]string{"authorization": "Bearer a b"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "a b"}, ""},
		{"bearer without value", map[string]string{"authorization": "Bearer"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer}, ""},
		{"token (AURA)", map[string]string{"authorization": "Token 0123456789abcdef"},
			gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: "0123456789abcdef"}, ""},
		{"basic", map[string]string{"authorization": "basic dXNlcjpwYXNz"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBasic, Value: "dXNlcjpwYXNz"}, ""},
		{"unknown scheme", map[string]string{"authorization": "Digest username=x"},
			gatehouse.Credential{Scheme: gatehouse.SchemeOther, Value: "username=x"}, ""},
		{"keyword glued to value is another scheme", map[string]string{"authorization": "Bearerabc"},
			gatehouse.Credential{Scheme: gatehouse.SchemeOther}, ""},
		{"peer header", map[string]string{"authorization": "Bearer x", "peer": "TRUE"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "x", Peer: true}, ""},
		{"peer header false", map[string]string{"authorization": "Bearer x", "peer": "false"},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "x"}, ""},
		{"exactly 16 KiB accepted", map[string]string{"authorization": "Bearer " + strings.Repeat("a", MaxCredentialBytes-7)},
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: strings.Repeat("a", MaxCredentialBytes-7)}, ""},
		{"over 16 KiB refused before parsing", map[string]string{"authorization": "Bearer " + strings.Repeat("a", MaxCredentialBytes)},
			gatehouse.Credential{}, gatehouse.ReasonCredentialTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredential(tt.headers)
			if tt.reason != "" {
				var ae *gatehouse.AuthError
				if !errors.As(err, &ae) || ae.Reason != tt.reason {
					t.Fatalf("err = %v, want AuthError %s", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.want.Scheme == gatehouse.SchemeOther {
				tt.want.Value = got.Value // the value of an unknown scheme is not specified
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// RB-19: WebSocket routes accept the token in ?token=.
func TestParseCredentialWithQuery(t *testing.T) {
	ws := map[string]string{"upgrade": "websocket", "connection": "Upgrade"}
	tests := []struct {
		name    string
		headers map[string]string
		query   string
		want    gatehouse.Credential
		reason  gatehouse.Reason
	}{
		{"RB-19 websocket token from query", ws, "token=abc.def.ghi",
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "abc.def.ghi"}, ""},
		{"upgrade header any case", map[string]string{"upgrade": "WebSocket"}, "x=1&token=t",
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "t"}, ""},
		{"escaped token", ws, "token=a%2Eb",
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "a.b"}, ""},
		{"header wins over query", map[string]string{"upgrade": "websocket", "authorization": "Bearer h"}, "token=q",
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "h"}, ""},
		{"plain request ignores query token", map[string]string{}, "token=q", gatehouse.Credential{}, ""},
		{"websocket without token", ws, "a=b", gatehouse.Credential{}, ""},
		{"websocket with empty token", ws, "token=", gatehouse.Credential{}, ""},
		{"bad pair elsewhere ignored", ws, "a=%zz&token=t",
			gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "t"}, ""},
		{"oversized query token", ws, "token=" + strings.Repeat("a", MaxCredentialBytes+1), gatehouse.Credential{}, gatehouse.ReasonCredentialTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentialWithQuery(tt.headers, tt.query)
			if tt.reason != "" {
				var ae *gatehouse.AuthError
				if !errors.As(err, &ae) || ae.Reason != tt.reason {
					t.Fatalf("err = %v, want AuthError %s", err, tt.reason)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseCredential(f *testing.F) {
	for _, s := range []string{"", "Bearer a.b.c", "token x", "Basic  dTpw ", "Bearer\t\tx", " \t", "Negotiate x y"} {
		f.Add(s, "false")
	}
	f.Fuzz(func(t *testing.T, authz, peer string) {
		cred, err := ParseCredential(map[string]string{"authorization": authz, "peer": peer})
		if err != nil {
			var ae *gatehouse.AuthError
			if !errors.As(err, &ae) || ae.Reason != gatehouse.ReasonCredentialTooLarge || len(authz) <= MaxCredentialBytes {
				t.Fatalf("unexpected error %v for %d bytes", err, len(authz))
			}
			return
		}
		trimmed := strings.Trim(authz, " \t")
		if (cred.Scheme == gatehouse.SchemeNone) != (trimmed == "") {
			t.Fatalf("scheme %q for header %q", cred.Scheme, authz)
		}
		if cred.Value != strings.Trim(cred.Value, " \t") {
			t.Fatalf("value %q not trimmed", cred.Value)
		}
		if len(cred.Value) > len(authz) {
			t.Fatalf("value longer than the header")
		}
		switch cred.Scheme {
		case gatehouse.SchemeBearer, gatehouse.SchemeToken, gatehouse.SchemeBasic:
			kw := string(cred.Scheme)
			if len(trimmed) < len(kw) || !strings.EqualFold(trimmed[:len(kw)], kw) {
				t.Fatalf("scheme %q from header %q", cred.Scheme, authz)
			}
		}
		if cred.Peer != strings.EqualFold(strings.TrimSpace(peer), "true") {
			t.Fatalf("peer = %v for %q", cred.Peer, peer)
		}
	})
}

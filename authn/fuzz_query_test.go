package authn

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// FuzzParseCredentialWithQuery: the WebSocket ?token= fallback (RB-19)
// never panics, refuses only oversized input, reads the query only for a
// WebSocket upgrade without an Authorization credential, and otherwise
// answers exactly what ParseCredential does. Seeds:
// testdata/fuzz/FuzzParseCredentialWithQuery.
func FuzzParseCredentialWithQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, authz, upgrade, query string) {
		headers := map[string]string{"authorization": authz, "upgrade": upgrade}
		cred, err := ParseCredentialWithQuery(headers, query)
		plain, perr := ParseCredential(headers)
		if err != nil {
			var ae *gatehouse.AuthError
			if !errors.As(err, &ae) || ae.Reason != gatehouse.ReasonCredentialTooLarge {
				t.Fatalf("error %v", err)
			}
			return
		}
		if perr != nil {
			t.Fatalf("header refused alone (%v) but not with the query", perr)
		}
		if cred == plain {
			return
		}
		switch {
		case plain.Present():
			t.Fatalf("query %q replaced header credential %+v with %+v", query, plain, cred)
		case !strings.EqualFold(upgrade, "websocket"):
			t.Fatalf("query %q read without a WebSocket upgrade", query)
		case cred.Scheme != gatehouse.SchemeBearer || cred.Value == "" || cred.Value != strings.TrimSpace(cred.Value) || len(cred.Value) > MaxCredentialBytes:
			t.Fatalf("query credential %+v", cred)
		}
	})
}

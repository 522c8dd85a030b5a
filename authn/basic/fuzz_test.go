package basic

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
)

// FuzzBasicCredential feeds Basic values (what follows "Basic " once
// FuzzParseCredential's split is done) to the authenticator: the base64
// and "login:password" decoding and the lookup. It never panics; every
// error is a refusal with one of Django REST framework's messages; only
// the one right login and password, however encoded, proves alice.
// Seeds: testdata/fuzz/FuzzBasicCredential.
func FuzzBasicCredential(f *testing.F) {
	fast := password.Params{Memory: 64, Time: 1, Threads: 1}
	h, err := password.Hash("s3cret:with colon", fast)
	if err != nil {
		f.Fatal(err)
	}
	fs := fakeStore{
		"alice": {ID: "u1", Login: "alice", PasswordHash: h},
		"bob":   {ID: "u2", Login: "bob", PasswordHash: h, Disabled: true},
		"svc":   {ID: "u3", Login: "svc"},
	}
	a, err := New(fs, fast)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value string) {
		id, err := a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBasic, Value: value}, nil)
		if err != nil {
			var ae *gatehouse.AuthError
			if !errors.As(err, &ae) || ae.Internal {
				t.Fatalf("%q: error %v is not a refusal", value, err)
			}
			switch ae.Message {
			case MsgNoCredentials, MsgBadBase64, MsgInvalid, "User inactive or deleted.":
			default:
				t.Fatalf("%q: message %q", value, ae.Message)
			}
			return
		}
		raw, derr := base64.StdEncoding.DecodeString(value)
		if derr != nil || string(raw) != "alice:s3cret:with colon" || id.Subject != "alice" || id.Kind != gatehouse.KindBasic {
			t.Fatalf("%q proved %+v", value, id)
		}
	})
}

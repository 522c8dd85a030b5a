package basic

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
)

type fakeStore map[string]gatehouse.User

func (f fakeStore) GetUserByLogin(_ context.Context, login string) (gatehouse.User, error) {
	u, ok := f[login]
	if !ok {
		return u, gatehouse.ErrNotFound
	}
	return u, nil
}

func (f fakeStore) GroupsOf(context.Context, string) ([]string, error) { return []string{"ops"}, nil }

func (f fakeStore) Permissions(context.Context, string) ([]string, error) {
	return []string{"view_show"}, nil
}

func TestAT05Basic(t *testing.T) {
	fast := password.Params{Memory: 64, Time: 1, Threads: 1}
	h, err := password.Hash("s3cret:with colon", fast)
	if err != nil {
		t.Fatal(err)
	}
	fs := fakeStore{
		"alice": {ID: "u1", Login: "alice", PasswordHash: h},
		"bob":   {ID: "u2", Login: "bob", PasswordHash: h, Disabled: true},
		"svc":   {ID: "u3", Login: "svc"}, // no password: tokens only
	}
	a, err := New(fs, fast)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, value string
		reason      gatehouse.Reason
		message     string
	}{
		{"valid, password may hold a colon", b64("alice:s3cret:with colon"), "", ""},
		{"wrong password", b64("alice:nope"), gatehouse.ReasonCredentialInvalid, MsgInvalid},
		{"unknown user, same message", b64("mallory:s3cret:with colon"), gatehouse.ReasonCredentialInvalid, MsgInvalid},
		{"user without a password", b64("svc:"), gatehouse.ReasonCredentialInvalid, MsgInvalid},
		{"disabled user", b64("bob:s3cret:with colon"), gatehouse.ReasonUserInactive, "User inactive or deleted."},
		{"malformed base64", "***", gatehouse.ReasonCredentialMalformed, MsgBadBase64},
		{"no colon", b64("alice"), gatehouse.ReasonCredentialMalformed, MsgBadBase64},
		{"empty", "", gatehouse.ReasonCredentialMalformed, MsgNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBasic, Value: tt.value}, nil)
			if tt.reason == "" {
				if err != nil || id.Kind != gatehouse.KindBasic || id.Subject != "alice" || id.Permissions[0] != "view_show" || id.Groups[0] != "ops" {
					t.Fatalf("%+v %v", id, err)
				}
				return
			}
			var ae *gatehouse.AuthError
			if !errors.As(err, &ae) || ae.Reason != tt.reason || ae.Message != tt.message {
				t.Fatalf("error %v", err)
			}
		})
	}
}

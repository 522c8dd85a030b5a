package apitoken

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
)

// fakeStore is this package's unit-test double; the real stores are tested
// end to end elsewhere.
type fakeStore struct {
	tokens  map[[32]byte]gatehouse.APIToken
	users   map[string]gatehouse.User
	groups  map[string][]string
	perms   map[string][]string
	touched []string
	fail    error
}

func (f *fakeStore) TokenByDigest(_ context.Context, d [32]byte) (gatehouse.APIToken, error) {
	if f.fail != nil {
		return gatehouse.APIToken{}, f.fail
	}
	t, ok := f.tokens[d]
	if !ok {
		return t, gatehouse.ErrNotFound
	}
	return t, nil
}

func (f *fakeStore) GetUser(_ context.Context, id string) (gatehouse.User, error) {
	u, ok := f.users[id]
	if !ok {
		return u, gatehouse.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) GroupsOf(_ context.Context, id string) ([]string, error) {
	return f.groups[id], nil
}

func (f *fakeStore) Permissions(_ context.Context, id string) ([]string, error) {
	return append([]string(nil), f.perms[id]...), nil
}

func (f *fakeStore) TouchToken(_ context.Context, id string, _ time.Time) error {
	f.touched = append(f.touched, id)
	return nil
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tok := func(id, secretValue, user string, mod func(*gatehouse.APIToken)) (string, gatehouse.APIToken) {
		t := gatehouse.APIToken{ID: id, UserID: user, Digest: secret.Digest(secretValue)}
		if mod != nil {
			mod(&t)
		}
		return secretValue, t
	}
	fs := &fakeStore{
		tokens: map[[32]byte]gatehouse.APIToken{},
		users: map[string]gatehouse.User{
			"u1": {ID: "u1", Login: "media_store"},
			"u2": {ID: "u2", Login: "gone", Disabled: true},
		},
		groups: map[string][]string{"u1": {"Host"}},
		perms:  map[string][]string{"u1": {"add_show", "change_show", "view_show"}},
	}
	for _, x := range []struct {
		id, s, user string
		mod         func(*gatehouse.APIToken)
	}{
		{"t1", "s-full", "u1", nil},
		{"t2", "s-subset", "u1", func(t *gatehouse.APIToken) { t.Permissions = []string{"view_show", "delete_show"} }},
		{"t3", "s-revoked", "u1", func(t *gatehouse.APIToken) { t.RevokedAt = now.Add(-time.Minute) }},
		{"t4", "s-expired", "u1", func(t *gatehouse.APIToken) { t.ExpiresAt = now }},
		{"t5", "s-inactive", "u2", nil},
		{"t6", "s-orphan", "nobody", nil},
		{"t7", "s-later", "u1", func(t *gatehouse.APIToken) { t.ExpiresAt = now.Add(time.Hour) }},
	} {
		s, tk := tok(x.id, x.s, x.user, x.mod)
		fs.tokens[tk.Digest] = tk
		_ = s
	}
	a := New(fs, func() time.Time { return now }, nil)
	tests := []struct {
		name, value string
		reason      gatehouse.Reason
		message     string
		perms       []string
	}{
		{"AT01 token of a user carries its permissions and groups", "s-full", "", "", []string{"add_show", "change_show", "view_show"}},
		{"a subset narrows, never widens", "s-subset", "", "", []string{"view_show"}},
		{"an expiry in the future is fine", "s-later", "", "", []string{"add_show", "change_show", "view_show"}},
		{"AT02 no value", "", gatehouse.ReasonCredentialMalformed, MsgNoCredentials, nil},
		{"AT02 spaces", "a b", gatehouse.ReasonCredentialMalformed, MsgSpaces, nil},
		{"AT02 unknown", "s-unknown", gatehouse.ReasonCredentialInvalid, MsgInvalid, nil},
		{"revoked", "s-revoked", gatehouse.ReasonTokenRevoked, MsgInvalid, nil},
		{"expired at exactly exp", "s-expired", gatehouse.ReasonTokenExpired, MsgInvalid, nil},
		{"AT03 inactive user", "s-inactive", gatehouse.ReasonUserInactive, MsgInactive, nil},
		{"AT03 deleted user", "s-orphan", gatehouse.ReasonUserInactive, MsgInactive, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: tt.value}, nil)
			if tt.reason != "" {
				var ae *gatehouse.AuthError
				if !errors.As(err, &ae) || ae.Reason != tt.reason || ae.Message != tt.message || ae.Internal {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Kind != gatehouse.KindToken || id.Subject != "media_store" || len(id.Groups) != 1 || id.Groups[0] != "Host" {
				t.Fatalf("identity %+v", id)
			}
			if len(id.Permissions) != len(tt.perms) {
				t.Fatalf("permissions %v, want %v", id.Permissions, tt.perms)
			}
			for i := range tt.perms {
				if id.Permissions[i] != tt.perms[i] {
					t.Fatalf("permissions %v, want %v", id.Permissions, tt.perms)
				}
			}
		})
	}
	if len(fs.touched) != 3 {
		t.Fatalf("last use recorded %d times, want once per success", len(fs.touched))
	}
	t.Run("AG06-like store outage is a 503, never a 401", func(t *testing.T) {
		fs.fail = errors.New("connection refused")
		defer func() { fs.fail = nil }()
		_, err := a.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: "s-full"}, nil)
		var ae *gatehouse.AuthError
		if !errors.As(err, &ae) || !ae.Internal || ae.Reason != gatehouse.ReasonStoreUnavailable {
			t.Fatalf("error %v", err)
		}
	})
}

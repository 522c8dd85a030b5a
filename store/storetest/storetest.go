// Package storetest is the conformance suite every store.Store backend
// passes, in the manner of Dex's storage/conformance: a backend's test calls
// Run (and RunConcurrency, RunNotify) with a function that opens a fresh,
// empty store for each subtest and closes it in t.Cleanup.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

// Run runs the functional conformance tests, each on a store from open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"UserCRUD", testUserCRUD},
		{"UserErrors", testUserErrors},
		{"UpdateUserFnError", testUpdateUserFnError},
		{"GroupCRUD", testGroupCRUD},
		{"Memberships", testMemberships},
		{"Grants", testGrants},
		{"Permissions", testPermissions},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"DeleteGroupCascades", testDeleteGroupCascades},
		{"TokenCRUD", testTokenCRUD},
		{"TokenTimes", testTokenTimes},
		{"RevokeToken", testRevokeToken},
		{"TouchToken", testTouchToken},
		{"DeleteExpiredTokens", testDeleteExpiredTokens},
		{"RoleCRUD", testRoleCRUD},
		{"RoleSystemNames", testRoleSystemNames},
		{"RoleBindingCRUD", testRoleBindingCRUD},
		{"ClientCRUD", testClientCRUD},
		{"Version", testVersion},
		{"SyncEnvTokens", testSyncEnvTokens},
		{"SyncEnvTokensAtomic", testSyncEnvTokensAtomic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

// errBoom is what update closures return to test that an error rolls back.
var errBoom = errors.New("boom")

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func mustUser(t *testing.T, s store.Store, login string) gatehouse.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), gatehouse.User{Login: login})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", login, err)
	}
	return u
}

func mustGroup(t *testing.T, s store.Store, name string) {
	t.Helper()
	if _, err := s.CreateGroup(t.Context(), name); err != nil {
		t.Fatalf("CreateGroup(%q): %v", name, err)
	}
}

func mustVersion(t *testing.T, s store.Store) int64 {
	t.Helper()
	v, err := s.Version(t.Context())
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	return v
}

func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// wantStrings compares string lists, treating nil and empty alike: the
// interface promises order and content, not a non-nil empty slice.
func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	wantEqual(t, what, got, want)
}

// wantStoredTime checks a time the store assigned: UTC, whole microseconds
// and close to now.
func wantStoredTime(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, got.Location())
	}
	if got.Nanosecond()%1000 != 0 {
		t.Errorf("%s: %v has sub-microsecond digits", what, got)
	}
	if d := time.Since(got); d < -time.Minute || d > time.Minute {
		t.Errorf("%s: %v is not about now", what, got)
	}
}

func testUserCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := gatehouse.User{
		ID:           "ignored",
		Login:        "alice",
		Email:        "alice@example.com",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
	}
	u, err := s.CreateUser(ctx, in)
	mustNil(t, "CreateUser", err)
	if u.ID == "" || u.ID == in.ID {
		t.Fatalf("CreateUser assigned ID %q", u.ID)
	}
	wantStoredTime(t, "CreatedAt", u.CreatedAt)
	if !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Errorf("UpdatedAt %v != CreatedAt %v on create", u.UpdatedAt, u.CreatedAt)
	}
	if u.Login != in.Login || u.Email != in.Email || u.PasswordHash != in.PasswordHash || u.Disabled {
		t.Fatalf("CreateUser returned %+v for %+v", u, in)
	}

	got, err := s.GetUser(ctx, u.ID)
	mustNil(t, "GetUser", err)
	wantEqual(t, "GetUser", got, u)
	got, err = s.GetUserByLogin(ctx, "alice")
	mustNil(t, "GetUserByLogin", err)
	wantEqual(t, "GetUserByLogin", got, u)

	// Logins compare exactly: another case is another user.
	upper := mustUser(t, s, "Alice")
	if upper.ID == u.ID {
		t.Fatal("two users share an ID")
	}

	up, err := s.UpdateUser(ctx, u.ID, func(x *gatehouse.User) error {
		x.Email = "alice@corp.example.com"
		x.Disabled = true
		x.PasswordHash = ""
		x.ID = "hijacked"             // cannot change
		x.CreatedAt = time.Unix(0, 0) // cannot change
		return nil
	})
	mustNil(t, "UpdateUser", err)
	if up.ID != u.ID || !up.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("UpdateUser changed ID or CreatedAt: %+v", up)
	}
	if up.Email != "alice@corp.example.com" || !up.Disabled || up.PasswordHash != "" {
		t.Fatalf("UpdateUser did not apply: %+v", up)
	}
	wantStoredTime(t, "UpdatedAt", up.UpdatedAt)
	if up.UpdatedAt.Before(u.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v < %v", up.UpdatedAt, u.UpdatedAt)
	}
	got, err = s.GetUser(ctx, u.ID)
	mustNil(t, "GetUser after update", err)
	wantEqual(t, "GetUser after update", got, up)

	// Renaming is allowed when the login is free.
	up, err = s.UpdateUser(ctx, u.ID, func(x *gatehouse.User) error { x.Login = "alice2"; return nil })
	mustNil(t, "UpdateUser rename", err)
	if _, err := s.GetUserByLogin(ctx, "alice"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("old login still resolves: %v", err)
	}
	got, err = s.GetUserByLogin(ctx, "alice2")
	mustNil(t, "GetUserByLogin renamed", err)
	wantEqual(t, "renamed", got, up)

	for _, l := range []string{"bob", "Carol", "dave", "_svc"} {
		mustUser(t, s, l)
	}
	list, err := s.ListUsers(ctx)
	mustNil(t, "ListUsers", err)
	var logins []string
	for _, x := range list {
		logins = append(logins, x.Login)
	}
	// Byte order, not a locale's: upper case and "_" sort before lower case.
	wantEqual(t, "ListUsers order", logins, []string{"Alice", "Carol", "_svc", "alice2", "bob", "dave"})
	wantEqual(t, "ListUsers element", list[3], up)

	mustNil(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	_, err = s.GetUser(ctx, u.ID)
	wantErr(t, "GetUser deleted", err, gatehouse.ErrNotFound)
	wantErr(t, "DeleteUser twice", s.DeleteUser(ctx, u.ID), gatehouse.ErrNotFound)
	list, err = s.ListUsers(ctx)
	mustNil(t, "ListUsers", err)
	if len(list) != 5 {
		t.Fatalf("ListUsers after delete: %d users, want 5", len(list))
	}
}

func testUserErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetUser(ctx, "nope")
	wantErr(t, "GetUser unknown", err, gatehouse.ErrNotFound)
	_, err = s.GetUserByLogin(ctx, "nope")
	wantErr(t, "GetUserByLogin unknown", err, gatehouse.ErrNotFound)
	wantErr(t, "DeleteUser unknown", s.DeleteUser(ctx, "nope"), gatehouse.ErrNotFound)
	called := false
	_, err = s.UpdateUser(ctx, "nope", func(*gatehouse.User) error { called = true; return nil })
	wantErr(t, "UpdateUser unknown", err, gatehouse.ErrNotFound)
	if called {
		t.Error("UpdateUser called fn for an unknown user")
	}

	a := mustUser(t, s, "alice")
	b := mustUser(t, s, "bob")
	_, err = s.CreateUser(ctx, gatehouse.User{Login: "alice"})
	wantErr(t, "CreateUser taken login", err, gatehouse.ErrAlreadyExists)

	_, err = s.UpdateUser(ctx, b.ID, func(x *gatehouse.User) error { x.Login = "alice"; x.Email = "x"; return nil })
	wantErr(t, "UpdateUser to taken login", err, gatehouse.ErrAlreadyExists)
	got, err := s.GetUser(ctx, b.ID)
	mustNil(t, "GetUser", err)
	wantEqual(t, "user after failed rename", got, b)
	got, err = s.GetUserByLogin(ctx, "alice")
	mustNil(t, "GetUserByLogin", err)
	wantEqual(t, "alice after failed rename", got, a)
}

func testUpdateUserFnError(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	v := mustVersion(t, s)
	_, err := s.UpdateUser(ctx, u.ID, func(x *gatehouse.User) error {
		x.Email = "changed"
		x.Disabled = true
		return errBoom
	})
	wantErr(t, "UpdateUser fn error", err, errBoom)
	got, err := s.GetUser(ctx, u.ID)
	mustNil(t, "GetUser", err)
	wantEqual(t, "user after fn error", got, u)
	if v2 := mustVersion(t, s); v2 != v {
		t.Errorf("Version moved from %d to %d on a failed update", v, v2)
	}
}

func testGroupCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, err := s.CreateGroup(ctx, "ops")
	mustNil(t, "CreateGroup", err)
	if g.Name != "ops" {
		t.Fatalf("CreateGroup name %q", g.Name)
	}
	wantStoredTime(t, "Group.CreatedAt", g.CreatedAt)
	_, err = s.CreateGroup(ctx, "ops")
	wantErr(t, "CreateGroup twice", err, gatehouse.ErrAlreadyExists)

	for _, n := range []string{"dev", "Admins", "sre"} {
		mustGroup(t, s, n)
	}
	list, err := s.ListGroups(ctx)
	mustNil(t, "ListGroups", err)
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	wantEqual(t, "ListGroups order", names, []string{"Admins", "dev", "ops", "sre"})
	wantEqual(t, "ListGroups element", list[2], g)

	mustNil(t, "DeleteGroup", s.DeleteGroup(ctx, "ops"))
	wantErr(t, "DeleteGroup twice", s.DeleteGroup(ctx, "ops"), gatehouse.ErrNotFound)
	list, err = s.ListGroups(ctx)
	mustNil(t, "ListGroups", err)
	if len(list) != 3 {
		t.Fatalf("ListGroups after delete: %d, want 3", len(list))
	}
}

func testMemberships(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	mustGroup(t, s, "ops")
	mustGroup(t, s, "dev")
	mustGroup(t, s, "Zeta")

	wantErr(t, "AddMember unknown group", s.AddMember(ctx, "nope", u.ID), gatehouse.ErrNotFound)
	wantErr(t, "AddMember unknown user", s.AddMember(ctx, "ops", "nope"), gatehouse.ErrNotFound)

	for _, g := range []string{"ops", "dev", "Zeta", "ops"} { // adding twice is fine
		mustNil(t, "AddMember "+g, s.AddMember(ctx, g, u.ID))
	}
	gs, err := s.GroupsOf(ctx, u.ID)
	mustNil(t, "GroupsOf", err)
	wantEqual(t, "GroupsOf", gs, []string{"Zeta", "dev", "ops"})

	other := mustUser(t, s, "bob")
	wantErr(t, "RemoveMember non-member", s.RemoveMember(ctx, "ops", other.ID), gatehouse.ErrNotFound)
	wantErr(t, "RemoveMember unknown group", s.RemoveMember(ctx, "nope", u.ID), gatehouse.ErrNotFound)
	mustNil(t, "RemoveMember", s.RemoveMember(ctx, "dev", u.ID))
	wantErr(t, "RemoveMember twice", s.RemoveMember(ctx, "dev", u.ID), gatehouse.ErrNotFound)
	gs, err = s.GroupsOf(ctx, u.ID)
	mustNil(t, "GroupsOf", err)
	wantEqual(t, "GroupsOf after remove", gs, []string{"Zeta", "ops"})
	gs, err = s.GroupsOf(ctx, other.ID)
	mustNil(t, "GroupsOf other", err)
	wantStrings(t, "GroupsOf other", gs, nil)
}

func testGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	mustGroup(t, s, "ops")
	user := gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}
	group := gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "ops"}

	for _, g := range []gatehouse.Grantee{
		{Kind: gatehouse.GranteeUser, Name: "nope"},
		{Kind: gatehouse.GranteeGroup, Name: "nope"},
		{Kind: "Robot", Name: u.ID},
	} {
		wantErr(t, fmt.Sprintf("Grant to %+v", g), s.Grant(ctx, g, "view_device"), gatehouse.ErrNotFound)
	}

	for _, c := range []string{"view_device", "change_device", "view_device"} {
		mustNil(t, "Grant user "+c, s.Grant(ctx, user, c))
	}
	mustNil(t, "Grant group", s.Grant(ctx, group, "delete_device"))

	got, err := s.GrantsOf(ctx, user)
	mustNil(t, "GrantsOf user", err)
	wantEqual(t, "GrantsOf user", got, []string{"change_device", "view_device"})
	got, err = s.GrantsOf(ctx, group)
	mustNil(t, "GrantsOf group", err)
	wantEqual(t, "GrantsOf group", got, []string{"delete_device"})

	wantErr(t, "Revoke missing", s.Revoke(ctx, user, "delete_device"), gatehouse.ErrNotFound)
	wantErr(t, "Revoke unknown grantee", s.Revoke(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "nope"}, "x"), gatehouse.ErrNotFound)
	mustNil(t, "Revoke", s.Revoke(ctx, user, "view_device"))
	wantErr(t, "Revoke twice", s.Revoke(ctx, user, "view_device"), gatehouse.ErrNotFound)
	got, err = s.GrantsOf(ctx, user)
	mustNil(t, "GrantsOf user", err)
	wantEqual(t, "GrantsOf after revoke", got, []string{"change_device"})
}

func testPermissions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	other := mustUser(t, s, "bob")
	for _, g := range []string{"g1", "g2", "g3"} {
		mustGroup(t, s, g)
	}
	mustNil(t, "AddMember g1", s.AddMember(ctx, "g1", u.ID))
	mustNil(t, "AddMember g2", s.AddMember(ctx, "g2", u.ID))
	mustNil(t, "AddMember g3 other", s.AddMember(ctx, "g3", other.ID))
	grants := []struct {
		to gatehouse.Grantee
		c  string
	}{
		{gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, "b_x"},
		{gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, "a_x"},
		{gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "g1"}, "c_x"},
		{gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "g1"}, "a_x"},
		{gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "g2"}, "d_x"},
		{gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "g2"}, "c_x"},
		{gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "g3"}, "e_x"}, // not alice's group
		{gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: other.ID}, "f_x"},
	}
	for _, g := range grants {
		mustNil(t, "Grant", s.Grant(ctx, g.to, g.c))
	}
	got, err := s.Permissions(ctx, u.ID)
	mustNil(t, "Permissions", err)
	wantEqual(t, "Permissions", got, []string{"a_x", "b_x", "c_x", "d_x"})

	mustNil(t, "RemoveMember", s.RemoveMember(ctx, "g2", u.ID))
	got, err = s.Permissions(ctx, u.ID)
	mustNil(t, "Permissions", err)
	wantEqual(t, "Permissions after leaving g2", got, []string{"a_x", "b_x", "c_x"})

	lone := mustUser(t, s, "carol")
	got, err = s.Permissions(ctx, lone.ID)
	mustNil(t, "Permissions of a user with none", err)
	wantStrings(t, "Permissions none", got, nil)
}

func testDeleteUserCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	keep := mustUser(t, s, "bob")
	mustGroup(t, s, "ops")
	mustNil(t, "AddMember", s.AddMember(ctx, "ops", u.ID))
	mustNil(t, "AddMember bob", s.AddMember(ctx, "ops", keep.ID))
	mustNil(t, "Grant", s.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, "view_x"))
	mustNil(t, "Grant group", s.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "ops"}, "list_x"))
	_, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Name: "ci", Digest: digest("a1"), Source: "api"})
	mustNil(t, "CreateToken", err)
	kt, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: keep.ID, Name: "ci", Digest: digest("b1"), Source: "api"})
	mustNil(t, "CreateToken bob", err)

	mustNil(t, "DeleteUser", s.DeleteUser(ctx, u.ID))

	_, err = s.TokenByDigest(ctx, digest("a1"))
	wantErr(t, "TokenByDigest of deleted user", err, gatehouse.ErrNotFound)
	toks, err := s.ListTokens(ctx, "")
	mustNil(t, "ListTokens", err)
	wantEqual(t, "tokens left", toks, []gatehouse.APIToken{kt})
	gs, err := s.GroupsOf(ctx, u.ID)
	mustNil(t, "GroupsOf", err)
	wantStrings(t, "GroupsOf deleted", gs, nil)
	gr, err := s.GrantsOf(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID})
	mustNil(t, "GrantsOf", err)
	wantStrings(t, "GrantsOf deleted", gr, nil)

	// The group, its grants and its other members stay.
	gs, err = s.GroupsOf(ctx, keep.ID)
	mustNil(t, "GroupsOf bob", err)
	wantEqual(t, "GroupsOf bob", gs, []string{"ops"})
	p, err := s.Permissions(ctx, keep.ID)
	mustNil(t, "Permissions bob", err)
	wantEqual(t, "Permissions bob", p, []string{"list_x"})

	// A new user with the old login inherits nothing.
	again := mustUser(t, s, "alice")
	p, err = s.Permissions(ctx, again.ID)
	mustNil(t, "Permissions", err)
	wantStrings(t, "Permissions of re-created user", p, nil)
}

func testDeleteGroupCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	mustGroup(t, s, "ops")
	mustGroup(t, s, "dev")
	mustNil(t, "AddMember", s.AddMember(ctx, "ops", u.ID))
	mustNil(t, "AddMember dev", s.AddMember(ctx, "dev", u.ID))
	mustNil(t, "Grant ops", s.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "ops"}, "delete_x"))
	mustNil(t, "Grant dev", s.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "dev"}, "view_x"))

	mustNil(t, "DeleteGroup", s.DeleteGroup(ctx, "ops"))
	gs, err := s.GroupsOf(ctx, u.ID)
	mustNil(t, "GroupsOf", err)
	wantEqual(t, "GroupsOf", gs, []string{"dev"})
	p, err := s.Permissions(ctx, u.ID)
	mustNil(t, "Permissions", err)
	wantEqual(t, "Permissions", p, []string{"view_x"})
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteGroup removed a member: %v", err)
	}

	// Re-creating the name starts empty.
	mustGroup(t, s, "ops")
	gr, err := s.GrantsOf(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "ops"})
	mustNil(t, "GrantsOf", err)
	wantStrings(t, "GrantsOf re-created group", gr, nil)
	gs, err = s.GroupsOf(ctx, u.ID)
	mustNil(t, "GroupsOf", err)
	wantEqual(t, "GroupsOf after re-create", gs, []string{"dev"})
}

func testTokenCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	other := mustUser(t, s, "bob")

	_, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: "nope", Name: "x", Digest: digest("x"), Source: "api"})
	wantErr(t, "CreateToken unknown user", err, gatehouse.ErrNotFound)

	in := gatehouse.APIToken{
		ID:          "ignored",
		UserID:      u.ID,
		Name:        "deploy",
		Digest:      digest("secret-1"),
		Permissions: []string{"view_device", "change_device"},
		Source:      "api",
	}
	tok, err := s.CreateToken(ctx, in)
	mustNil(t, "CreateToken", err)
	if tok.ID == "" || tok.ID == in.ID {
		t.Fatalf("CreateToken assigned ID %q", tok.ID)
	}
	wantStoredTime(t, "Token.CreatedAt", tok.CreatedAt)
	if tok.Digest != in.Digest || tok.UserID != u.ID || tok.Name != "deploy" || tok.Source != "api" ||
		!slices.Equal(tok.Permissions, in.Permissions) || !tok.ExpiresAt.IsZero() || !tok.LastUsedAt.IsZero() || !tok.RevokedAt.IsZero() {
		t.Fatalf("CreateToken returned %+v for %+v", tok, in)
	}
	got, err := s.TokenByDigest(ctx, digest("secret-1"))
	mustNil(t, "TokenByDigest", err)
	wantEqual(t, "TokenByDigest", got, tok)

	_, err = s.TokenByDigest(ctx, digest("secret-2"))
	wantErr(t, "TokenByDigest unknown", err, gatehouse.ErrNotFound)
	_, err = s.CreateToken(ctx, gatehouse.APIToken{UserID: other.ID, Name: "dup", Digest: digest("secret-1"), Source: "api"})
	wantErr(t, "CreateToken digest in use", err, gatehouse.ErrAlreadyExists)

	// nil Permissions (the user's own) and empty (nothing) differ.
	full, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Name: "full", Digest: digest("secret-3"), Source: "api"})
	mustNil(t, "CreateToken nil perms", err)
	none, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: other.ID, Name: "none", Digest: digest("secret-4"), Permissions: []string{}, Source: "api"})
	mustNil(t, "CreateToken empty perms", err)
	got, err = s.TokenByDigest(ctx, digest("secret-3"))
	mustNil(t, "TokenByDigest", err)
	if got.Permissions != nil {
		t.Errorf("nil Permissions came back as %#v", got.Permissions)
	}
	got, err = s.TokenByDigest(ctx, digest("secret-4"))
	mustNil(t, "TokenByDigest", err)
	if got.Permissions == nil || len(got.Permissions) != 0 {
		t.Errorf("empty Permissions came back as %#v", got.Permissions)
	}

	all, err := s.ListTokens(ctx, "")
	mustNil(t, "ListTokens all", err)
	wantEqual(t, "ListTokens all", all, sortTokens(tok, full, none))
	mine, err := s.ListTokens(ctx, u.ID)
	mustNil(t, "ListTokens alice", err)
	if len(mine) != 2 {
		t.Fatalf("ListTokens(alice): %d tokens, want 2", len(mine))
	}
	for _, x := range mine {
		if x.UserID != u.ID {
			t.Fatalf("ListTokens(alice) returned %+v", x)
		}
	}
	none2, err := s.ListTokens(ctx, "nope")
	mustNil(t, "ListTokens unknown user", err)
	if len(none2) != 0 {
		t.Fatalf("ListTokens(unknown) = %v", none2)
	}
}

// sortTokens orders tokens as ListTokens does: by CreatedAt, then ID
// (tokens made within one microsecond tie on CreatedAt).
func sortTokens(toks ...gatehouse.APIToken) []gatehouse.APIToken {
	slices.SortFunc(toks, func(a, b gatehouse.APIToken) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return toks
}

func testTokenTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	exp := time.Date(2031, 2, 3, 4, 5, 6, 123456789, zone)
	tok, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Name: "t", Digest: digest("t"), Source: "api", ExpiresAt: exp})
	mustNil(t, "CreateToken", err)
	want := time.Date(2031, 2, 2, 22, 35, 6, 123456000, time.UTC)
	for name, got := range map[string]time.Time{"returned": tok.ExpiresAt} {
		wantEqual(t, name+" ExpiresAt", got, want)
	}
	got, err := s.TokenByDigest(ctx, digest("t"))
	mustNil(t, "TokenByDigest", err)
	wantEqual(t, "stored ExpiresAt", got.ExpiresAt, want)
	if got.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt location %v", got.ExpiresAt.Location())
	}
	if !got.LastUsedAt.IsZero() || !got.RevokedAt.IsZero() {
		t.Errorf("zero times came back as %v, %v", got.LastUsedAt, got.RevokedAt)
	}

	used := time.Date(2030, 1, 1, 0, 0, 0, 999999999, zone)
	mustNil(t, "TouchToken", s.TouchToken(ctx, tok.ID, used))
	got, err = s.TokenByDigest(ctx, digest("t"))
	mustNil(t, "TokenByDigest", err)
	wantEqual(t, "LastUsedAt", got.LastUsedAt, used.UTC().Truncate(time.Microsecond))
}

func testRevokeToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tok, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Name: "t", Digest: digest("t"), Source: "api"})
	mustNil(t, "CreateToken", err)
	wantErr(t, "RevokeToken unknown", s.RevokeToken(ctx, "nope", time.Now()), gatehouse.ErrNotFound)

	t1 := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		at, want time.Time
	}{
		{t1, t1},
		{t1, t1},                // again: idempotent
		{t1.Add(time.Hour), t1}, // later: the earlier time is kept
		{t1.Add(-time.Minute), t1.Add(-time.Minute)}, // earlier: it wins
	}
	for i, st := range steps {
		mustNil(t, fmt.Sprintf("RevokeToken step %d", i), s.RevokeToken(ctx, tok.ID, st.at))
		got, err := s.TokenByDigest(ctx, digest("t"))
		mustNil(t, "TokenByDigest", err)
		wantEqual(t, fmt.Sprintf("RevokedAt after step %d", i), got.RevokedAt, st.want)
		if got.Active(t1.Add(-time.Hour)) {
			t.Fatalf("revoked token is Active")
		}
	}
	// A revoked token is still listed and found: the caller decides.
	toks, err := s.ListTokens(ctx, u.ID)
	mustNil(t, "ListTokens", err)
	if len(toks) != 1 || toks[0].RevokedAt.IsZero() {
		t.Fatalf("ListTokens after revoke: %+v", toks)
	}
}

func testTouchToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tok, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Name: "t", Digest: digest("t"), Source: "api"})
	mustNil(t, "CreateToken", err)
	wantErr(t, "TouchToken unknown", s.TouchToken(ctx, "nope", time.Now()), gatehouse.ErrNotFound)

	v := mustVersion(t, s)
	t1 := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	mustNil(t, "TouchToken", s.TouchToken(ctx, tok.ID, t1))
	mustNil(t, "TouchToken earlier", s.TouchToken(ctx, tok.ID, t1.Add(-time.Hour)))
	got, err := s.TokenByDigest(ctx, digest("t"))
	mustNil(t, "TokenByDigest", err)
	// Uses race each other; the latest one recorded wins.
	wantEqual(t, "LastUsedAt", got.LastUsedAt, t1)
	if v2 := mustVersion(t, s); v2 != v {
		t.Errorf("TouchToken moved Version from %d to %d", v, v2)
	}
}

func testDeleteExpiredTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	now := time.Now()
	mk := func(name string, exp time.Time) gatehouse.APIToken {
		tok, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Name: name, Digest: digest(name), Source: "api", ExpiresAt: exp})
		mustNil(t, "CreateToken "+name, err)
		return tok
	}
	mk("expired", now.Add(-time.Hour))
	live := mk("live", now.Add(time.Hour))
	forever := mk("forever", time.Time{})
	old := mk("revoked-long-ago", time.Time{})
	mustNil(t, "RevokeToken", s.RevokeToken(ctx, old.ID, now.Add(-2*time.Hour)))
	recent := mk("revoked-later", now.Add(time.Hour))
	mustNil(t, "RevokeToken", s.RevokeToken(ctx, recent.ID, now.Add(time.Minute)))
	recent.RevokedAt = storeTime(now.Add(time.Minute))

	v := mustVersion(t, s)
	n, err := s.DeleteExpiredTokens(ctx, now)
	mustNil(t, "DeleteExpiredTokens", err)
	if n != 2 {
		t.Fatalf("DeleteExpiredTokens removed %d, want 2", n)
	}
	if v2 := mustVersion(t, s); v2 <= v {
		t.Errorf("Version did not increase on DeleteExpiredTokens: %d -> %d", v, v2)
	}
	left, err := s.ListTokens(ctx, "")
	mustNil(t, "ListTokens", err)
	wantEqual(t, "tokens left", left, sortTokens(live, forever, recent))
	n, err = s.DeleteExpiredTokens(ctx, now)
	mustNil(t, "DeleteExpiredTokens again", err)
	if n != 0 {
		t.Fatalf("DeleteExpiredTokens again removed %d", n)
	}
}

func storeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func testRoleCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := gatehouse.Role{
		Name: "deployer",
		Rules: []gatehouse.RoleRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "deployments*"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"patch"}, ResourceNames: []string{"web", "api"}},
		},
	}
	r, err := s.CreateRole(ctx, in)
	mustNil(t, "CreateRole", err)
	wantStoredTime(t, "Role.CreatedAt", r.CreatedAt)
	if !r.UpdatedAt.Equal(r.CreatedAt) || r.Name != in.Name || !reflect.DeepEqual(r.Rules, in.Rules) {
		t.Fatalf("CreateRole returned %+v", r)
	}
	got, err := s.GetRole(ctx, "deployer")
	mustNil(t, "GetRole", err)
	wantEqual(t, "GetRole", got, r)
	_, err = s.CreateRole(ctx, gatehouse.Role{Name: "deployer"})
	wantErr(t, "CreateRole twice", err, gatehouse.ErrAlreadyExists)
	_, err = s.GetRole(ctx, "nope")
	wantErr(t, "GetRole unknown", err, gatehouse.ErrNotFound)
	_, err = s.UpdateRole(ctx, "nope", func(*gatehouse.Role) error { return nil })
	wantErr(t, "UpdateRole unknown", err, gatehouse.ErrNotFound)
	wantErr(t, "DeleteRole unknown", s.DeleteRole(ctx, "nope"), gatehouse.ErrNotFound)

	up, err := s.UpdateRole(ctx, "deployer", func(x *gatehouse.Role) error {
		x.Rules = append(x.Rules, gatehouse.RoleRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"watch"}})
		x.Name = "renamed"            // cannot change
		x.CreatedAt = time.Unix(0, 0) // cannot change
		return nil
	})
	mustNil(t, "UpdateRole", err)
	if up.Name != "deployer" || !up.CreatedAt.Equal(r.CreatedAt) || len(up.Rules) != 3 || up.UpdatedAt.Before(r.UpdatedAt) {
		t.Fatalf("UpdateRole returned %+v", up)
	}
	got, err = s.GetRole(ctx, "deployer")
	mustNil(t, "GetRole after update", err)
	wantEqual(t, "GetRole after update", got, up)
	_, err = s.GetRole(ctx, "renamed")
	wantErr(t, "GetRole renamed", err, gatehouse.ErrNotFound)

	v := mustVersion(t, s)
	_, err = s.UpdateRole(ctx, "deployer", func(x *gatehouse.Role) error { x.Rules = nil; return errBoom })
	wantErr(t, "UpdateRole fn error", err, errBoom)
	got, err = s.GetRole(ctx, "deployer")
	mustNil(t, "GetRole", err)
	wantEqual(t, "role after fn error", got, up)
	if v2 := mustVersion(t, s); v2 != v {
		t.Errorf("Version moved on a failed UpdateRole: %d -> %d", v, v2)
	}

	empty, err := s.CreateRole(ctx, gatehouse.Role{Name: "Empty"})
	mustNil(t, "CreateRole no rules", err)
	mustNil(t, "CreateRole", func() error { _, err := s.CreateRole(ctx, gatehouse.Role{Name: "auditor"}); return err }())
	list, err := s.ListRoles(ctx)
	mustNil(t, "ListRoles", err)
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	wantEqual(t, "ListRoles order", names, []string{"Empty", "auditor", "deployer"})
	wantEqual(t, "ListRoles element", list[0], empty)
	wantEqual(t, "ListRoles element", list[2], up)

	mustNil(t, "DeleteRole", s.DeleteRole(ctx, "deployer"))
	_, err = s.GetRole(ctx, "deployer")
	wantErr(t, "GetRole deleted", err, gatehouse.ErrNotFound)
}

func testRoleSystemNames(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, name := range []string{"admin", "sre", "developer", "viewer", "agent-admin", "microservice"} {
		if !gatehouse.IsSystemRole(name) {
			t.Fatalf("%q is not a system role", name)
		}
		_, err := s.CreateRole(ctx, gatehouse.Role{Name: name})
		wantErr(t, "CreateRole "+name, err, gatehouse.ErrConflict)
	}
	list, err := s.ListRoles(ctx)
	mustNil(t, "ListRoles", err)
	if len(list) != 0 {
		t.Fatalf("system role names were stored: %+v", list)
	}
	// Binding a system role is the normal case.
	_, err = s.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "ops-admin", RoleRef: "admin", Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectGroup, Name: "ops"}}})
	mustNil(t, "CreateRoleBinding to a system role", err)
}

func testRoleBindingCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := gatehouse.RoleBinding{
		Name:     "deployers",
		RoleRef:  "deployer", // need not exist
		Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectUser, Name: "alice"}, {Kind: gatehouse.SubjectGroup, Name: "ops"}},
	}
	b, err := s.CreateRoleBinding(ctx, in)
	mustNil(t, "CreateRoleBinding", err)
	wantStoredTime(t, "RoleBinding.CreatedAt", b.CreatedAt)
	if b.Name != in.Name || b.RoleRef != in.RoleRef || !reflect.DeepEqual(b.Subjects, in.Subjects) || !b.UpdatedAt.Equal(b.CreatedAt) {
		t.Fatalf("CreateRoleBinding returned %+v", b)
	}
	got, err := s.GetRoleBinding(ctx, "deployers")
	mustNil(t, "GetRoleBinding", err)
	wantEqual(t, "GetRoleBinding", got, b)
	_, err = s.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "deployers", RoleRef: "x"})
	wantErr(t, "CreateRoleBinding twice", err, gatehouse.ErrAlreadyExists)
	_, err = s.GetRoleBinding(ctx, "nope")
	wantErr(t, "GetRoleBinding unknown", err, gatehouse.ErrNotFound)
	_, err = s.UpdateRoleBinding(ctx, "nope", func(*gatehouse.RoleBinding) error { return nil })
	wantErr(t, "UpdateRoleBinding unknown", err, gatehouse.ErrNotFound)
	wantErr(t, "DeleteRoleBinding unknown", s.DeleteRoleBinding(ctx, "nope"), gatehouse.ErrNotFound)

	up, err := s.UpdateRoleBinding(ctx, "deployers", func(x *gatehouse.RoleBinding) error {
		x.Subjects = x.Subjects[1:]
		x.RoleRef = "viewer"
		x.Name = "renamed"
		return nil
	})
	mustNil(t, "UpdateRoleBinding", err)
	if up.Name != "deployers" || up.RoleRef != "viewer" || len(up.Subjects) != 1 || !up.CreatedAt.Equal(b.CreatedAt) {
		t.Fatalf("UpdateRoleBinding returned %+v", up)
	}
	got, err = s.GetRoleBinding(ctx, "deployers")
	mustNil(t, "GetRoleBinding", err)
	wantEqual(t, "GetRoleBinding after update", got, up)

	_, err = s.UpdateRoleBinding(ctx, "deployers", func(x *gatehouse.RoleBinding) error { x.RoleRef = "admin"; return errBoom })
	wantErr(t, "UpdateRoleBinding fn error", err, errBoom)
	got, err = s.GetRoleBinding(ctx, "deployers")
	mustNil(t, "GetRoleBinding", err)
	wantEqual(t, "binding after fn error", got, up)

	for _, n := range []string{"b2", "A1"} {
		_, err := s.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: n, RoleRef: "viewer"})
		mustNil(t, "CreateRoleBinding "+n, err)
	}
	list, err := s.ListRoleBindings(ctx)
	mustNil(t, "ListRoleBindings", err)
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	wantEqual(t, "ListRoleBindings order", names, []string{"A1", "b2", "deployers"})
	wantEqual(t, "ListRoleBindings element", list[2], up)
	mustNil(t, "DeleteRoleBinding", s.DeleteRoleBinding(ctx, "deployers"))
	_, err = s.GetRoleBinding(ctx, "deployers")
	wantErr(t, "GetRoleBinding deleted", err, gatehouse.ErrNotFound)
}

func testClientCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := gatehouse.Client{
		ClientID:               "console",
		Name:                   "Console",
		SecretHash:             "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		ResponseTypes:          []string{"code"},
		RedirectURIs:           []string{"https://console.example.com/cb", "http://127.0.0.1:8976/cb"},
		PostLogoutRedirectURIs: []string{"https://console.example.com/"},
	}
	c, err := s.CreateClient(ctx, in)
	mustNil(t, "CreateClient", err)
	wantStoredTime(t, "Client.CreatedAt", c.CreatedAt)
	in.CreatedAt = c.CreatedAt
	wantEqual(t, "CreateClient", c, in)
	got, err := s.GetClient(ctx, "console")
	mustNil(t, "GetClient", err)
	wantEqual(t, "GetClient", got, c)
	_, err = s.CreateClient(ctx, gatehouse.Client{ClientID: "console"})
	wantErr(t, "CreateClient twice", err, gatehouse.ErrAlreadyExists)
	_, err = s.GetClient(ctx, "nope")
	wantErr(t, "GetClient unknown", err, gatehouse.ErrNotFound)
	wantErr(t, "DeleteClient unknown", s.DeleteClient(ctx, "nope"), gatehouse.ErrNotFound)

	pub, err := s.CreateClient(ctx, gatehouse.Client{ClientID: "cli", Name: "CLI", Public: true, ResponseTypes: []string{"code"}, RedirectURIs: []string{"http://127.0.0.1/cb"}})
	mustNil(t, "CreateClient public", err)
	got, err = s.GetClient(ctx, "cli")
	mustNil(t, "GetClient public", err)
	wantEqual(t, "public client", got, pub)

	list, err := s.ListClients(ctx)
	mustNil(t, "ListClients", err)
	wantEqual(t, "ListClients", list, []gatehouse.Client{pub, c})
	mustNil(t, "DeleteClient", s.DeleteClient(ctx, "cli"))
	_, err = s.GetClient(ctx, "cli")
	wantErr(t, "GetClient deleted", err, gatehouse.ErrNotFound)
}

func testVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	var (
		u   gatehouse.User
		tok gatehouse.APIToken
	)
	ug := func() gatehouse.Grantee { return gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID} }
	writes := []struct {
		name string
		do   func() error
	}{
		{"CreateUser", func() (err error) { u, err = s.CreateUser(ctx, gatehouse.User{Login: "alice"}); return err }},
		{"UpdateUser", func() error {
			_, err := s.UpdateUser(ctx, u.ID, func(x *gatehouse.User) error { x.Email = "a@x"; return nil })
			return err
		}},
		{"CreateGroup", func() error { _, err := s.CreateGroup(ctx, "ops"); return err }},
		{"AddMember", func() error { return s.AddMember(ctx, "ops", u.ID) }},
		{"Grant", func() error { return s.Grant(ctx, ug(), "view_x") }},
		{"Revoke", func() error { return s.Revoke(ctx, ug(), "view_x") }},
		{"CreateToken", func() (err error) {
			tok, err = s.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Name: "t", Digest: digest("t"), Source: "api"})
			return err
		}},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, tok.ID, time.Now()) }},
		{"CreateRole", func() error { _, err := s.CreateRole(ctx, gatehouse.Role{Name: "r"}); return err }},
		{"UpdateRole", func() error {
			_, err := s.UpdateRole(ctx, "r", func(x *gatehouse.Role) error {
				x.Rules = []gatehouse.RoleRule{{Verbs: []string{"get"}}}
				return nil
			})
			return err
		}},
		{"CreateRoleBinding", func() error {
			_, err := s.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "b", RoleRef: "r"})
			return err
		}},
		{"UpdateRoleBinding", func() error {
			_, err := s.UpdateRoleBinding(ctx, "b", func(x *gatehouse.RoleBinding) error { x.RoleRef = "viewer"; return nil })
			return err
		}},
		{"DeleteRoleBinding", func() error { return s.DeleteRoleBinding(ctx, "b") }},
		{"DeleteRole", func() error { return s.DeleteRole(ctx, "r") }},
		{"RemoveMember", func() error { return s.RemoveMember(ctx, "ops", u.ID) }},
		{"DeleteGroup", func() error { return s.DeleteGroup(ctx, "ops") }},
		{"SyncEnvTokens", func() error {
			return s.SyncEnvTokens(ctx, []store.EnvToken{{Login: "env", Digest: digest("e"), Permissions: []string{"x"}}})
		}},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, u.ID) }},
	}
	v := mustVersion(t, s)
	for _, w := range writes {
		mustNil(t, w.name, w.do())
		v2 := mustVersion(t, s)
		if v2 <= v {
			t.Errorf("%s: Version %d -> %d, want an increase", w.name, v, v2)
		}
		v = v2
	}

	// Reads and failed writes leave it alone.
	_, _ = s.ListUsers(ctx)
	_, _ = s.GetUser(ctx, "nope")
	_, err := s.CreateRole(ctx, gatehouse.Role{Name: "admin"})
	wantErr(t, "CreateRole admin", err, gatehouse.ErrConflict)
	if v2 := mustVersion(t, s); v2 != v {
		t.Errorf("Version moved without a write: %d -> %d", v, v2)
	}
}

// envState is what SyncEnvTokens governs, for before/after comparisons.
type envState struct {
	Users  []gatehouse.User
	Tokens []gatehouse.APIToken
	Grants map[string][]string // login -> direct grants
}

func readEnvState(t *testing.T, s store.Store) envState {
	t.Helper()
	ctx := t.Context()
	var st envState
	var err error
	st.Users, err = s.ListUsers(ctx)
	mustNil(t, "ListUsers", err)
	st.Tokens, err = s.ListTokens(ctx, "")
	mustNil(t, "ListTokens", err)
	st.Grants = map[string][]string{}
	for _, u := range st.Users {
		g, err := s.GrantsOf(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID})
		mustNil(t, "GrantsOf", err)
		st.Grants[u.Login] = g
	}
	return st
}

func testSyncEnvTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	// carol exists with a password and a grant the line does not list.
	carol, err := s.CreateUser(ctx, gatehouse.User{Login: "carol", PasswordHash: "$argon2id$opaque"})
	mustNil(t, "CreateUser carol", err)
	mustNil(t, "Grant carol", s.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: carol.ID}, "old_x"))
	mustGroup(t, s, "ops")
	mustNil(t, "AddMember carol", s.AddMember(ctx, "ops", carol.ID))
	mustNil(t, "Grant ops", s.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "ops"}, "group_x"))
	api, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: carol.ID, Name: "api", Digest: digest("api"), Source: "api"})
	mustNil(t, "CreateToken api", err)

	lines := []store.EnvToken{
		{Login: "alice", Digest: digest("A"), Permissions: []string{"b_x", "a_x", "b_x"}},
		{Login: "bob", Digest: digest("B"), Permissions: []string{"c_x"}},
		{Login: "carol", Digest: digest("C"), Permissions: []string{"new_x"}},
		{Login: "alice", Digest: digest("A2"), Permissions: []string{"a_x", "b_x"}}, // a second token, same set
	}
	mustNil(t, "SyncEnvTokens", s.SyncEnvTokens(ctx, lines))

	check := func(login string, perms []string, digests ...string) gatehouse.User {
		t.Helper()
		u, err := s.GetUserByLogin(ctx, login)
		mustNil(t, "GetUserByLogin "+login, err)
		g, err := s.GrantsOf(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID})
		mustNil(t, "GrantsOf "+login, err)
		wantStrings(t, "grants of "+login, g, perms)
		toks, err := s.ListTokens(ctx, u.ID)
		mustNil(t, "ListTokens "+login, err)
		var env int
		for _, tk := range toks {
			if tk.Source == "env" {
				env++
			}
		}
		if env != len(digests) {
			t.Fatalf("%s has %d env tokens, want %d", login, env, len(digests))
		}
		for _, d := range digests {
			tk, err := s.TokenByDigest(ctx, digest(d))
			mustNil(t, "TokenByDigest "+d, err)
			if tk.UserID != u.ID || tk.Source != "env" || tk.Permissions != nil || !tk.Active(time.Now()) {
				t.Fatalf("env token %s: %+v", d, tk)
			}
		}
		return u
	}
	alice := check("alice", []string{"a_x", "b_x"}, "A", "A2")
	if alice.PasswordHash != "" || alice.Disabled {
		t.Fatalf("env user created with %+v", alice)
	}
	check("bob", []string{"c_x"}, "B")
	c := check("carol", []string{"new_x"}, "C")
	if c.PasswordHash != carol.PasswordHash {
		t.Fatal("SyncEnvTokens touched an existing user's password")
	}
	p, err := s.Permissions(ctx, carol.ID)
	mustNil(t, "Permissions carol", err)
	wantEqual(t, "carol keeps group grants", p, []string{"group_x", "new_x"})
	got, err := s.TokenByDigest(ctx, digest("api"))
	mustNil(t, "api token", err)
	wantEqual(t, "api token untouched", got, api)

	// Idempotent: a second run changes nothing, not even Version.
	before, v := readEnvState(t, s), mustVersion(t, s)
	mustNil(t, "SyncEnvTokens again", s.SyncEnvTokens(ctx, lines))
	wantEqual(t, "state after second sync", readEnvState(t, s), before)
	if v2 := mustVersion(t, s); v2 != v {
		t.Errorf("idempotent SyncEnvTokens moved Version %d -> %d", v, v2)
	}

	// Drop bob's line and narrow alice: bob's token goes, bob stays.
	lines = []store.EnvToken{
		{Login: "alice", Digest: digest("A"), Permissions: []string{"a_x"}},
		{Login: "carol", Digest: digest("C"), Permissions: []string{"new_x"}},
	}
	mustNil(t, "SyncEnvTokens narrowed", s.SyncEnvTokens(ctx, lines))
	if v2 := mustVersion(t, s); v2 <= v {
		t.Errorf("changing SyncEnvTokens did not move Version")
	}
	check("alice", []string{"a_x"}, "A")
	check("bob", []string{"c_x"})
	_, err = s.TokenByDigest(ctx, digest("B"))
	wantErr(t, "removed line's token", err, gatehouse.ErrNotFound)
	_, err = s.TokenByDigest(ctx, digest("A2"))
	wantErr(t, "removed line's token", err, gatehouse.ErrNotFound)

	// A digest moves to another login.
	mustNil(t, "SyncEnvTokens moved", s.SyncEnvTokens(ctx, []store.EnvToken{{Login: "dave", Digest: digest("A"), Permissions: nil}}))
	check("dave", nil, "A")
	check("alice", []string{"a_x"})

	// No lines: no env tokens at all; api tokens stay.
	mustNil(t, "SyncEnvTokens empty", s.SyncEnvTokens(ctx, nil))
	toks, err := s.ListTokens(ctx, "")
	mustNil(t, "ListTokens", err)
	wantEqual(t, "tokens after empty sync", toks, []gatehouse.APIToken{api})
}

func testSyncEnvTokensAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	owner := mustUser(t, s, "owner")
	_, err := s.CreateToken(ctx, gatehouse.APIToken{UserID: owner.ID, Name: "api", Digest: digest("taken"), Source: "api"})
	mustNil(t, "CreateToken", err)
	mustNil(t, "SyncEnvTokens", s.SyncEnvTokens(ctx, []store.EnvToken{{Login: "alice", Digest: digest("A"), Permissions: []string{"a_x"}}}))

	before, v := readEnvState(t, s), mustVersion(t, s)
	bad := map[string][]store.EnvToken{
		// The first lines are fine: nothing of them may stay behind.
		"digest of an api token": {
			{Login: "alice", Digest: digest("A"), Permissions: []string{"z_x"}},
			{Login: "erin", Digest: digest("E"), Permissions: []string{"e_x"}},
			{Login: "frank", Digest: digest("taken"), Permissions: []string{"f_x"}},
		},
		"digest repeated": {
			{Login: "erin", Digest: digest("E"), Permissions: []string{"e_x"}},
			{Login: "frank", Digest: digest("E"), Permissions: []string{"f_x"}},
		},
		"login with two permission sets": {
			{Login: "erin", Digest: digest("E"), Permissions: []string{"e_x"}},
			{Login: "erin", Digest: digest("E2"), Permissions: []string{"f_x"}},
		},
	}
	for name, lines := range bad {
		err := s.SyncEnvTokens(ctx, lines)
		if err == nil {
			t.Fatalf("%s: SyncEnvTokens succeeded", name)
		}
		wantErr(t, name, err, gatehouse.ErrConflict)
		wantEqual(t, name+": state", readEnvState(t, s), before)
		if v2 := mustVersion(t, s); v2 != v {
			t.Errorf("%s: Version moved %d -> %d", name, v, v2)
		}
	}
	_, err = s.GetUserByLogin(ctx, "erin")
	wantErr(t, "half-written user", err, gatehouse.ErrNotFound)
}

// waitTimeout bounds every wait on another goroutine or replica; it is a
// safety net against hangs, not a latency assertion.
const waitTimeout = 20 * time.Second

// RunConcurrency checks that concurrent writers lose no update and that
// uniqueness holds under a race.
func RunConcurrency(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"UpdateRole", testConcurrentUpdateRole},
		{"UpdateUser", testConcurrentUpdateUser},
		{"CreateUserSameLogin", testConcurrentCreateUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

const writers = 20

// parallel runs fn(i) for i in [0, writers) at once and returns the errors.
func parallel(fn func(i int) error) []error {
	errs := make([]error, writers)
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	for range writers {
		<-done
	}
	return errs
}

func testConcurrentUpdateRole(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CreateRole(ctx, gatehouse.Role{Name: "r"})
	mustNil(t, "CreateRole", err)
	errs := parallel(func(i int) error {
		_, err := s.UpdateRole(ctx, "r", func(r *gatehouse.Role) error {
			r.Rules = append(r.Rules, gatehouse.RoleRule{Resources: []string{fmt.Sprint(i)}, Verbs: []string{"get"}})
			return nil
		})
		return err
	})
	for i, err := range errs {
		mustNil(t, fmt.Sprintf("UpdateRole %d", i), err)
	}
	r, err := s.GetRole(ctx, "r")
	mustNil(t, "GetRole", err)
	seen := map[string]bool{}
	for _, rule := range r.Rules {
		seen[rule.Resources[0]] = true
	}
	if len(r.Rules) != writers || len(seen) != writers {
		t.Fatalf("%d rules (%d distinct) after %d concurrent appends", len(r.Rules), len(seen), writers)
	}
}

func testConcurrentUpdateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	errs := parallel(func(int) error {
		_, err := s.UpdateUser(ctx, u.ID, func(x *gatehouse.User) error { x.Email += "x"; return nil })
		return err
	})
	for i, err := range errs {
		mustNil(t, fmt.Sprintf("UpdateUser %d", i), err)
	}
	got, err := s.GetUser(ctx, u.ID)
	mustNil(t, "GetUser", err)
	if len(got.Email) != writers {
		t.Fatalf("Email %q after %d concurrent appends", got.Email, writers)
	}
}

func testConcurrentCreateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := parallel(func(int) error {
		_, err := s.CreateUser(ctx, gatehouse.User{Login: "racer"})
		return err
	})
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, gatehouse.ErrAlreadyExists):
			t.Errorf("CreateUser %d: %v, want success or ErrAlreadyExists", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent CreateUser calls with one login succeeded, want 1", ok)
	}
	list, err := s.ListUsers(ctx)
	mustNil(t, "ListUsers", err)
	if len(list) != 1 {
		t.Fatalf("%d users stored", len(list))
	}
}

// RunNotify checks change signalling between two stores sharing one
// database (for a single-replica backend, open may return one store twice).
func RunNotify(t *testing.T, open func(t *testing.T) (a, b store.Store)) {
	tests := []struct {
		name string
		run  func(t *testing.T, a, b store.Store)
	}{
		{"WriteSignals", testNotifyWrite},
		{"ClosesWithContext", testNotifyClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := open(t)
			tt.run(t, a, b)
		})
	}
}

func testNotifyWrite(t *testing.T, a, b store.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for round := range 3 { // more than once: signals keep coming
		before := mustVersion(t, b)
		ch := b.Changes(ctx)
		_, err := a.CreateUser(ctx, gatehouse.User{Login: fmt.Sprintf("user%d", round)})
		mustNil(t, "CreateUser through a", err)
		// Signals coalesce and may be spurious, so wait until one arrives
		// after which b sees the write.
		for seen := false; !seen; {
			select {
			case _, ok := <-ch:
				if !ok {
					t.Fatalf("round %d: Changes closed early", round)
				}
				v, err := b.Version(ctx)
				mustNil(t, "Version through b", err)
				seen = v > before
			case <-ctx.Done():
				t.Fatalf("round %d: no change signal within %v", round, waitTimeout)
			}
		}
		if _, err := b.GetUserByLogin(ctx, fmt.Sprintf("user%d", round)); err != nil {
			t.Fatalf("round %d: b does not see the write: %v", round, err)
		}
	}
}

func testNotifyClose(t *testing.T, _, b store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := b.Changes(ctx)
	cancel()
	deadline := time.After(waitTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("Changes channel not closed after its context ended")
		}
	}
}

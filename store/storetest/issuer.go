package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

// RunIssuer runs the conformance tests of the embedded issuer's state
// (migration 0004), each on a store from open.
func RunIssuer(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"SigningKeys", testSigningKeys},
		{"RefreshTokens", testRefreshTokens},
		{"RefreshTokenUseOnce", testRefreshTokenUseOnce},
		{"IssuerRecords", testIssuerRecords},
		{"IssuerRecordsCascade", testIssuerRecordsCascade},
		{"DeleteExpiredIssuerState", testDeleteExpiredIssuerState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	v0 := mustVersion(t, s)
	t1 := storeTime(time.Now().Add(-time.Hour))
	t2 := t1.Add(time.Minute)
	mustNil(t, "add k1", s.AddSigningKey(ctx, store.SigningKey{KID: "k1", Alg: "RS256", Sealed: []byte{1, 2}, PublicJWK: []byte(`{"kid":"k1"}`), CreatedAt: t1}))
	if mustVersion(t, s) == v0 {
		t.Error("adding a signing key must count as a change (replicas reload keys)")
	}
	mustNil(t, "add k2", s.AddSigningKey(ctx, store.SigningKey{KID: "k2", Alg: "RS256", Sealed: []byte{3}, PublicJWK: []byte(`{"kid":"k2"}`), CreatedAt: t2}))
	wantErr(t, "duplicate kid", s.AddSigningKey(ctx, store.SigningKey{KID: "k2", Alg: "RS256", Sealed: []byte{3}, PublicJWK: []byte(`{}`), CreatedAt: t2}), gatehouse.ErrAlreadyExists)
	keys, err := s.SigningKeys(ctx)
	mustNil(t, "list", err)
	if len(keys) != 2 || keys[0].KID != "k1" || keys[1].KID != "k2" {
		t.Fatalf("keys = %+v", keys)
	}
	wantEqual(t, "k1 retired at k2's creation", keys[0].RetiredAt, t2)
	wantEqual(t, "k2 active", keys[1].RetiredAt.IsZero(), true)
	wantEqual(t, "sealed bytes", string(keys[0].Sealed), string([]byte{1, 2}))
	wantEqual(t, "public jwk", string(keys[1].PublicJWK), `{"kid":"k2"}`)
	n, err := s.DeleteSigningKeysRetiredBefore(ctx, t2.Add(time.Second))
	mustNil(t, "delete retired", err)
	wantEqual(t, "deleted", n, 1)
	keys, _ = s.SigningKeys(ctx)
	if len(keys) != 1 || keys[0].KID != "k2" {
		t.Fatalf("after delete: %+v", keys)
	}
}

func testRefreshTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	v0 := mustVersion(t, s)
	now := storeTime(time.Now())
	mk := func(secret, family, session string) store.RefreshToken {
		return store.RefreshToken{Digest: digest(secret), FamilyID: family, UserID: u.ID, ClientID: "c", Scope: "openid",
			SessionID: session, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	for _, rt := range []store.RefreshToken{mk("a1", "fa", "s1"), mk("a2", "fa", "s1"), mk("b1", "fb", "s2"), mk("c1", "fc", "s3")} {
		mustNil(t, "create", s.CreateRefreshToken(ctx, rt))
	}
	wantEqual(t, "token writes are not changes", mustVersion(t, s), v0)
	wantErr(t, "duplicate digest", s.CreateRefreshToken(ctx, mk("a1", "fx", "s")), gatehouse.ErrAlreadyExists)
	bad := mk("z", "fz", "s")
	bad.UserID = "nobody"
	wantErr(t, "unknown user", s.CreateRefreshToken(ctx, bad), gatehouse.ErrNotFound)
	got, err := s.RefreshTokenByDigest(ctx, digest("a1"))
	mustNil(t, "get", err)
	want := mk("a1", "fa", "s1")
	wantEqual(t, "round trip", got, want)
	_, err = s.RefreshTokenByDigest(ctx, digest("nope"))
	wantErr(t, "unknown", err, gatehouse.ErrNotFound)

	mustNil(t, "revoke family", s.RevokeRefreshFamily(ctx, "fa", now))
	for _, sec := range []string{"a1", "a2"} {
		rt, _ := s.RefreshTokenByDigest(ctx, digest(sec))
		wantEqual(t, sec+" revoked", rt.RevokedAt, now)
	}
	rt, _ := s.RefreshTokenByDigest(ctx, digest("b1"))
	wantEqual(t, "other family untouched", rt.RevokedAt.IsZero(), true)

	mustNil(t, "revoke session", s.RevokeUserRefreshTokens(ctx, u.ID, "s2", now))
	rt, _ = s.RefreshTokenByDigest(ctx, digest("b1"))
	wantEqual(t, "session s2 revoked", rt.RevokedAt, now)
	rt, _ = s.RefreshTokenByDigest(ctx, digest("c1"))
	wantEqual(t, "session s3 untouched", rt.RevokedAt.IsZero(), true)
	later := now.Add(time.Minute)
	mustNil(t, "revoke user", s.RevokeUserRefreshTokens(ctx, u.ID, "", later))
	rt, _ = s.RefreshTokenByDigest(ctx, digest("c1"))
	wantEqual(t, "all of the user's revoked", rt.RevokedAt, later)
	rt, _ = s.RefreshTokenByDigest(ctx, digest("a1"))
	wantEqual(t, "earlier revocation time kept", rt.RevokedAt, now)

	mustNil(t, "delete user", s.DeleteUser(ctx, u.ID))
	_, err = s.RefreshTokenByDigest(ctx, digest("c1"))
	wantErr(t, "tokens go with the user", err, gatehouse.ErrNotFound)
}

func testRefreshTokenUseOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "bob")
	now := storeTime(time.Now())
	mustNil(t, "create", s.CreateRefreshToken(ctx, store.RefreshToken{Digest: digest("r"), FamilyID: "f", UserID: u.ID, ClientID: "c",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	errs := parallel(func(int) error {
		_, err := s.UseRefreshToken(ctx, digest("r"), now)
		return err
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, gatehouse.ErrConflict):
			t.Errorf("unexpected error: %v", err)
		}
	}
	wantEqual(t, "exactly one use wins", wins, 1)
	rt, err := s.UseRefreshToken(ctx, digest("r"), now.Add(time.Second))
	wantErr(t, "used again", err, gatehouse.ErrConflict)
	wantEqual(t, "conflict returns the stored use time", rt.UsedAt, now)
	_, err = s.UseRefreshToken(ctx, digest("x"), now)
	wantErr(t, "unknown", err, gatehouse.ErrNotFound)
}

func testIssuerRecords(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := storeTime(time.Now())
	v0 := mustVersion(t, s)
	mustNil(t, "put", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "code", ID: "c1", Data: []byte("one"), ExpiresAt: now.Add(time.Minute)}))
	mustNil(t, "put expired", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "code", ID: "old", Data: []byte("x"), ExpiresAt: now.Add(-time.Second)}))
	wantEqual(t, "record writes are not changes", mustVersion(t, s), v0)
	r, err := s.GetIssuerRecord(ctx, "code", "c1", now)
	mustNil(t, "get", err)
	wantEqual(t, "data", string(r.Data), "one")
	_, err = s.GetIssuerRecord(ctx, "other", "c1", now)
	wantErr(t, "kinds are separate", err, gatehouse.ErrNotFound)
	_, err = s.GetIssuerRecord(ctx, "code", "old", now)
	wantErr(t, "expired", err, gatehouse.ErrNotFound)
	_, err = s.TakeIssuerRecord(ctx, "code", "old", now)
	wantErr(t, "take expired", err, gatehouse.ErrNotFound)

	errs := parallel(func(int) error {
		_, err := s.TakeIssuerRecord(ctx, "code", "c1", now)
		return err
	})
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if !errors.Is(err, gatehouse.ErrNotFound) {
			t.Errorf("take: %v", err)
		}
	}
	wantEqual(t, "a record is taken once", wins, 1)

	for i := 0; i < 2; i++ {
		r, err = s.UpdateIssuerRecord(ctx, "counter", "n", now, func(r *store.IssuerRecord) error {
			r.Data = append(r.Data, 'x')
			return nil
		})
		mustNil(t, "update", err)
	}
	wantEqual(t, "update creates then updates", string(r.Data), "xx")
	_, err = s.UpdateIssuerRecord(ctx, "counter", "n", now, func(r *store.IssuerRecord) error { return errBoom })
	wantErr(t, "fn error", err, errBoom)
	r, _ = s.GetIssuerRecord(ctx, "counter", "n", now)
	wantEqual(t, "fn error rolls back", string(r.Data), "xx")
	errs = parallel(func(int) error {
		_, err := s.UpdateIssuerRecord(ctx, "counter", "p", now, func(r *store.IssuerRecord) error {
			r.Data = append(r.Data, 'y')
			return nil
		})
		return err
	})
	for _, err := range errs {
		mustNil(t, "concurrent update", err)
	}
	r, _ = s.GetIssuerRecord(ctx, "counter", "p", now)
	wantEqual(t, "no update lost", len(r.Data), len(errs))
}

func testIssuerRecordsCascade(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := storeTime(time.Now())
	a, b := mustUser(t, s, "a"), mustUser(t, s, "b")
	mustNil(t, "put a", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "mfa", ID: a.ID, UserID: a.ID, Data: []byte("a")}))
	mustNil(t, "put b", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "mfa", ID: b.ID, UserID: b.ID, Data: []byte("b")}))
	mustNil(t, "put reset", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "reset", ID: "t", UserID: b.ID, Data: []byte("b")}))
	wantErr(t, "unknown user", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "mfa", ID: "x", UserID: "nobody"}), gatehouse.ErrNotFound)
	mustNil(t, "delete user a", s.DeleteUser(ctx, a.ID))
	_, err := s.GetIssuerRecord(ctx, "mfa", a.ID, now)
	wantErr(t, "records go with the user", err, gatehouse.ErrNotFound)
	mustNil(t, "delete b's resets", s.DeleteIssuerRecords(ctx, "reset", b.ID))
	_, err = s.GetIssuerRecord(ctx, "reset", "t", now)
	wantErr(t, "deleted by kind and user", err, gatehouse.ErrNotFound)
	_, err = s.GetIssuerRecord(ctx, "mfa", b.ID, now)
	mustNil(t, "other kinds kept", err)
}

func testDeleteExpiredIssuerState(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := storeTime(time.Now())
	u := mustUser(t, s, "x")
	for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(time.Hour)} {
		sec := fmt.Sprint("rt", i)
		mustNil(t, "create rt", s.CreateRefreshToken(ctx, store.RefreshToken{Digest: digest(sec), FamilyID: "f", UserID: u.ID, CreatedAt: now, ExpiresAt: exp}))
		mustNil(t, "put record", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "code", ID: sec, Data: []byte("x"), ExpiresAt: exp}))
	}
	mustNil(t, "put forever", s.PutIssuerRecord(ctx, store.IssuerRecord{Kind: "account", ID: u.ID, UserID: u.ID, Data: []byte("x")}))
	n, err := s.DeleteExpiredIssuerState(ctx, now)
	mustNil(t, "delete", err)
	wantEqual(t, "deleted", n, 2)
	_, err = s.RefreshTokenByDigest(ctx, digest("rt1"))
	mustNil(t, "live token kept", err)
	_, err = s.GetIssuerRecord(ctx, "account", u.ID, now)
	mustNil(t, "record without expiry kept", err)
	_, err = s.GetIssuerRecord(ctx, "code", "rt1", now)
	mustNil(t, "live record kept", err)
}

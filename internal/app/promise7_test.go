package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
)

// TestPromise7_RevokedTokenRefusedAtTheNextRequest: an API token revoked on
// this replica is refused by the very next Check, though its identity was
// cached a moment before; the same for a disabled user.
func TestPromise7_RevokedTokenRefusedAtTheNextRequest(t *testing.T) {
	iss := testenv.NewIssuer(t)
	g := start(t, externalEnv(t, iss, "POLICY_DIR", auraPolicyDir(t)), true)
	st := g.app.Store()
	ctx := context.Background()
	for round := range 20 {
		u := mustUser(t, st, gatehouse.User{Login: "svc" + string(rune('a'+round))})
		if err := st.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, "add_show"); err != nil {
			t.Fatal(err)
		}
		revoked, tok := newToken(t, st, u.Login, nil)
		disabled, _ := newToken(t, st, u.Login, nil)
		ask := func(s string) outcome {
			return g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(s)})
		}
		// Let the grant's change reach the policy data first (asynchronous
		// by design: bindings and grants are published in the background).
		eventually(t, "the grant", func() bool { return ask(revoked).status == 200 })
		wantStatus(t, ask(revoked), 200) // cached now
		if err := st.RevokeToken(ctx, tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if o := ask(revoked); o.status != 401 {
			t.Fatalf("round %d: the Check right after revocation: %d %s", round, o.status, o.reason)
		}
		wantStatus(t, ask(disabled), 200)
		if _, err := st.UpdateUser(ctx, u.ID, func(u *gatehouse.User) error { u.Disabled = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if o := ask(disabled); o.status != 401 {
			t.Fatalf("round %d: the Check right after disabling the user: %d %s", round, o.status, o.reason)
		}
	}
}

// TestPromiseLifecycle_RestartLosesNothing: on SQLite, a token issued and a
// token revoked before a restart are, after it, still accepted and still
// refused. (The embedded signing key's survival is token's
// TestFileKeyIsCreatedOnceAndShared.)
func TestPromiseLifecycle_RestartLosesNothing(t *testing.T) {
	iss := testenv.NewIssuer(t)
	env := externalEnv(t, iss, "POLICY_DIR", auraPolicyDir(t))
	g := start(t, env, true)
	st := g.app.Store()
	ctx := context.Background()
	u := mustUser(t, st, gatehouse.User{Login: "svc"})
	if err := st.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, "add_show"); err != nil {
		t.Fatal(err)
	}
	kept, _ := newToken(t, st, "svc", nil)
	revoked, tok := newToken(t, st, "svc", nil)
	if err := st.RevokeToken(ctx, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	ask := func(g *gh, s string) int {
		return g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(s)}).status
	}
	if ask(g, kept) != 200 || ask(g, revoked) != 401 {
		t.Fatal("before the restart")
	}
	g.stop()

	g2 := start(t, env, true) // same DATA_DIR
	if got := ask(g2, kept); got != 200 {
		t.Fatalf("a token issued before the restart: %d after it", got)
	}
	if got := ask(g2, revoked); got != 401 {
		t.Fatalf("a token revoked before the restart: %d after it", got)
	}
}

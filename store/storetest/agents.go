package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
)

// RunAgents runs the conformance tests of agent credentials and single-use
// claims, each on a store from open, including their races.
func RunAgents(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"AgentCRUD", testAgentCRUD},
		{"TouchAgent", testTouchAgent},
		{"ProvisioningKeys", testProvisioningKeys},
		{"ConsumeProvisioningKey", testConsumeProvisioningKey},
		{"DeleteExpiredProvisioningKeys", testDeleteExpiredProvisioningKeys},
		{"AgentWritesLeaveVersion", testAgentWritesLeaveVersion},
		{"ClaimOnce", testClaimOnce},
		{"DeleteExpiredClaims", testDeleteExpiredClaims},
		{"ConcurrentClaimOnce", testConcurrentClaimOnce},
		{"ConcurrentConsume", testConcurrentConsume},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

// RunClaimReplicas checks ClaimOnce across two stores sharing one database,
// as two replicas would: of concurrent claims of one id on both, exactly one
// wins.
func RunClaimReplicas(t *testing.T, open func(t *testing.T) (a, b store.Store)) {
	a, b := open(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	for round := range 10 {
		id := fmt.Sprintf("jti-%d", round)
		errs := parallel(func(i int) error {
			s := a
			if i%2 == 1 {
				s = b
			}
			return s.ClaimOnce(ctx, "replicas", id, exp)
		})
		wantOneWinner(t, fmt.Sprintf("round %d", round), errs)
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func mustAgent(t *testing.T, s store.Store, a gatehouse.Agent) gatehouse.Agent {
	t.Helper()
	a, err := s.CreateAgent(t.Context(), a)
	if err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	return a
}

func testAgentCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	key := bytes.Repeat([]byte{7}, 32)
	a := mustAgent(t, s, gatehouse.Agent{ID: "5b0c6f5e-0000-4000-8000-000000000001", Name: "edge-b", ArchType: 1, PublicKey: key})
	wantStoredTime(t, "CreatedAt", a.CreatedAt)
	wantEqual(t, "UpdatedAt", a.UpdatedAt, a.CreatedAt)
	got, err := s.GetAgent(ctx, a.ID)
	mustNil(t, "GetAgent", err)
	wantEqual(t, "GetAgent", got, a)
	got, err = s.GetAgentByName(ctx, "edge-b")
	mustNil(t, "GetAgentByName", err)
	wantEqual(t, "GetAgentByName", got, a)

	// Defaults: a new UUID, named after itself, no key yet.
	d := mustAgent(t, s, gatehouse.Agent{})
	if !uuidPattern.MatchString(d.ID) || d.Name != d.ID || d.PublicKey != nil || !d.ProvisionedAt.IsZero() || !d.LastActiveAt.IsZero() {
		t.Fatalf("defaults: %+v", d)
	}
	got, err = s.GetAgent(ctx, d.ID)
	mustNil(t, "GetAgent defaults", err)
	wantEqual(t, "GetAgent defaults", got, d)
	n := mustAgent(t, s, gatehouse.Agent{Name: "edge-a"})

	list, err := s.ListAgents(ctx)
	mustNil(t, "ListAgents", err)
	want := []gatehouse.Agent{d, n, a} // by name: a UUID starts with a digit or a-f, before "edge-…"
	if d.Name > "edge-a" {
		want = []gatehouse.Agent{n, a, d}
	}
	wantEqual(t, "ListAgents", list, want)

	_, err = s.CreateAgent(ctx, gatehouse.Agent{ID: a.ID, Name: "other"})
	wantErr(t, "CreateAgent with a taken ID", err, gatehouse.ErrAlreadyExists)
	_, err = s.CreateAgent(ctx, gatehouse.Agent{Name: "edge-b"})
	wantErr(t, "CreateAgent with a taken name", err, gatehouse.ErrAlreadyExists)
	_, err = s.GetAgent(ctx, "nope")
	wantErr(t, "GetAgent unknown", err, gatehouse.ErrNotFound)
	_, err = s.GetAgentByName(ctx, "nope")
	wantErr(t, "GetAgentByName unknown", err, gatehouse.ErrNotFound)

	mustNil(t, "DeleteAgent", s.DeleteAgent(ctx, a.ID))
	_, err = s.GetAgent(ctx, a.ID)
	wantErr(t, "GetAgent after delete", err, gatehouse.ErrNotFound)
	wantErr(t, "DeleteAgent twice", s.DeleteAgent(ctx, a.ID), gatehouse.ErrNotFound)
}

func testTouchAgent(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustAgent(t, s, gatehouse.Agent{Name: "edge"})
	t1 := time.Now().Add(-time.Minute)
	mustNil(t, "TouchAgent", s.TouchAgent(ctx, a.ID, t1))
	got, err := s.GetAgent(ctx, a.ID)
	mustNil(t, "GetAgent", err)
	wantEqual(t, "LastActiveAt", got.LastActiveAt, storeTime(t1))
	// An earlier use arriving late does not move it back.
	mustNil(t, "TouchAgent earlier", s.TouchAgent(ctx, a.ID, t1.Add(-time.Hour)))
	got, _ = s.GetAgent(ctx, a.ID)
	wantEqual(t, "LastActiveAt after an earlier touch", got.LastActiveAt, storeTime(t1))
	wantErr(t, "TouchAgent unknown", s.TouchAgent(ctx, "nope", t1), gatehouse.ErrNotFound)
}

func testProvisioningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustAgent(t, s, gatehouse.Agent{Name: "edge-a"})
	b := mustAgent(t, s, gatehouse.Agent{Name: "edge-b"})
	exp := time.Now().Add(20 * time.Minute)

	_, err := s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("k0"), AgentID: "nope", ExpiresAt: exp})
	wantErr(t, "PutProvisioningKey for an unknown agent", err, gatehouse.ErrNotFound)

	k, err := s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("k1"), AgentID: a.ID, ExpiresAt: exp})
	mustNil(t, "PutProvisioningKey", err)
	wantStoredTime(t, "CreatedAt", k.CreatedAt)
	wantEqual(t, "ExpiresAt", k.ExpiresAt, storeTime(exp))
	got, err := s.ProvisioningKey(ctx, digest("k1"))
	mustNil(t, "ProvisioningKey", err)
	wantEqual(t, "ProvisioningKey", got, k)

	// A new key replaces the agent's earlier one.
	_, err = s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("k2"), AgentID: a.ID, ExpiresAt: exp})
	mustNil(t, "PutProvisioningKey again", err)
	_, err = s.ProvisioningKey(ctx, digest("k1"))
	wantErr(t, "replaced key", err, gatehouse.ErrNotFound)
	_, err = s.ProvisioningKey(ctx, digest("k2"))
	mustNil(t, "new key", err)

	// A digest belongs to one agent.
	_, err = s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("k2"), AgentID: b.ID, ExpiresAt: exp})
	wantErr(t, "PutProvisioningKey with a digest in use", err, gatehouse.ErrAlreadyExists)

	// Deleting the agent deletes its key.
	mustNil(t, "DeleteAgent", s.DeleteAgent(ctx, a.ID))
	_, err = s.ProvisioningKey(ctx, digest("k2"))
	wantErr(t, "key of a deleted agent", err, gatehouse.ErrNotFound)
}

func testConsumeProvisioningKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustAgent(t, s, gatehouse.Agent{Name: "edge"})
	now := time.Now()
	pub := bytes.Repeat([]byte{9}, 32)
	provision := func(x *gatehouse.Agent) error {
		x.ID, x.Name = "hijack", "hijack" // ignored: identity cannot change
		x.PublicKey, x.ArchType, x.ProvisionedAt = pub, 2, now
		return nil
	}

	_, err := s.ConsumeProvisioningKey(ctx, digest("unknown"), now, provision)
	wantErr(t, "unknown key", err, gatehouse.ErrNotFound)

	// Expired at now: refused and kept (the caller tells expired from unknown).
	_, err = s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("old"), AgentID: a.ID, ExpiresAt: now})
	mustNil(t, "PutProvisioningKey", err)
	_, err = s.ConsumeProvisioningKey(ctx, digest("old"), now, provision)
	wantErr(t, "expired key", err, gatehouse.ErrNotFound)
	_, err = s.ProvisioningKey(ctx, digest("old"))
	mustNil(t, "expired key kept", err)

	// An error from fn rolls back: the key survives, the agent is unchanged.
	_, err = s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("k"), AgentID: a.ID, ExpiresAt: now.Add(time.Hour)})
	mustNil(t, "PutProvisioningKey", err)
	_, err = s.ConsumeProvisioningKey(ctx, digest("k"), now, func(x *gatehouse.Agent) error {
		x.PublicKey = pub
		return errBoom
	})
	wantErr(t, "fn error", err, errBoom)
	_, err = s.ProvisioningKey(ctx, digest("k"))
	mustNil(t, "key after a failed consume", err)
	got, _ := s.GetAgent(ctx, a.ID)
	wantEqual(t, "agent after a failed consume", got, a)

	out, err := s.ConsumeProvisioningKey(ctx, digest("k"), now, provision)
	mustNil(t, "ConsumeProvisioningKey", err)
	if out.ID != a.ID || out.Name != a.Name || !out.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("identity changed: %+v", out)
	}
	if !bytes.Equal(out.PublicKey, pub) || out.ArchType != 2 || !out.ProvisionedAt.Equal(storeTime(now)) || out.UpdatedAt.Before(a.UpdatedAt) {
		t.Fatalf("consumed: %+v", out)
	}
	got, err = s.GetAgent(ctx, a.ID)
	mustNil(t, "GetAgent", err)
	wantEqual(t, "stored agent", got, out)
	_, err = s.ProvisioningKey(ctx, digest("k"))
	wantErr(t, "consumed key", err, gatehouse.ErrNotFound)
	_, err = s.ConsumeProvisioningKey(ctx, digest("k"), now, provision)
	wantErr(t, "key used twice", err, gatehouse.ErrNotFound)
}

func testDeleteExpiredProvisioningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(-time.Minute), now.Add(time.Hour)} {
		a := mustAgent(t, s, gatehouse.Agent{Name: fmt.Sprint("edge-", i)})
		_, err := s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest(fmt.Sprint(i)), AgentID: a.ID, ExpiresAt: exp})
		mustNil(t, "PutProvisioningKey", err)
	}
	n, err := s.DeleteExpiredProvisioningKeys(ctx, now)
	mustNil(t, "DeleteExpiredProvisioningKeys", err)
	if n != 2 {
		t.Fatalf("deleted %d keys, want 2", n)
	}
	_, err = s.ProvisioningKey(ctx, digest("2"))
	mustNil(t, "live key kept", err)
	_, err = s.ProvisioningKey(ctx, digest("0"))
	wantErr(t, "expired key", err, gatehouse.ErrNotFound)
}

// testAgentWritesLeaveVersion: nothing caches agent credentials or claims,
// so writing them must not make every replica reload its policy data.
func testAgentWritesLeaveVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	v := mustVersion(t, s)
	a := mustAgent(t, s, gatehouse.Agent{Name: "edge"})
	_, err := s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("k"), AgentID: a.ID, ExpiresAt: time.Now().Add(time.Hour)})
	mustNil(t, "PutProvisioningKey", err)
	_, err = s.ConsumeProvisioningKey(ctx, digest("k"), time.Now(), func(x *gatehouse.Agent) error { x.ArchType = 1; return nil })
	mustNil(t, "ConsumeProvisioningKey", err)
	mustNil(t, "TouchAgent", s.TouchAgent(ctx, a.ID, time.Now()))
	mustNil(t, "ClaimOnce", s.ClaimOnce(ctx, "ns", "id", time.Now().Add(time.Hour)))
	mustNil(t, "DeleteAgent", s.DeleteAgent(ctx, a.ID))
	if got := mustVersion(t, s); got != v {
		t.Fatalf("Version moved from %d to %d on agent writes", v, got)
	}
}

func testClaimOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	later := time.Now().Add(time.Hour)
	mustNil(t, "first claim", s.ClaimOnce(ctx, "agent-jwt", "a", later))
	wantErr(t, "second claim", s.ClaimOnce(ctx, "agent-jwt", "a", later), gatehouse.ErrAlreadyExists)
	wantErr(t, "second claim with another expiry", s.ClaimOnce(ctx, "agent-jwt", "a", later.Add(time.Hour)), gatehouse.ErrAlreadyExists)
	mustNil(t, "same id, other namespace", s.ClaimOnce(ctx, "peer-jwt", "a", later))
	mustNil(t, "other id", s.ClaimOnce(ctx, "agent-jwt", "b", later))

	// An expired claim may be claimed again, and then holds until its new
	// expiry.
	mustNil(t, "claim expiring at once", s.ClaimOnce(ctx, "agent-jwt", "c", time.Now().Add(-time.Second)))
	mustNil(t, "claim of an expired pair", s.ClaimOnce(ctx, "agent-jwt", "c", later))
	wantErr(t, "claim after the renewal", s.ClaimOnce(ctx, "agent-jwt", "c", later), gatehouse.ErrAlreadyExists)
}

func testDeleteExpiredClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	mustNil(t, "claim", s.ClaimOnce(ctx, "ns", "old", now.Add(-time.Hour)))
	mustNil(t, "claim", s.ClaimOnce(ctx, "ns", "older", now.Add(-2*time.Hour)))
	mustNil(t, "claim", s.ClaimOnce(ctx, "ns", "live", now.Add(time.Hour)))
	n, err := s.DeleteExpiredClaims(ctx, now)
	mustNil(t, "DeleteExpiredClaims", err)
	if n != 2 {
		t.Fatalf("deleted %d claims, want 2", n)
	}
	wantErr(t, "live claim kept", s.ClaimOnce(ctx, "ns", "live", now.Add(time.Hour)), gatehouse.ErrAlreadyExists)
	n, err = s.DeleteExpiredClaims(ctx, now)
	mustNil(t, "DeleteExpiredClaims again", err)
	if n != 0 {
		t.Fatalf("deleted %d claims on the second pass", n)
	}
}

// wantOneWinner checks that exactly one error is nil and every other wraps
// ErrAlreadyExists.
func wantOneWinner(t *testing.T, what string, errs []error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, gatehouse.ErrAlreadyExists) && !errors.Is(err, gatehouse.ErrNotFound):
			t.Errorf("%s: call %d: %v", what, i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%s: %d of %d concurrent calls won, want exactly 1", what, wins, len(errs))
	}
}

func testConcurrentClaimOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	for round := range 5 {
		id := fmt.Sprintf("jti-%d", round)
		errs := parallel(func(int) error { return s.ClaimOnce(ctx, "race", id, exp) })
		wantOneWinner(t, fmt.Sprintf("ClaimOnce round %d", round), errs)
		for i, err := range errs {
			if err != nil && !errors.Is(err, gatehouse.ErrAlreadyExists) {
				t.Fatalf("ClaimOnce %d: %v, want ErrAlreadyExists", i, err)
			}
		}
	}
}

func testConcurrentConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustAgent(t, s, gatehouse.Agent{Name: "edge"})
	_, err := s.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest("k"), AgentID: a.ID, ExpiresAt: time.Now().Add(time.Hour)})
	mustNil(t, "PutProvisioningKey", err)
	errs := parallel(func(i int) error {
		_, err := s.ConsumeProvisioningKey(ctx, digest("k"), time.Now(), func(x *gatehouse.Agent) error {
			x.ArchType = i
			return nil
		})
		return err
	})
	wantOneWinner(t, "ConsumeProvisioningKey", errs)
}

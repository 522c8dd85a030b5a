package issuer

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

type fixedIdentity struct{ id *gatehouse.Identity }

func (f fixedIdentity) Authenticate(context.Context, gatehouse.Credential, *gatehouse.Request) (*gatehouse.Identity, error) {
	return f.id, nil
}

type fakeAccounts struct {
	mustChange bool
	err        error
	reads      atomic.Int64
}

func (f *fakeAccounts) MustChangePassword(context.Context, string) (bool, error) {
	f.reads.Add(1)
	return f.mustChange || f.err != nil, f.err
}

func TestPasswordGate(t *testing.T) {
	const iss = "https://gatehouse.example"
	token := func(issuer string, claim any) *gatehouse.Identity {
		id := &gatehouse.Identity{Kind: gatehouse.KindUser, Subject: "u1", Issuer: issuer,
			Claims: map[string]any{"sub": "u1", ClaimPasswordChangeRequired: claim}}
		id.ComputeDigest()
		return id
	}
	tests := []struct {
		name      string
		id        *gatehouse.Identity
		accounts  *fakeAccounts
		wantClaim any
		wantReads int64
	}{
		{"changed since: claim false, new digest", token(iss, true), &fakeAccounts{}, false, 1},
		{"still must change: token as it is", token(iss, true), &fakeAccounts{mustChange: true}, true, 1},
		{"store fails: fails closed", token(iss, true), &fakeAccounts{err: errors.New("down")}, true, 1},
		{"claim false: no store read", token(iss, false), &fakeAccounts{}, false, 0},
		{"another issuer's claim is its own", token("https://idp.example", true), &fakeAccounts{}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, digest := tt.id.Claims[ClaimPasswordChangeRequired], tt.id.Digest
			g := NewPasswordGate(fixedIdentity{tt.id}, iss, tt.accounts, time.Second, nil, nil)
			got, err := g.Authenticate(context.Background(), gatehouse.Credential{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Claims[ClaimPasswordChangeRequired] != tt.wantClaim {
				t.Fatalf("claim %v, want %v", got.Claims[ClaimPasswordChangeRequired], tt.wantClaim)
			}
			if changed := got.Digest != digest; changed != (tt.wantClaim != before) {
				t.Fatalf("digest changed %v with the claim going %v → %v", changed, before, tt.wantClaim)
			}
			if tt.id.Claims[ClaimPasswordChangeRequired] != before || tt.id.Digest != digest {
				t.Fatal("the verifier's (cached) identity was changed in place")
			}
			if n := tt.accounts.reads.Load(); n != tt.wantReads {
				t.Fatalf("%d store reads, want %d", n, tt.wantReads)
			}
		})
	}
}

func TestPasswordGateRemembersBriefly(t *testing.T) {
	const iss = "https://gatehouse.example"
	id := &gatehouse.Identity{Subject: "u1", Issuer: iss, Claims: map[string]any{ClaimPasswordChangeRequired: true}}
	acc := &fakeAccounts{mustChange: true}
	now := time.Unix(1_700_000_000, 0)
	g := NewPasswordGate(fixedIdentity{id}, iss, acc, time.Second, func() time.Time { return now }, nil)
	claim := func() any {
		got, err := g.Authenticate(context.Background(), gatehouse.Credential{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got.Claims[ClaimPasswordChangeRequired]
	}
	for range 3 {
		if claim() != true {
			t.Fatal("still must change")
		}
	}
	if acc.reads.Load() != 1 {
		t.Fatalf("%d reads within the TTL, want 1", acc.reads.Load())
	}
	acc.mustChange = false // changed on another replica
	if claim() != true {
		t.Fatal("the remembered answer holds for gateTTL")
	}
	now = now.Add(gateTTL)
	if claim() != false || acc.reads.Load() != 2 {
		t.Fatalf("after gateTTL: reads %d, want a second read that clears the claim", acc.reads.Load())
	}
	acc.mustChange = true // an admin requires it again, through this replica
	g.Invalidate()
	if claim() != true || acc.reads.Load() != 3 {
		t.Fatal("Invalidate must force a fresh read")
	}
}

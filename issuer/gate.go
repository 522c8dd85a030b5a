package issuer

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// ClaimPasswordChangeRequired is the access-token claim of a user who must
// change the password (RB-17).
const ClaimPasswordChangeRequired = "password_change_required"

// The gate remembers a user's stored flag this long, and at most this many
// users; every local store write forgets them all.
const (
	gateTTL        = time.Second
	gateMaxEntries = 4096
)

// accountReader is what the gate reads: Accounts.
type accountReader interface {
	MustChangePassword(ctx context.Context, userID string) (bool, error)
}

// PasswordGate re-reads the stored flag behind a token's
// password_change_required claim. The claim is the user's state when the
// token was issued; like the Controller's gate, Gatehouse lets the token
// through again once the stored flag is cleared (RB-18), so a token issued
// before the password change is not locked out until it expires. Only the
// embedded issuer's tokens carrying the claim as true are looked at: for
// those the store is read (within the deadline, at most once per user per
// gateTTL) and, when the user has changed the password since, the identity
// goes on with the claim false and a digest of its own. A failed read keeps
// the claim: the gate fails closed.
type PasswordGate struct {
	inner    gatehouse.Authenticator
	issuer   string
	accounts accountReader
	deadline time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	cleared map[string]gateAnswer // by user ID
}

type gateAnswer struct {
	cleared bool
	until   time.Time
}

// NewPasswordGate wraps inner, the verifier of issuerURL's tokens.
func NewPasswordGate(inner gatehouse.Authenticator, issuerURL string, accounts accountReader, deadline time.Duration, now func() time.Time, log *slog.Logger) *PasswordGate {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PasswordGate{inner: inner, issuer: issuerURL, accounts: accounts, deadline: deadline, now: now, log: log, cleared: map[string]gateAnswer{}}
}

// Authenticate verifies with inner, then settles the claim.
func (g *PasswordGate) Authenticate(ctx context.Context, cred gatehouse.Credential, req *gatehouse.Request) (*gatehouse.Identity, error) {
	id, err := g.inner.Authenticate(ctx, cred, req)
	if err != nil || id == nil || id.Issuer != g.issuer || id.Claims[ClaimPasswordChangeRequired] != true {
		return id, err
	}
	if !g.changedSince(ctx, id.Subject) {
		return id, nil
	}
	out := *id
	out.Claims = maps.Clone(id.Claims)
	out.Claims[ClaimPasswordChangeRequired] = false
	out.ComputeDigest() // the decision cache must not answer for the old claim
	return &out, nil
}

// changedSince reports whether the user no longer must change the password.
func (g *PasswordGate) changedSince(ctx context.Context, userID string) bool {
	now := g.now()
	g.mu.Lock()
	a, ok := g.cleared[userID]
	g.mu.Unlock()
	if ok && now.Before(a.until) {
		return a.cleared
	}
	if g.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.deadline)
		defer cancel()
	}
	must, err := g.accounts.MustChangePassword(ctx, userID)
	if err != nil {
		g.log.WarnContext(ctx, "password gate: reading the account failed; the token's password_change_required stands", "user", userID, "error", err)
		return false
	}
	g.mu.Lock()
	if len(g.cleared) >= gateMaxEntries {
		clear(g.cleared)
	}
	g.cleared[userID] = gateAnswer{cleared: !must, until: now.Add(gateTTL)}
	g.mu.Unlock()
	return !must
}

// Invalidate forgets every remembered answer: call it after a store write.
func (g *PasswordGate) Invalidate() {
	g.mu.Lock()
	clear(g.cleared)
	g.mu.Unlock()
}

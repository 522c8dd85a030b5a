package authn_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn"
	"github.com/gatehouse-authz/gatehouse/authn/apitoken"
	"github.com/gatehouse-authz/gatehouse/authn/basic"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
)

// faultyStore is one user with one API token and a password; it can be
// taken down (every call fails at once) or made slow (every call waits for
// its context).
type faultyStore struct {
	down, slow atomic.Bool
	slowEach   atomic.Int64 // each call takes this long (under its deadline)
	hash       string

	mu        sync.Mutex
	deadlines []time.Duration // time left on each call's context
	absolute  []time.Time     // each call's deadline
}

var errDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (s *faultyStore) call(ctx context.Context) error {
	s.mu.Lock()
	left := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	s.deadlines = append(s.deadlines, left)
	if dl, ok := ctx.Deadline(); ok {
		s.absolute = append(s.absolute, dl)
	}
	s.mu.Unlock()
	if d := time.Duration(s.slowEach.Load()); d > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	switch {
	case s.down.Load():
		return errDown
	case s.slow.Load():
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Minute):
			return errors.New("a slow store call was not bounded")
		}
	}
	return nil
}

var alice = gatehouse.User{ID: "u1", Login: "alice"}

func (s *faultyStore) TokenByDigest(ctx context.Context, d [32]byte) (gatehouse.APIToken, error) {
	if err := s.call(ctx); err != nil {
		return gatehouse.APIToken{}, err
	}
	if d != secret.Digest("good-token") {
		return gatehouse.APIToken{}, gatehouse.ErrNotFound
	}
	return gatehouse.APIToken{ID: "t1", UserID: "u1", Digest: d}, nil
}

func (s *faultyStore) GetUser(ctx context.Context, _ string) (gatehouse.User, error) {
	return alice, s.call(ctx)
}

func (s *faultyStore) GetUserByLogin(ctx context.Context, _ string) (gatehouse.User, error) {
	u := alice
	u.PasswordHash = s.hash
	return u, s.call(ctx)
}

func (s *faultyStore) GroupsOf(ctx context.Context, _ string) ([]string, error) {
	return []string{"staff"}, s.call(ctx)
}

func (s *faultyStore) Permissions(ctx context.Context, _ string) ([]string, error) {
	return []string{"view_show"}, s.call(ctx)
}

func (s *faultyStore) TouchToken(ctx context.Context, _ string, _ time.Time) error {
	return s.call(ctx)
}

func newFaultyStore(t *testing.T) *faultyStore {
	h, err := password.Hash("pw", password.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &faultyStore{hash: h}
}

var (
	tokenCred = gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: "good-token"}
	basicCred = gatehouse.Credential{Scheme: gatehouse.SchemeBasic, Value: "YWxpY2U6cHc="} // alice:pw
)

// TestPromise3_StoreDeadlineOnTheCheckPath: with the database hanging, API
// token and Basic Checks end with a 503-kind error (Internal, STORE_UNAVAILABLE)
// because every store call carries a deadline of at most 150ms — under
// Envoy's 200ms default — instead of waiting for the database.
func TestPromise3_StoreDeadlineOnTheCheckPath(t *testing.T) {
	if authn.DefaultStoreDeadline != 150*time.Millisecond {
		t.Fatalf("DefaultStoreDeadline = %v", authn.DefaultStoreDeadline)
	}
	fs := newFaultyStore(t)
	s := authn.WithStoreDeadline(fs, 0)
	tok := apitoken.New(s, nil, nil)
	pw, err := basic.New(s, password.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]struct {
		auth gatehouse.Authenticator
		cred gatehouse.Credential
	}{"token": {tok, tokenCred}, "basic": {pw, basicCred}} {
		fs.slow.Store(false)
		if _, err := a.auth.Authenticate(context.Background(), a.cred, &gatehouse.Request{}); err != nil {
			t.Fatalf("%s with a healthy store: %v", name, err)
		}
		fs.slow.Store(true)
		done := make(chan error, 1)
		go func() {
			_, err := a.auth.Authenticate(context.Background(), a.cred, &gatehouse.Request{})
			done <- err
		}()
		select {
		case err := <-done:
			ae := gatehouse.AsAuthError(err)
			if err == nil || !ae.Internal || ae.Reason != gatehouse.ReasonStoreUnavailable || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s with a hanging store: %v", name, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: a hanging store held the Check", name)
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, left := range fs.deadlines {
		if left < 0 || left > authn.DefaultStoreDeadline {
			t.Fatalf("store call %d ran with %v left on its deadline, want at most %v", i, left, authn.DefaultStoreDeadline)
		}
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestPromise3_StoreBackedCacheServesUpTo60s: with the database down, an API
// token seen before keeps working from the identity cache, for at most 60s
// since it was read (however long IDENTITY_CACHE_TTL is), then is answered
// 503; a token never seen is 503 at once; back up, it works again.
func TestPromise3_StoreBackedCacheServesUpTo60s(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	fs := newFaultyStore(t)
	identityCacheTTL := 5 * time.Minute // the IDENTITY_CACHE_TTL default; store-backed entries get less
	c, err := authn.NewCached(apitoken.New(authn.WithStoreDeadline(fs, 0), clk.Now, nil),
		authn.CacheOptions{MaxTTL: min(identityCacheTTL, authn.StoreBackedMaxTTL), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	check := func() error {
		_, err := c.Authenticate(context.Background(), tokenCred, &gatehouse.Request{})
		return err
	}
	if err := check(); err != nil {
		t.Fatal(err)
	}
	fs.down.Store(true)
	for _, step := range []time.Duration{0, 30 * time.Second, 29 * time.Second} { // up to 59s
		clk.Advance(step)
		if err := check(); err != nil {
			t.Fatalf("cached token refused %v into the outage: %v", step, err)
		}
	}
	_, err = c.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: "never-seen"}, &gatehouse.Request{})
	if ae := gatehouse.AsAuthError(err); !ae.Internal || ae.Reason != gatehouse.ReasonStoreUnavailable {
		t.Fatalf("uncached token with the store down: %v", err)
	}
	clk.Advance(time.Second) // 60s
	if ae := gatehouse.AsAuthError(check()); !ae.Internal || ae.Reason != gatehouse.ReasonStoreUnavailable {
		t.Fatalf("cached token at 60s into the outage: %v, want STORE_UNAVAILABLE", ae)
	}
	fs.down.Store(false)
	if err := check(); err != nil {
		t.Fatalf("after the store returned: %v", err)
	}
}

// TestPromise3_StoreBudgetIsPerCheck: an API token Check makes several store
// reads; each just under the per-call deadline must not add up past it: the
// whole Check shares one 150ms budget (authn.WithDeadline), so every read
// carries the same deadline or an earlier one, and the Check fails in band.
func TestPromise3_StoreBudgetIsPerCheck(t *testing.T) {
	fs := newFaultyStore(t)
	fs.slowEach.Store(int64(100 * time.Millisecond))
	a := authn.WithDeadline(apitoken.New(authn.WithStoreDeadline(fs, 0), nil, nil), 0)
	_, err := a.Authenticate(context.Background(), tokenCred, &gatehouse.Request{})
	if ae := gatehouse.AsAuthError(err); err == nil || !ae.Internal || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reads of 100ms each: %v, want an internal error past the budget", err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.absolute) < 2 {
		t.Fatalf("%d store calls, want the Check to reach a second one", len(fs.absolute))
	}
	for i, dl := range fs.absolute[1:] {
		if dl.After(fs.absolute[0]) {
			t.Fatalf("store call %d had a later deadline (%v) than the first (%v): no shared budget", i+1, dl, fs.absolute[0])
		}
	}
}

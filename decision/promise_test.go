package decision_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn"
	"github.com/gatehouse-authz/gatehouse/decision"
)

// authFunc is an authenticator made of a function, to inject faults.
type authFunc func(ctx context.Context) (*gatehouse.Identity, error)

func (f authFunc) Authenticate(ctx context.Context, _ gatehouse.Credential, _ *gatehouse.Request) (*gatehouse.Identity, error) {
	return f(ctx)
}

// allowAll is a policy that allows every authenticated identity, and fails
// as told: the faults must still come out as denials.
type allowAll struct {
	err   error
	panic bool
}

func (allowAll) Route(string, string, bool) gatehouse.RouteMatch {
	return gatehouse.RouteMatch{Resource: "microservices", Verb: "list", Template: "/api/v3/microservices"}
}

func (p allowAll) Evaluate(_ context.Context, in *gatehouse.PolicyInput) (gatehouse.PolicyResult, error) {
	if p.panic {
		panic("policy exploded")
	}
	if p.err != nil {
		return gatehouse.PolicyResult{}, p.err
	}
	return gatehouse.PolicyResult{Allow: in.Identity.Authenticated(), Status: 200, Subject: in.Identity.Subject}, nil
}

type observer struct{ decided, panicked atomic.Int64 }

func (o *observer) Decided(*gatehouse.Decision, time.Duration) { o.decided.Add(1) }
func (o *observer) Panicked()                                  { o.panicked.Add(1) }

var okUser = func(context.Context) (*gatehouse.Identity, error) {
	return &gatehouse.Identity{Kind: gatehouse.KindUser, Subject: "alice"}, nil
}

// TestPromise1_FaultsDenyInBand injects every fault the decision core can
// meet below it — a panic in an authenticator or in the policy, a deadline,
// an unreachable store or key set, a policy error, an authenticator that
// returns nothing — into a real authn.Chain, and requires a 503 deny (a
// normal decision, never an allow), with recovered panics counted.
func TestPromise1_FaultsDenyInBand(t *testing.T) {
	tests := []struct {
		name       string
		auth       authFunc
		policy     allowAll
		wantReason gatehouse.Reason
		wantPanics int64
	}{
		{"authenticator panics", func(context.Context) (*gatehouse.Identity, error) { panic("authenticator exploded") }, allowAll{}, gatehouse.ReasonInternal, 1},
		{"authenticator panics with nil", func(context.Context) (*gatehouse.Identity, error) { var m map[string]int; m["x"]++; return nil, nil }, allowAll{}, gatehouse.ReasonInternal, 1},
		{"authenticator deadline", func(ctx context.Context) (*gatehouse.Identity, error) { return nil, context.DeadlineExceeded }, allowAll{}, gatehouse.ReasonDeadline, 0},
		{"store unreachable", func(context.Context) (*gatehouse.Identity, error) {
			return nil, gatehouse.Unavailable(gatehouse.ReasonStoreUnavailable, errors.New("dial tcp: connection refused"))
		}, allowAll{}, gatehouse.ReasonStoreUnavailable, 0},
		{"keys unavailable", func(context.Context) (*gatehouse.Identity, error) {
			return nil, gatehouse.Unavailable(gatehouse.ReasonKeysUnavailable, errors.New("no keys"))
		}, allowAll{}, gatehouse.ReasonKeysUnavailable, 0},
		{"authenticator returns nothing", func(context.Context) (*gatehouse.Identity, error) { return nil, nil }, allowAll{}, gatehouse.ReasonInternal, 0},
		{"untyped authenticator error", func(context.Context) (*gatehouse.Identity, error) { return nil, errors.New("driver: bad connection") }, allowAll{}, gatehouse.ReasonInternal, 0},
		{"policy error", okUser, allowAll{err: errors.New("eval_conflict_error")}, gatehouse.ReasonPolicyError, 0},
		{"policy deadline", okUser, allowAll{err: context.DeadlineExceeded}, gatehouse.ReasonDeadline, 0},
		{"policy panics", okUser, allowAll{panic: true}, gatehouse.ReasonInternal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &observer{}
			d, err := decision.New(decision.Options{
				Identifier: authn.NewChain(authn.ChainOptions{Bearer: tt.auth, Token: tt.auth, Basic: tt.auth}),
				Policy:     tt.policy,
				Headers:    decision.HeaderNames{Subject: "x-s", Groups: "x-g", Kind: "x-k", DecisionID: "x-d"},
				Observer:   obs,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, authz := range []string{"Bearer a.b.c", "Token abc", "Basic dTpw"} {
				dec := d.Decide(context.Background(), &gatehouse.Request{
					Method: "GET", Path: "/api/v3/microservices",
					Headers: map[string]string{"authorization": authz},
				})
				if dec.Allow || dec.Status != 503 || dec.Reason != tt.wantReason {
					t.Fatalf("%s: allow=%v status=%d reason=%s; want a 503 deny %s", authz, dec.Allow, dec.Status, dec.Reason, tt.wantReason)
				}
				if len(dec.Body) == 0 || dec.ID == "" {
					t.Fatalf("%s: deny without body or decision id: %+v", authz, dec)
				}
			}
			if got := obs.panicked.Load(); got != 3*tt.wantPanics {
				t.Fatalf("panics counted %d, want %d", got, 3*tt.wantPanics)
			}
			if got := obs.decided.Load(); got != 3 {
				t.Fatalf("decisions recorded %d, want 3", got)
			}
		})
	}
}

// TestPromise9_OversizedAuthorizationRefusedBeforeParsing: an Authorization
// value over 16 KiB is refused (401 CREDENTIAL_TOO_LARGE) without any
// authenticator seeing it; one of exactly 16 KiB reaches its authenticator.
func TestPromise9_OversizedAuthorizationRefusedBeforeParsing(t *testing.T) {
	var calls atomic.Int64
	count := authFunc(func(context.Context) (*gatehouse.Identity, error) {
		calls.Add(1)
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "not a token")
	})
	d, err := decision.New(decision.Options{
		Identifier: authn.NewChain(authn.ChainOptions{Bearer: count, Token: count, Basic: count}),
		Policy:     allowAll{},
		Headers:    decision.HeaderNames{Subject: "x-s", Groups: "x-g", Kind: "x-k", DecisionID: "x-d"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if authn.MaxCredentialBytes != 16<<10 {
		t.Fatalf("MaxCredentialBytes = %d", authn.MaxCredentialBytes)
	}
	for _, scheme := range []string{"Bearer ", "Token ", "Basic ", "Whatever "} {
		for _, size := range []int{16<<10 + 1, 1 << 20} {
			value := scheme + strings.Repeat("a", size-len(scheme))
			dec := d.Decide(context.Background(), &gatehouse.Request{Method: "GET", Path: "/api/v3/microservices",
				Headers: map[string]string{"authorization": value}})
			if dec.Allow || dec.Status != 401 || dec.Reason != gatehouse.ReasonCredentialTooLarge {
				t.Fatalf("%q of %d bytes: allow=%v %d %s", scheme, size, dec.Allow, dec.Status, dec.Reason)
			}
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("authenticators saw %d oversized credentials", n)
	}
	value := "Bearer " + strings.Repeat("a", 16<<10-len("Bearer "))
	d.Decide(context.Background(), &gatehouse.Request{Method: "GET", Path: "/x", Headers: map[string]string{"authorization": value}})
	if calls.Load() != 1 {
		t.Fatal("a credential of exactly 16 KiB never reached its authenticator")
	}
}

// TestPromise1_AnswersBeforeTheCallersDeadline: with a caller's deadline (as
// Envoy's ext_authz timeout arrives), a stage that waits for its context ends
// early enough for the 503 deny to reach the caller before its own deadline,
// where failure_mode_allow would have let the request through.
func TestPromise1_AnswersBeforeTheCallersDeadline(t *testing.T) {
	var seen atomic.Int64 // the stage's deadline, UnixNano
	wait := authFunc(func(ctx context.Context) (*gatehouse.Identity, error) {
		dl, _ := ctx.Deadline()
		seen.Store(dl.UnixNano())
		<-ctx.Done()
		return nil, ctx.Err()
	})
	d, err := decision.New(decision.Options{
		Identifier: authn.NewChain(authn.ChainOptions{Bearer: wait}),
		Policy:     allowAll{},
		Headers:    decision.HeaderNames{Subject: "x-s", Groups: "x-g", Kind: "x-k", DecisionID: "x-d"},
	})
	if err != nil {
		t.Fatal(err)
	}
	callerDeadline := time.Now().Add(200 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), callerDeadline)
	defer cancel()
	dec := d.Decide(ctx, &gatehouse.Request{Method: "GET", Path: "/x", Headers: map[string]string{"authorization": "Bearer a.b.c"}})
	if dec.Allow || dec.Status != 503 || dec.Reason != gatehouse.ReasonDeadline {
		t.Fatalf("allow=%v %d %s, want a 503 DEADLINE_EXCEEDED deny", dec.Allow, dec.Status, dec.Reason)
	}
	stage := time.Unix(0, seen.Load())
	if reserve := callerDeadline.Sub(stage); reserve < 5*time.Millisecond || reserve > 25*time.Millisecond {
		t.Fatalf("the stage's deadline is %v before the caller's, want within [5ms, 25ms]", reserve)
	}
}

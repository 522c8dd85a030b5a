package decision

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

type fakeIdentifier struct {
	cred  gatehouse.Credential
	ident *gatehouse.Identity
	err   error
	panic bool
}

func (f fakeIdentifier) Identify(context.Context, *gatehouse.Request, gatehouse.RouteMatch) (gatehouse.Credential, *gatehouse.Identity, error) {
	if f.panic {
		panic("boom")
	}
	return f.cred, f.ident, f.err
}

type fakePolicy struct {
	route gatehouse.RouteMatch
	res   gatehouse.PolicyResult
	err   error
	seen  *gatehouse.PolicyInput
}

func (f *fakePolicy) Route(string, string, bool) gatehouse.RouteMatch { return f.route }
func (f *fakePolicy) Evaluate(_ context.Context, in *gatehouse.PolicyInput) (gatehouse.PolicyResult, error) {
	f.seen = in
	return f.res, f.err
}

type countingObserver struct{ decided, panicked int }

func (o *countingObserver) Decided(*gatehouse.Decision, time.Duration) { o.decided++ }
func (o *countingObserver) Panicked()                                  { o.panicked++ }

var names = HeaderNames{Subject: "x-gatehouse-subject", Groups: "x-gatehouse-groups", Kind: "x-gatehouse-identity-kind", DecisionID: "x-gatehouse-decision-id"}

var (
	bearer    = gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "t"}
	tokenCred = gatehouse.Credential{Scheme: gatehouse.SchemeToken, Value: "t"}
	basicCred = gatehouse.Credential{Scheme: gatehouse.SchemeBasic, Value: "dTpw"}
	user      = &gatehouse.Identity{Kind: gatehouse.KindUser, Subject: "sub-1"}
	permRoute = gatehouse.RouteMatch{Resource: "microservices", Verb: "list", Template: "/api/v3/microservices"}
	pubRoute  = gatehouse.RouteMatch{Marker: gatehouse.MarkerPublic, Template: "/api/v3/status"}
	agentRt   = gatehouse.RouteMatch{Resource: "agent", Verb: "get", Template: "/api/v3/agent/config", Credentials: []gatehouse.IdentityKind{gatehouse.KindAgent}}
)

func header(hs []gatehouse.Header, name string) (string, bool) {
	for _, h := range hs {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

func TestDecide(t *testing.T) {
	refused := gatehouse.Refuse(gatehouse.ReasonTokenExpired, "exp in the past")
	tests := []struct {
		name       string
		ident      fakeIdentifier
		policy     fakePolicy
		wantAllow  bool
		wantStatus int
		wantReason gatehouse.Reason
		wantBody   map[string]any // fields that must be present with these values
		wantWWW    string
		policyRun  bool
	}{
		{
			name:      "allow sets identity headers",
			ident:     fakeIdentifier{cred: bearer, ident: user},
			policy:    fakePolicy{route: permRoute, res: gatehouse.PolicyResult{Allow: true, Status: 200, Reason: gatehouse.ReasonPermitted, Subject: "alice", Groups: []string{"admin", "sre"}}},
			wantAllow: true, wantStatus: 200, wantReason: gatehouse.ReasonPermitted, policyRun: true,
		},
		{
			name:       "no credential denied by policy with the controller envelope",
			ident:      fakeIdentifier{ident: &gatehouse.Anonymous},
			policy:     fakePolicy{route: permRoute, res: gatehouse.PolicyResult{Status: 401, Reason: gatehouse.ReasonNoCredential}},
			wantStatus: 401, wantReason: gatehouse.ReasonNoCredential, policyRun: true,
			wantBody: map[string]any{"error": msgUnauthorized, "reason": "NO_CREDENTIAL"},
			wantWWW:  `Bearer realm="gatehouse"`,
		},
		{
			name:       "refused bearer is 401 without asking the policy",
			ident:      fakeIdentifier{cred: bearer, err: refused},
			policy:     fakePolicy{route: permRoute},
			wantStatus: 401, wantReason: gatehouse.ReasonTokenExpired,
			wantBody: map[string]any{"error": msgUnauthorized, "reason": "TOKEN_EXPIRED"},
			wantWWW:  `Bearer realm="gatehouse", error="invalid_token"`,
		},
		{
			name:      "refused bearer on a public route is ignored",
			ident:     fakeIdentifier{cred: bearer, err: refused},
			policy:    fakePolicy{route: pubRoute, res: gatehouse.PolicyResult{Allow: true, Status: 200, Reason: gatehouse.ReasonPublicRoute}},
			wantAllow: true, wantStatus: 200, wantReason: gatehouse.ReasonPublicRoute, policyRun: true,
		},
		{
			name:       "an oversized credential is refused even on a public route (promise 9)",
			ident:      fakeIdentifier{cred: bearer, err: gatehouse.Refuse(gatehouse.ReasonCredentialTooLarge, "16385 bytes")},
			policy:     fakePolicy{route: pubRoute},
			wantStatus: 401, wantReason: gatehouse.ReasonCredentialTooLarge,
		},
		{
			name:       "keys unavailable is 503 even on a public route",
			ident:      fakeIdentifier{cred: bearer, err: gatehouse.Unavailable(gatehouse.ReasonKeysUnavailable, errors.New("jwks down"))},
			policy:     fakePolicy{route: pubRoute},
			wantStatus: 503, wantReason: gatehouse.ReasonKeysUnavailable,
			wantBody: map[string]any{"error": "Service Unavailable", "message": msgUnavailable},
		},
		{
			name:       "policy error is 503",
			ident:      fakeIdentifier{cred: bearer, ident: user},
			policy:     fakePolicy{route: permRoute, err: errors.New("undefined decision")},
			wantStatus: 503, wantReason: gatehouse.ReasonPolicyError, policyRun: true,
		},
		{
			name:       "policy deadline is 503 with its own reason",
			ident:      fakeIdentifier{cred: bearer, ident: user},
			policy:     fakePolicy{route: permRoute, err: context.DeadlineExceeded},
			wantStatus: 503, wantReason: gatehouse.ReasonDeadline, policyRun: true,
		},
		{
			name:       "panic is 503",
			ident:      fakeIdentifier{panic: true},
			policy:     fakePolicy{route: permRoute},
			wantStatus: 503, wantReason: gatehouse.ReasonInternal,
		},
		{
			name:       "token credential gets DRF bodies",
			ident:      fakeIdentifier{cred: tokenCred, err: gatehouse.Refuse(gatehouse.ReasonCredentialUnsupported, "no token store")},
			policy:     fakePolicy{route: permRoute},
			wantStatus: 401, wantReason: gatehouse.ReasonCredentialUnsupported,
			wantBody: map[string]any{"detail": drfInvalidToken},
			wantWWW:  "Token",
		},
		{
			name:       "basic credential gets the basic realm",
			ident:      fakeIdentifier{cred: basicCred, err: gatehouse.Refuse(gatehouse.ReasonCredentialUnsupported, "no basic")},
			policy:     fakePolicy{route: permRoute},
			wantStatus: 401, wantReason: gatehouse.ReasonCredentialUnsupported,
			wantBody: map[string]any{"detail": drfInvalidBasic},
			wantWWW:  `Basic realm="api"`,
		},
		{
			name:       "DRF forbidden",
			ident:      fakeIdentifier{cred: tokenCred, ident: &gatehouse.Identity{Kind: gatehouse.KindToken, Subject: "svc"}},
			policy:     fakePolicy{route: permRoute, res: gatehouse.PolicyResult{Status: 403, Reason: gatehouse.ReasonForbidden}},
			wantStatus: 403, wantReason: gatehouse.ReasonForbidden, policyRun: true,
			wantBody: map[string]any{"detail": drfForbidden},
		},
		{
			name:       "agent route gets the agent envelope",
			ident:      fakeIdentifier{cred: bearer, err: &gatehouse.AuthError{Reason: gatehouse.ReasonWrongCredentialKind, Code: "AGENT_JWT_SIGNATURE_INVALID"}},
			policy:     fakePolicy{route: agentRt},
			wantStatus: 401, wantReason: gatehouse.ReasonWrongCredentialKind,
			wantBody: map[string]any{"name": "AgentAuthenticationError", "code": "AGENT_JWT_SIGNATURE_INVALID", "retryable": false},
			wantWWW:  `Bearer realm="agent"`,
		},
		{
			name:       "password change gate message",
			ident:      fakeIdentifier{cred: bearer, ident: user},
			policy:     fakePolicy{route: permRoute, res: gatehouse.PolicyResult{Status: 403, Reason: gatehouse.ReasonPasswordChangeRequired}},
			wantStatus: 403, wantReason: gatehouse.ReasonPasswordChangeRequired, policyRun: true,
			wantBody: map[string]any{"error": "Forbidden", "message": msgPasswordChange},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &countingObserver{}
			pol := tt.policy
			d, err := New(Options{Identifier: tt.ident, Policy: &pol, Headers: names, Observer: obs, NewID: func() string { return "dec-1" }})
			if err != nil {
				t.Fatal(err)
			}
			got := d.Decide(context.Background(), &gatehouse.Request{Method: "GET", Path: "/x", Headers: map[string]string{}})
			if got.Allow != tt.wantAllow || got.Status != tt.wantStatus || got.Reason != tt.wantReason {
				t.Fatalf("got allow=%v status=%d reason=%s, want %v %d %s", got.Allow, got.Status, got.Reason, tt.wantAllow, tt.wantStatus, tt.wantReason)
			}
			if got.ID != "dec-1" || obs.decided != 1 {
				t.Fatalf("decision id %q, observed %d", got.ID, obs.decided)
			}
			if (pol.seen != nil) != tt.policyRun {
				t.Fatalf("policy evaluated = %v, want %v", pol.seen != nil, tt.policyRun)
			}
			if tt.wantReason == gatehouse.ReasonInternal && obs.panicked != 1 {
				t.Fatal("panic not counted")
			}
			if got.Allow {
				for name, want := range map[string]string{names.Subject: "alice", names.Groups: "admin,sre", names.Kind: "user", names.DecisionID: "dec-1"} {
					if v, ok := header(got.Upstream, name); tt.name == "allow sets identity headers" && (!ok || v != want) {
						t.Errorf("upstream %s = %q, want %q", name, v, want)
					}
				}
				for _, r := range got.RemoveUpstream {
					if _, set := header(got.Upstream, r); set {
						t.Errorf("%s is both set and removed: Envoy would drop it", r)
					}
				}
				return
			}
			if len(got.RemoveUpstream) != 4 {
				t.Errorf("deny must strip all identity headers, got %v", got.RemoveUpstream)
			}
			if v, _ := header(got.Response, names.DecisionID); v != "dec-1" {
				t.Errorf("deny lacks the decision id header")
			}
			if v, _ := header(got.Response, "content-type"); v != "application/json" {
				t.Errorf("content-type %q", v)
			}
			www, hasWWW := header(got.Response, "www-authenticate")
			if tt.wantWWW != "" && www != tt.wantWWW {
				t.Errorf("www-authenticate %q, want %q", www, tt.wantWWW)
			}
			if got.Status != 401 && hasWWW {
				t.Errorf("www-authenticate on a %d", got.Status)
			}
			var body map[string]any
			if err := json.Unmarshal(got.Body, &body); err != nil {
				t.Fatalf("body %q: %v", got.Body, err)
			}
			if body["decisionId"] != "dec-1" || body["reason"] != string(tt.wantReason) {
				t.Errorf("body lacks decisionId/reason: %s", got.Body)
			}
			for k, v := range tt.wantBody {
				if body[k] != v {
					t.Errorf("body[%s] = %v, want %v (%s)", k, body[k], v, got.Body)
				}
			}
		})
	}
}

func TestPolicyCannotForgeIdentityHeaders(t *testing.T) {
	pol := &fakePolicy{route: permRoute, res: gatehouse.PolicyResult{Allow: true, Status: 200, Reason: gatehouse.ReasonPermitted, Subject: "alice",
		Headers: []gatehouse.Header{{Name: names.Subject, Value: "root"}, {Name: "x-tenant", Value: "t1"}}}}
	d, err := New(Options{Identifier: fakeIdentifier{cred: bearer, ident: user}, Policy: pol, Headers: names})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Decide(context.Background(), &gatehouse.Request{Method: "GET", Path: "/x"})
	var subjects []string
	for _, h := range got.Upstream {
		if h.Name == names.Subject {
			subjects = append(subjects, h.Value)
		}
	}
	if strings.Join(subjects, ",") != "alice" {
		t.Fatalf("subject headers %v", subjects)
	}
	if v, _ := header(got.Upstream, "x-tenant"); v != "t1" {
		t.Fatal("policy header dropped")
	}
}

func TestPublicRouteSeesAnonymous(t *testing.T) {
	pol := &fakePolicy{route: pubRoute, res: gatehouse.PolicyResult{Allow: true, Status: 200, Reason: gatehouse.ReasonPublicRoute}}
	d, _ := New(Options{Identifier: fakeIdentifier{cred: bearer, err: gatehouse.Refuse(gatehouse.ReasonTokenSignature, "bad")}, Policy: pol, Headers: names})
	d.Decide(context.Background(), &gatehouse.Request{Method: "GET", Path: "/api/v3/status"})
	if pol.seen == nil || pol.seen.Identity.Authenticated() {
		t.Fatalf("policy saw %+v", pol.seen)
	}
}

package authn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// fakeAuth is a hand-written authenticator for Chain's unit tests.
type fakeAuth struct {
	name  string
	kind  gatehouse.IdentityKind
	err   error
	panic bool
	nilID bool
	calls int
	last  gatehouse.Credential
}

func (f *fakeAuth) Authenticate(_ context.Context, cred gatehouse.Credential, _ *gatehouse.Request) (*gatehouse.Identity, error) {
	f.calls++
	f.last = cred
	switch {
	case f.panic:
		panic("boom")
	case f.err != nil:
		return nil, f.err
	case f.nilID:
		return nil, nil
	}
	return &gatehouse.Identity{Kind: f.kind, Subject: f.name}, nil
}

func TestChainIdentify(t *testing.T) {
	agentRoute := gatehouse.RouteMatch{Template: "/api/v3/agent/config", Credentials: []gatehouse.IdentityKind{gatehouse.KindAgent}}
	userRoute := gatehouse.RouteMatch{Template: "/api/v3/microservices", Resource: "microservices", Verb: "list"}
	tokenOnly := gatehouse.RouteMatch{Template: "/api/v1/things", Credentials: []gatehouse.IdentityKind{gatehouse.KindToken}}

	type auths struct{ bearer, token, basic, agent, peer *fakeAuth }
	all := func() auths {
		return auths{
			bearer: &fakeAuth{name: "bearer", kind: gatehouse.KindUser},
			token:  &fakeAuth{name: "token", kind: gatehouse.KindToken},
			basic:  &fakeAuth{name: "basic", kind: gatehouse.KindBasic},
			agent:  &fakeAuth{name: "agent", kind: gatehouse.KindAgent},
			peer:   &fakeAuth{name: "peer", kind: gatehouse.KindPeer},
		}
	}
	tests := []struct {
		name     string
		setup    func(a *auths)
		headers  map[string]string
		query    string
		route    gatehouse.RouteMatch
		wantSubj string // subject of the identity on success
		wantKind gatehouse.IdentityKind
		reason   gatehouse.Reason
		internal bool
		code     string
	}{
		{name: "no credential is anonymous", route: userRoute, wantKind: gatehouse.KindAnonymous},
		{name: "no credential on agent route is anonymous", route: agentRoute, wantKind: gatehouse.KindAnonymous},
		{name: "bearer goes to the bearer authenticator", headers: bearer("x"), route: userRoute, wantSubj: "bearer", wantKind: gatehouse.KindUser},
		{name: "RB-19 websocket query token goes to bearer", headers: map[string]string{"upgrade": "websocket"}, query: "token=x",
			route: userRoute, wantSubj: "bearer", wantKind: gatehouse.KindUser},
		{name: "bearer with peer header goes to peer", headers: map[string]string{"authorization": "Bearer x", "peer": "true"},
			route: userRoute, wantSubj: "peer", wantKind: gatehouse.KindPeer},
		{name: "peer header without peer authenticator goes to bearer", setup: func(a *auths) { a.peer = nil },
			headers: map[string]string{"authorization": "Bearer x", "peer": "true"}, route: userRoute, wantSubj: "bearer", wantKind: gatehouse.KindUser},
		{name: "token scheme", headers: map[string]string{"authorization": "Token s3cret"}, route: userRoute, wantSubj: "token", wantKind: gatehouse.KindToken},
		{name: "basic scheme", headers: map[string]string{"authorization": "Basic dTpw"}, route: userRoute, wantSubj: "basic", wantKind: gatehouse.KindBasic},
		{name: "token unsupported yet", setup: func(a *auths) { a.token = nil },
			headers: map[string]string{"authorization": "Token s3cret"}, route: userRoute, reason: gatehouse.ReasonCredentialUnsupported},
		{name: "basic unsupported yet", setup: func(a *auths) { a.basic = nil },
			headers: map[string]string{"authorization": "Basic dTpw"}, route: userRoute, reason: gatehouse.ReasonCredentialUnsupported},
		{name: "bearer unsupported", setup: func(a *auths) { a.bearer = nil },
			headers: bearer("x"), route: userRoute, reason: gatehouse.ReasonCredentialUnsupported},
		{name: "other scheme unsupported", headers: map[string]string{"authorization": "Digest x"}, route: userRoute, reason: gatehouse.ReasonCredentialUnsupported},
		{name: "oversized header", headers: bearer(strings.Repeat("a", MaxCredentialBytes)), route: userRoute, reason: gatehouse.ReasonCredentialTooLarge},
		{name: "agent route uses the agent authenticator only", headers: bearer("x"), route: agentRoute, wantSubj: "agent", wantKind: gatehouse.KindAgent},
		{name: "agent route without agent authenticator (bearer)", setup: func(a *auths) { a.agent = nil },
			headers: bearer("x"), route: agentRoute, reason: gatehouse.ReasonWrongCredentialKind, code: "AGENT_JWT_SIGNATURE_INVALID"},
		{name: "agent route without agent authenticator (token)", setup: func(a *auths) { a.agent = nil },
			headers: map[string]string{"authorization": "Token x"}, route: agentRoute, reason: gatehouse.ReasonWrongCredentialKind, code: "AGENT_AUTH_HEADER_INVALID"},
		{name: "agent route refuses basic", headers: map[string]string{"authorization": "Basic dTpw"}, route: agentRoute,
			reason: gatehouse.ReasonWrongCredentialKind, code: "AGENT_AUTH_HEADER_INVALID"},
		{name: "TV-08 user JWT on agent route is judged by the agent authenticator only",
			setup:   func(a *auths) { a.agent.err = gatehouse.Refuse(gatehouse.ReasonTokenSignature, "not an agent key") },
			headers: bearer("user.jwt.here"), route: agentRoute, reason: gatehouse.ReasonTokenSignature},
		{name: "TV-08 agent identity off agent routes is refused", setup: func(a *auths) { a.bearer.kind = gatehouse.KindAgent },
			headers: bearer("x"), route: userRoute, reason: gatehouse.ReasonWrongCredentialKind},
		{name: "route narrowing kinds refuses others", headers: bearer("x"), route: tokenOnly, reason: gatehouse.ReasonWrongCredentialKind},
		{name: "route narrowing kinds accepts its kind", headers: map[string]string{"authorization": "Token x"}, route: tokenOnly,
			wantSubj: "token", wantKind: gatehouse.KindToken},
		{name: "refusal passes through", setup: func(a *auths) { a.bearer.err = gatehouse.Refuse(gatehouse.ReasonTokenExpired, "old") },
			headers: bearer("x"), route: userRoute, reason: gatehouse.ReasonTokenExpired},
		{name: "plain error becomes internal", setup: func(a *auths) { a.bearer.err = errors.New("db down") },
			headers: bearer("x"), route: userRoute, reason: gatehouse.ReasonInternal, internal: true},
		{name: "deadline becomes DEADLINE_EXCEEDED", setup: func(a *auths) { a.bearer.err = context.DeadlineExceeded },
			headers: bearer("x"), route: userRoute, reason: gatehouse.ReasonDeadline, internal: true},
		{name: "panic is recovered as internal", setup: func(a *auths) { a.bearer.panic = true },
			headers: bearer("x"), route: userRoute, reason: gatehouse.ReasonInternal, internal: true},
		{name: "nil identity without error is internal", setup: func(a *auths) { a.bearer.nilID = true },
			headers: bearer("x"), route: userRoute, reason: gatehouse.ReasonInternal, internal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := all()
			if tt.setup != nil {
				tt.setup(&a)
			}
			opts := ChainOptions{}
			// Assign only non-nil fakes: a nil *fakeAuth in the interface
			// would not be a nil Authenticator.
			if a.bearer != nil {
				opts.Bearer = a.bearer
			}
			if a.token != nil {
				opts.Token = a.token
			}
			if a.basic != nil {
				opts.Basic = a.basic
			}
			if a.agent != nil {
				opts.Agent = a.agent
			}
			if a.peer != nil {
				opts.Peer = a.peer
			}
			req := &gatehouse.Request{Method: "GET", Path: tt.route.Template, Headers: tt.headers, Query: tt.query}
			_, id, err := NewChain(opts).Identify(context.Background(), req, tt.route)
			if tt.reason != "" {
				var ae *gatehouse.AuthError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v (%T), want *AuthError %s", err, err, tt.reason)
				}
				if ae.Reason != tt.reason || ae.Internal != tt.internal || ae.Code != tt.code {
					t.Fatalf("got %s internal=%v code=%q, want %s internal=%v code=%q",
						ae.Reason, ae.Internal, ae.Code, tt.reason, tt.internal, tt.code)
				}
				if id != nil {
					t.Fatal("identity returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if id.Kind != tt.wantKind || id.Subject != tt.wantSubj {
				t.Fatalf("identity %+v, want kind %s subject %q", id, tt.wantKind, tt.wantSubj)
			}
			if tt.route.Template == agentRoute.Template && a.bearer != nil && a.bearer.calls != 0 {
				t.Fatal("bearer authenticator used on an agent route")
			}
		})
	}
}

func TestChainAnonymousIsACopy(t *testing.T) {
	_, id, err := NewChain(ChainOptions{}).Identify(context.Background(), &gatehouse.Request{}, gatehouse.RouteMatch{})
	if err != nil {
		t.Fatal(err)
	}
	id.Subject = "mutated"
	if gatehouse.Anonymous.Subject != "" {
		t.Fatal("Identify returned the shared Anonymous value")
	}
}

func TestChainPassesTheCredential(t *testing.T) {
	b := &fakeAuth{kind: gatehouse.KindUser}
	cred, _, err := NewChain(ChainOptions{Bearer: b}).Identify(context.Background(),
		&gatehouse.Request{Headers: bearer("abc")}, gatehouse.RouteMatch{})
	if err != nil {
		t.Fatal(err)
	}
	want := gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: "abc"}
	if cred != want || b.last != want {
		t.Fatalf("returned %+v, authenticator saw %+v, want %+v", cred, b.last, want)
	}
}

func bearer(v string) map[string]string { return map[string]string{"authorization": "Bearer " + v} }

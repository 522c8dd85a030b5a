package authn

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse"
)

// ChainOptions names the authenticator of each credential kind; nil means
// that kind is not supported (yet), and such credentials are refused.
type ChainOptions struct {
	// Bearer verifies user JWTs (authn/jwt).
	Bearer gatehouse.Authenticator
	// Token verifies "Authorization: Token <secret>" API tokens.
	Token gatehouse.Authenticator
	// Basic verifies "Authorization: Basic" passwords.
	Basic gatehouse.Authenticator
	// Agent verifies agent JWTs; it is the only one used on agent routes.
	Agent gatehouse.Authenticator
	// Peer verifies cluster peers' bearer tokens (requests with "peer: true").
	Peer gatehouse.Authenticator
}

// Chain picks the authenticator for a request's credential and route.
type Chain struct {
	opts ChainOptions
}

// NewChain builds a Chain.
func NewChain(opts ChainOptions) *Chain { return &Chain{opts: opts} }

// Identify parses the request's credential and proves an identity from it.
//
// No credential yields a copy of gatehouse.Anonymous and no error: whether
// that is enough is the policy's call. On an agent route (route.Credentials
// holds "agent") only the Agent authenticator is used; elsewhere the scheme
// decides. Every error is a *gatehouse.AuthError: a refusal (401) or, with
// Internal set, a failure to decide (503), including a panic inside an
// authenticator, which never escapes.
func (c *Chain) Identify(ctx context.Context, req *gatehouse.Request, route gatehouse.RouteMatch) (gatehouse.Credential, *gatehouse.Identity, error) {
	if req == nil {
		req = &gatehouse.Request{}
	}
	cred, err := ParseCredentialWithQuery(req.Headers, req.Query)
	if err != nil {
		return cred, nil, gatehouse.AsAuthError(err)
	}
	if !cred.Present() {
		anon := gatehouse.Anonymous
		return cred, &anon, nil
	}
	if slices.Contains(route.Credentials, gatehouse.KindAgent) {
		id, err := c.agent(ctx, cred, req)
		return cred, id, err
	}

	var a gatehouse.Authenticator
	switch cred.Scheme {
	case gatehouse.SchemeBearer:
		a = c.opts.Bearer
		if cred.Peer && c.opts.Peer != nil {
			a = c.opts.Peer
		}
	case gatehouse.SchemeToken:
		a = c.opts.Token
	case gatehouse.SchemeBasic:
		a = c.opts.Basic
	}
	if a == nil {
		return cred, nil, gatehouse.Refuse(gatehouse.ReasonCredentialUnsupported,
			"authn: no authenticator for scheme %q", cred.Scheme)
	}
	id, err := authenticate(ctx, a, cred, req)
	if err != nil {
		return cred, nil, err
	}
	// Agent identities belong on agent routes only; other routes may narrow
	// the kinds they accept.
	if id.Kind == gatehouse.KindAgent ||
		(len(route.Credentials) > 0 && !slices.Contains(route.Credentials, id.Kind)) {
		return cred, nil, gatehouse.Refuse(gatehouse.ReasonWrongCredentialKind,
			"authn: route %q does not accept %s credentials", route.Template, id.Kind)
	}
	return cred, id, nil
}

// agent authenticates on an agent route, where only agent JWTs count.
func (c *Chain) agent(ctx context.Context, cred gatehouse.Credential, req *gatehouse.Request) (*gatehouse.Identity, error) {
	if cred.Scheme != gatehouse.SchemeBearer {
		e := gatehouse.Refuse(gatehouse.ReasonWrongCredentialKind, "authn: agent route with scheme %q", cred.Scheme)
		e.Code, e.Message = gatehouse.CodeAgentAuthHeaderInvalid, "Bearer authorization required"
		return nil, e
	}
	if c.opts.Agent == nil {
		e := gatehouse.Refuse(gatehouse.ReasonWrongCredentialKind, "authn: agent tokens are not supported")
		e.Code = gatehouse.CodeAgentJWTSignatureInvalid
		return nil, e
	}
	id, err := authenticate(ctx, c.opts.Agent, cred, req)
	if err != nil {
		return nil, err
	}
	if id.Kind != gatehouse.KindAgent {
		e := gatehouse.Refuse(gatehouse.ReasonWrongCredentialKind, "authn: agent route proved a %s identity", id.Kind)
		e.Code = gatehouse.CodeAgentJWTSignatureInvalid
		return nil, e
	}
	return id, nil
}

// authenticate calls a, turning every failure into a *gatehouse.AuthError and
// a panic into an internal one.
func authenticate(ctx context.Context, a gatehouse.Authenticator, cred gatehouse.Credential, req *gatehouse.Request) (id *gatehouse.Identity, err error) {
	defer func() {
		if p := recover(); p != nil {
			id, err = nil, gatehouse.Unavailable(gatehouse.ReasonInternal, fmt.Errorf("authn: authenticator %T: %w: %v", a, gatehouse.ErrPanic, p))
		}
	}()
	id, err = a.Authenticate(ctx, cred, req)
	switch {
	case err != nil:
		var ae *gatehouse.AuthError
		if !errors.As(err, &ae) && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			return nil, gatehouse.Unavailable(gatehouse.ReasonDeadline, err)
		}
		return nil, gatehouse.AsAuthError(err)
	case id == nil:
		return nil, gatehouse.Unavailable(gatehouse.ReasonInternal, fmt.Errorf("authn: %T returned neither identity nor error", a))
	}
	return id, nil
}

package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/replay"
)

// PermissionWrite is the one permission a peer identity holds (HORAO's
// Peer:Write; PR-12). PermissionRead is HORAO's Peer:Read, which never
// allows a write (PR-14).
const (
	PermissionWrite = "peer:write"
	PermissionRead  = "peer:read"
)

// Defaults of Options.
const (
	DefaultMaxLifetime = 5 * time.Minute
	DefaultLeeway      = 30 * time.Second
	DefaultDNSRefresh  = 30 * time.Second
	// DefaultReplayDeadline matches the store deadline of the Check path.
	DefaultReplayDeadline = 150 * time.Millisecond
)

// PartialBodyHeader is the header Envoy adds when it sent only part of the
// body (allow_partial_message); such a body cannot be verified.
const PartialBodyHeader = "x-envoy-auth-partial-body"

// Options configure an Authenticator.
type Options struct {
	// Secrets verify tokens (PEER_SECRET; any of them may have signed).
	Secrets [][]byte
	// Peers are the accepted origins and their identities (PEERS).
	Peers []Entry
	// Strict requires the source address to match Peers (PEER_STRICT).
	Strict bool
	// HostID is this host's own identity, which no peer may claim.
	HostID string
	// MaxLifetime bounds exp - iat (default DefaultMaxLifetime).
	MaxLifetime time.Duration
	// Leeway is the clock skew allowed on iat, nbf and exp.
	Leeway time.Duration
	// RequireSignedRequests refuses tokens that bind no request.
	RequireSignedRequests bool
	// InsecureAcceptReplayableTokens also accepts HORAO's own tokens, which
	// carry none of iat, exp and jti: such a token never expires and can be
	// replayed by anyone who sees it. Origins and identities are still
	// checked. Safe only while migrating senders, on a network where tokens
	// cannot be observed.
	InsecureAcceptReplayableTokens bool
	// Replay remembers jti values (default: an in-process replay.Memory).
	Replay ReplayGuard
	// ReplayDeadline bounds each Replay call (default
	// DefaultReplayDeadline): a slow store answers 503 in band, before
	// Envoy's own timeout.
	ReplayDeadline time.Duration
	// Resolver and DNSRefresh drive host-name origins.
	Resolver   Resolver
	DNSRefresh time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Authenticator verifies peer tokens; it implements gatehouse.Authenticator.
type Authenticator struct {
	opts    Options
	origins *origins
	// pinned are the identities bound to one origin: a range may not claim
	// them.
	pinned map[string]bool
}

var _ gatehouse.Authenticator = (*Authenticator)(nil)

// New validates opts and resolves host-name origins once (a failed lookup
// is logged and retried, never fatal: DNS may come up after Gatehouse).
func New(ctx context.Context, opts Options) (*Authenticator, error) {
	switch {
	case len(opts.Secrets) == 0:
		return nil, errors.New("peer: no secret")
	case opts.Strict && len(opts.Peers) == 0:
		return nil, errors.New("peer: strict origin checking without any peer")
	case opts.HostID == "":
		return nil, errors.New("peer: empty host id")
	}
	for i, s := range opts.Secrets {
		if len(s) < MinSecretBytes {
			return nil, fmt.Errorf("peer: secret %d shorter than %d bytes", i+1, MinSecretBytes)
		}
	}
	if opts.MaxLifetime <= 0 {
		opts.MaxLifetime = DefaultMaxLifetime
	}
	if opts.Leeway < 0 {
		opts.Leeway = 0
	}
	if opts.Replay == nil {
		opts.Replay = &replay.Memory{Now: opts.Now}
	}
	if opts.ReplayDeadline <= 0 {
		opts.ReplayDeadline = DefaultReplayDeadline
	}
	if opts.Resolver == nil {
		opts.Resolver = defaultResolver
	}
	if opts.DNSRefresh <= 0 {
		opts.DNSRefresh = DefaultDNSRefresh
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{opts: opts, pinned: map[string]bool{}}
	for _, e := range opts.Peers {
		if e.ID != "" {
			a.pinned[e.ID] = true
		}
	}
	a.origins = newOrigins(opts.Peers, opts.Resolver, opts.DNSRefresh, opts.Now, opts.Logger)
	if a.origins.hasHosts() {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		a.origins.resolveAll(rctx)
		cancel()
	}
	return a, nil
}

// Run refreshes host-name origins until ctx ends.
func (a *Authenticator) Run(ctx context.Context) { a.origins.run(ctx) }

// Authenticate implements gatehouse.Authenticator for requests marked
// "peer: true" with a Bearer token.
func (a *Authenticator) Authenticate(ctx context.Context, cred gatehouse.Credential, req *gatehouse.Request) (*gatehouse.Identity, error) {
	if cred.Scheme != gatehouse.SchemeBearer || cred.Value == "" {
		return nil, gatehouse.Refuse(gatehouse.ReasonCredentialUnsupported, "peer: scheme %q, want Bearer", cred.Scheme)
	}
	// PR-03: the origin is checked before any token work.
	var from []Entry
	if a.opts.Strict {
		addr, ok := sourceAddr(req.SourceIP)
		if ok {
			from = a.origins.match(addr)
		}
		if len(from) == 0 {
			return nil, gatehouse.Refuse(gatehouse.ReasonPeerOriginNotAllowed, "peer: source %q is not in PEERS", req.SourceIP)
		}
	}
	tok, err := Parse(cred.Value)
	if err != nil {
		return nil, err
	}
	if !tok.Verify(a.opts.Secrets) {
		return nil, gatehouse.Refuse(gatehouse.ReasonTokenSignature, "peer: signature does not verify under any PEER_SECRET (claimed peer %q, source %s)", tok.Claims.Peer, req.SourceIP)
	}
	c := &tok.Claims
	legacy := a.opts.InsecureAcceptReplayableTokens && !c.Has("iat") && !c.Has("exp") && !c.Has("jti")
	if !legacy {
		if err := a.checkTimes(c); err != nil {
			return nil, err
		}
	}
	if c.Peer == a.opts.HostID {
		return nil, gatehouse.Refuse(gatehouse.ReasonPeerIdentityMismatch, "peer: token claims this host's own HOST_ID %q (source %s)", c.Peer, req.SourceIP)
	}
	if a.opts.Strict && !a.identityFits(c.Peer, from) {
		return nil, gatehouse.Refuse(gatehouse.ReasonPeerIdentityMismatch, "peer: claim %q does not match the identity configured for source %s", c.Peer, req.SourceIP)
	}
	if err := a.checkBinding(c, req); err != nil {
		return nil, err
	}
	if legacy {
		a.opts.Logger.WarnContext(ctx, "peer: accepted a replayable token without iat, exp and jti (PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS)", "peer", c.Peer, "source", req.SourceIP)
		id := &gatehouse.Identity{Kind: gatehouse.KindPeer, Subject: c.Peer, Permissions: []string{PermissionWrite}}
		id.ComputeDigest()
		return id, nil
	}
	// Last, so a refused token never uses up its id.
	exp := time.Unix(c.Expires, 0).Add(a.opts.Leeway)
	rctx, cancel := context.WithTimeout(ctx, a.opts.ReplayDeadline)
	err = a.opts.Replay.ClaimOnce(rctx, ReplayNamespace, c.Peer+" "+c.ID, exp)
	cancel()
	if err != nil {
		if errors.Is(err, gatehouse.ErrAlreadyExists) {
			return nil, gatehouse.Refuse(gatehouse.ReasonTokenReplayed, "peer: jti %q of %q seen before", c.ID, c.Peer)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, gatehouse.Unavailable(gatehouse.ReasonDeadline, err)
		}
		return nil, gatehouse.Unavailable(gatehouse.ReasonStoreUnavailable, fmt.Errorf("peer: replay memory: %w", err))
	}
	id := &gatehouse.Identity{
		Kind:        gatehouse.KindPeer,
		Subject:     c.Peer,
		Permissions: []string{PermissionWrite},
		ExpiresAt:   time.Unix(c.Expires, 0),
	}
	id.ComputeDigest()
	return id, nil
}

func sourceAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		if err2 != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func (a *Authenticator) checkTimes(c *Claims) error {
	switch {
	case !c.Has("exp"):
		return gatehouse.Refuse(gatehouse.ReasonTokenNoExpiry, "peer: token of %q has no exp", c.Peer)
	case !c.Has("iat"):
		return gatehouse.Refuse(gatehouse.ReasonTokenClaimMissing, "peer: token of %q has no iat", c.Peer)
	case !c.Has("jti"):
		return gatehouse.Refuse(gatehouse.ReasonTokenClaimMissing, "peer: token of %q has no jti", c.Peer)
	case len(c.ID) < MinJTILen || len(c.ID) > MaxJTILen || strings.ContainsAny(c.ID, " \t\r\n\x00"):
		return gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "peer: jti of %d bytes, want %d..%d without spaces", len(c.ID), MinJTILen, MaxJTILen)
	}
	now := a.opts.Now().Unix()
	leeway := int64(a.opts.Leeway / time.Second)
	switch {
	case c.Expires <= c.IssuedAt:
		return gatehouse.Refuse(gatehouse.ReasonTokenMalformed, "peer: exp %d not after iat %d", c.Expires, c.IssuedAt)
	case c.Expires-c.IssuedAt > int64(a.opts.MaxLifetime/time.Second):
		return gatehouse.Refuse(gatehouse.ReasonTokenLifetime, "peer: lifetime %ds exceeds %s", c.Expires-c.IssuedAt, a.opts.MaxLifetime)
	case now > c.Expires+leeway:
		return gatehouse.Refuse(gatehouse.ReasonTokenExpired, "peer: expired at %d, now %d", c.Expires, now)
	case c.IssuedAt > now+leeway:
		return gatehouse.Refuse(gatehouse.ReasonTokenNotYetValid, "peer: issued in the future (%d, now %d)", c.IssuedAt, now)
	case c.Has("nbf") && c.NotBefore > now+leeway:
		return gatehouse.Refuse(gatehouse.ReasonTokenNotYetValid, "peer: nbf %d, now %d", c.NotBefore, now)
	}
	return nil
}

// identityFits: one of the matching origins is configured with this
// identity, or is a range and the identity is not bound to another origin.
func (a *Authenticator) identityFits(claim string, from []Entry) bool {
	return slices.ContainsFunc(from, func(e Entry) bool {
		if e.Prefix.IsValid() {
			return !a.pinned[claim]
		}
		return e.ID == claim
	})
}

// checkBinding verifies htm, htp and hbs against the request (signed
// requests).
func (a *Authenticator) checkBinding(c *Claims, req *gatehouse.Request) error {
	if !c.Bound() {
		if a.opts.RequireSignedRequests {
			return gatehouse.Refuse(gatehouse.ReasonPeerRequestUnsigned, "peer: token of %q binds no request (signed requests are required)", c.Peer)
		}
		return nil
	}
	target := req.Path
	if req.Query != "" {
		target += "?" + req.Query
	}
	switch {
	case c.Method != req.Method:
		return gatehouse.Refuse(gatehouse.ReasonPeerRequestMismatch, "peer: htm %q, request method %q", c.Method, req.Method)
	case c.Target != target:
		return gatehouse.Refuse(gatehouse.ReasonPeerRequestMismatch, "peer: htp %q, request target %q", c.Target, target)
	case strings.EqualFold(req.Headers[PartialBodyHeader], "true"):
		return gatehouse.Refuse(gatehouse.ReasonPeerRequestMismatch, "peer: only part of the body reached Gatehouse; raise with_request_body.max_request_bytes")
	case c.BodyHash != BodyHash(req.Body):
		return gatehouse.Refuse(gatehouse.ReasonPeerRequestMismatch, "peer: hbs differs from the SHA-256 of the %d body bytes received (does the proxy forward the body? with_request_body)", len(req.Body))
	}
	return nil
}

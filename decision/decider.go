package decision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Identifier proves who sent a request. It returns the credential it parsed
// (whose scheme chooses the shape of a deny body) and the identity, or an
// error carrying a *gatehouse.AuthError.
type Identifier interface {
	Identify(ctx context.Context, req *gatehouse.Request, route gatehouse.RouteMatch) (gatehouse.Credential, *gatehouse.Identity, error)
}

// Policy resolves routes and evaluates the decision policy.
type Policy interface {
	Route(method, path string, websocket bool) gatehouse.RouteMatch
	Evaluate(ctx context.Context, in *gatehouse.PolicyInput) (gatehouse.PolicyResult, error)
}

// Observer records finished decisions (metrics). Nil is allowed.
type Observer interface {
	Decided(d *gatehouse.Decision, elapsed time.Duration)
	Panicked()
}

// HeaderNames are the identity headers sent upstream.
type HeaderNames struct {
	Subject, Groups, Kind, DecisionID string
}

// Options configure a Decider.
type Options struct {
	Identifier Identifier
	Policy     Policy
	Headers    HeaderNames
	Logger     *slog.Logger
	// LogDecisions writes one info line per decision.
	LogDecisions bool
	Observer     Observer
	Now          func() time.Time
	// NewID returns a decision id; default 16 random bytes in hex.
	NewID func() string
}

// Decider is the decision core. It is safe for concurrent use.
type Decider struct {
	opts   Options
	remove []string
}

// New builds a Decider.
func New(opts Options) (*Decider, error) {
	if opts.Identifier == nil || opts.Policy == nil {
		return nil, errors.New("decision: an identifier and a policy are required")
	}
	h := opts.Headers
	if h.Subject == "" || h.Groups == "" || h.Kind == "" || h.DecisionID == "" {
		return nil, errors.New("decision: every identity header needs a name")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = randomID
	}
	return &Decider{opts: opts, remove: []string{h.Subject, h.Groups, h.Kind, h.DecisionID}}, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// Reserve bounds of the time Decide keeps, before the caller's deadline, to
// send its answer back (see Decide).
const (
	minDeadlineReserve = 5 * time.Millisecond
	maxDeadlineReserve = 25 * time.Millisecond
)

// Decide answers one request. It never fails: every failure is a deny.
//
// When the caller set a deadline (Envoy sends its ext_authz timeout, 200ms by
// default, as the gRPC deadline), the stages below work to a deadline a
// little earlier — a tenth of the time left, within [5ms, 25ms] — so that a
// slow store, key fetch or policy ends in a 503 deny the caller still
// receives, not in the caller's own timeout, which an Envoy set to
// failure_mode_allow turns into an allow.
func (d *Decider) Decide(ctx context.Context, req *gatehouse.Request) (dec gatehouse.Decision) {
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(max(time.Until(dl)/10, minDeadlineReserve), maxDeadlineReserve)
		rctx := withReserve(ctx, dl.Add(-reserve))
		defer rctx.release()
		ctx = rctx
	}
	start := d.opts.Now()
	id := d.opts.NewID()
	var cred gatehouse.Credential
	var detail error
	dec.ID = id
	defer func() {
		if r := recover(); r != nil {
			if d.opts.Observer != nil {
				d.opts.Observer.Panicked()
			}
			d.opts.Logger.ErrorContext(ctx, "panic while deciding", "decision_id", id, "panic", fmt.Sprint(r))
			dec = gatehouse.Decision{ID: id, Route: dec.Route}
			detail = fmt.Errorf("panic: %v", r)
			d.deny(&dec, cred, http503, gatehouse.ReasonInternal, nil)
		}
		d.finish(ctx, &dec, req, start, detail)
	}()

	dec.Route = d.opts.Policy.Route(req.Method, req.Path, req.IsWebSocket())

	cred, ident, err := d.opts.Identifier.Identify(ctx, req, dec.Route)
	if err != nil {
		ae := gatehouse.AsAuthError(err)
		detail = err
		if errors.Is(err, gatehouse.ErrPanic) && d.opts.Observer != nil {
			d.opts.Observer.Panicked() // recovered below us, counted here
		}
		switch {
		case ae.Internal:
			d.deny(&dec, cred, http503, ae.Reason, ae)
			return dec
		case dec.Route.Marker == gatehouse.MarkerPublic && ae.Reason != gatehouse.ReasonCredentialTooLarge:
			// A public route ignores a bad credential; its own handler may
			// still verify it. An oversized one is refused on every route
			// (promise 9): it would reach the upstream otherwise.
			anon := gatehouse.Anonymous
			ident = &anon
		default:
			d.deny(&dec, cred, http401, ae.Reason, ae)
			return dec
		}
	}
	if ident == nil {
		anon := gatehouse.Anonymous
		ident = &anon
	}
	dec.Kind = ident.Kind

	res, err := d.opts.Policy.Evaluate(ctx, &gatehouse.PolicyInput{Request: req, Identity: ident, Route: dec.Route})
	if err != nil {
		detail = err
		reason := gatehouse.ReasonPolicyError
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			reason = gatehouse.ReasonDeadline
		}
		d.deny(&dec, cred, http503, reason, nil)
		return dec
	}
	dec.Subject, dec.Groups = res.Subject, res.Groups
	dec.Reason = res.Reason
	if !res.Allow {
		d.deny(&dec, cred, res.Status, res.Reason, nil)
		dec.Response = append(dec.Response, res.Headers...)
		if res.Body != nil {
			dec.Body = res.Body
		}
		return dec
	}
	dec.Allow = true
	dec.Status = 200
	h := d.opts.Headers
	dec.Upstream = append(make([]gatehouse.Header, 0, 4+len(res.Headers)),
		gatehouse.Header{Name: h.Subject, Value: res.Subject},
		gatehouse.Header{Name: h.Groups, Value: strings.Join(res.Groups, ",")},
		gatehouse.Header{Name: h.Kind, Value: string(ident.Kind)},
		gatehouse.Header{Name: h.DecisionID, Value: id},
	)
	for _, ph := range res.Headers {
		if !d.isIdentityHeader(ph.Name) { // the policy may not forge identity headers
			dec.Upstream = append(dec.Upstream, ph)
		}
	}
	return dec
}

// Status codes, named for readability at the call sites.
const (
	http401 = 401
	http503 = 503
)

func (d *Decider) isIdentityHeader(name string) bool {
	for _, n := range d.remove {
		if n == name {
			return true
		}
	}
	return false
}

// deny fills a deny decision with the body and headers of the credential's
// family.
func (d *Decider) deny(dec *gatehouse.Decision, cred gatehouse.Credential, status int, reason gatehouse.Reason, ae *gatehouse.AuthError) {
	dec.Allow = false
	dec.Status = status
	dec.Reason = reason
	fam := familyOf(cred, dec.Route)
	dec.Body = denyBody(fam, status, reason, ae, dec, cred)
	dec.Response = append(dec.Response, gatehouse.Header{Name: "content-type", Value: "application/json"})
	if status == http401 {
		dec.Response = append(dec.Response, gatehouse.Header{Name: "www-authenticate", Value: wwwAuthenticate(fam, cred, reason)})
	}
}

// finish adds what every decision carries, then logs and records it.
func (d *Decider) finish(ctx context.Context, dec *gatehouse.Decision, req *gatehouse.Request, start time.Time, detail error) {
	if dec.Allow {
		// Identity headers we set overwrite client copies; the others are
		// removed. Envoy applies removals after sets, so a name must never be
		// in both lists.
		for _, n := range d.remove {
			set := false
			for _, h := range dec.Upstream {
				if h.Name == n {
					set = true
					break
				}
			}
			if !set {
				dec.RemoveUpstream = append(dec.RemoveUpstream, n)
			}
		}
	} else {
		dec.RemoveUpstream = d.remove
		dec.Response = append(dec.Response, gatehouse.Header{Name: d.opts.Headers.DecisionID, Value: dec.ID})
	}
	elapsed := d.opts.Now().Sub(start)
	if d.opts.Observer != nil {
		d.opts.Observer.Decided(dec, elapsed)
	}
	level := slog.LevelInfo
	if dec.Status >= 500 {
		level = slog.LevelWarn // failures to decide are always logged
	} else if !d.opts.LogDecisions {
		return
	}
	attrs := []slog.Attr{
		slog.String("decision_id", dec.ID),
		slog.Bool("allow", dec.Allow),
		slog.Int("status", dec.Status),
		slog.String("reason", string(dec.Reason)),
		slog.String("method", req.Method),
		slog.String("path", req.Path), // never the query: it may carry a token
		slog.String("route", dec.Route.Template),
		slog.String("kind", string(dec.Kind)),
		slog.String("subject", dec.Subject),
		slog.String("source_ip", req.SourceIP),
		slog.Int64("latency_us", elapsed.Microseconds()),
	}
	if detail != nil {
		attrs = append(attrs, slog.String("detail", detail.Error()))
	}
	d.opts.Logger.LogAttrs(ctx, level, "decision", attrs...)
}

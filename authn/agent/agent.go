// Package agent authenticates field agents ("fogs") by the JWTs they sign
// with the Ed25519 key they received at provisioning (seed-systems §1.8,
// checklist 4.10): alg EdDSA only, `sub` the agent's ID, `exp` required and
// bounded by a maximum lifetime, each `jti` used once across every replica.
//
// Refusals carry the Controller v3.8 agent codes (AGENT_…) in
// gatehouse.AuthError.Code; a store that cannot answer is a 503 with
// CONTROLLER_DB_UNAVAILABLE. The Chain calls this authenticator on agent
// routes only, so no other request pays for its store round trips.
//
// It imports the domain package and the standard library only.
package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/jws"
)

// JTINamespace is the ClaimOnce namespace of agent token jtis.
const JTINamespace = "agent-jwt"

const (
	msgDBUnavailable = "Database temporarily unavailable"
	maxJTIBytes      = 256
	maxTokenBytes    = 8 << 10
	defaultLeeway    = 10 * time.Second
	algEdDSA         = "EdDSA"
	typJWT           = "JWT"
	typJWTMedia      = "application/jwt"
)

// Store is what agent authentication reads: the agent's record with its
// public key, and its last-active time. store.Store satisfies it.
type Store interface {
	GetAgent(ctx context.Context, id string) (gatehouse.Agent, error)
	TouchAgent(ctx context.Context, id string, at time.Time) error
}

// ReplayGuard remembers single-use identifiers across replicas until they
// expire. ClaimOnce returns an error wrapping gatehouse.ErrAlreadyExists for
// an identifier claimed before and not yet expired. store.Store satisfies
// it; internal/replay.Memory is an in-process one for tests and
// single-replica use.
type ReplayGuard interface {
	ClaimOnce(ctx context.Context, namespace, id string, expires time.Time) error
}

// Options configure an Authenticator.
type Options struct {
	Store  Store
	Replay ReplayGuard
	// MaxLifetime bounds exp - iat (and exp - now): a token meant to live
	// longer is refused (AGENT_JWT_MAX_LIFETIME). Required.
	MaxLifetime time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat; the Controller
	// allows 10 s, the default.
	Leeway time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Authenticator verifies agent JWTs.
type Authenticator struct {
	opts Options
}

var _ gatehouse.Authenticator = (*Authenticator)(nil)

// New checks opts and returns an Authenticator.
func New(opts Options) (*Authenticator, error) {
	switch {
	case opts.Store == nil || opts.Replay == nil:
		return nil, errors.New("agent: a store and a replay guard are required")
	case opts.MaxLifetime <= 0:
		return nil, errors.New("agent: the maximum token lifetime must be positive")
	case opts.Leeway < 0:
		return nil, errors.New("agent: negative leeway")
	}
	if opts.Leeway == 0 {
		opts.Leeway = defaultLeeway
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Authenticator{opts: opts}, nil
}

// refuse is a 401 with an agent code and the Controller's message.
func refuse(reason gatehouse.Reason, code, msg, format string, args ...any) *gatehouse.AuthError {
	e := gatehouse.Refuse(reason, format, args...)
	e.Code, e.Message = code, msg
	return e
}

// unavailable is a 503 with a retryable code.
func unavailable(reason gatehouse.Reason, code, msg string, err error) *gatehouse.AuthError {
	e := gatehouse.Unavailable(reason, err)
	e.Code, e.Message = code, msg
	return e
}

// claims are the registered claims an agent token must or may carry.
type claims struct {
	Sub json.RawMessage `json:"sub"`
	JTI json.RawMessage `json:"jti"`
	Exp json.RawMessage `json:"exp"`
	Iat json.RawMessage `json:"iat"`
	Nbf json.RawMessage `json:"nbf"`
}

// Authenticate proves an agent's identity from its JWT. Cheap, stateless
// checks come first so that malformed, expired or over-long tokens never
// reach the store.
func (a *Authenticator) Authenticate(ctx context.Context, cred gatehouse.Credential, _ *gatehouse.Request) (*gatehouse.Identity, error) {
	if cred.Scheme != gatehouse.SchemeBearer || cred.Value == "" {
		return nil, refuse(gatehouse.ReasonCredentialMalformed, gatehouse.CodeAgentAuthHeaderInvalid, "Bearer authorization required", "agent: no bearer token")
	}
	if len(cred.Value) > maxTokenBytes {
		// The reason of the credential parser's and the peer token's bound.
		return nil, refuse(gatehouse.ReasonCredentialTooLarge, gatehouse.CodeAgentJWTMalformed, "Agent JWT is malformed", "agent: token of %d bytes", len(cred.Value))
	}
	tok, err := jws.Parse(cred.Value)
	if err == nil && len(tok.Signature) == 0 {
		err = errors.New("empty signature segment")
	}
	if err != nil {
		return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT is malformed", "agent: %v", err)
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Typ  string          `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(tok.Header, &hdr); err != nil || !jws.IsObject(tok.Header) {
		return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT is malformed", "agent: header is not a JSON object")
	}
	switch {
	case hdr.Alg != algEdDSA:
		// The Controller answers a 503 here (jose's "alg not allowed" is
		// unclassified); a token signed otherwise is simply not an agent's.
		return nil, refuse(gatehouse.ReasonTokenAlgorithm, gatehouse.CodeAgentJWTSignatureInvalid, "Agent JWT signature invalid", "agent: alg %.20q", hdr.Alg)
	case hdr.Crit != nil:
		return nil, refuse(gatehouse.ReasonTokenCritical, gatehouse.CodeAgentJWTMalformed, "Agent JWT is malformed", "agent: crit header")
	case hdr.Typ != "" && !strings.EqualFold(hdr.Typ, typJWT) && !strings.EqualFold(hdr.Typ, typJWTMedia):
		return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT is malformed", "agent: typ %.20q", hdr.Typ)
	}
	var c claims
	if err := json.Unmarshal(tok.Payload, &c); err != nil || !jws.IsObject(tok.Payload) {
		return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT payload is malformed", "agent: payload is not a JSON object")
	}
	sub, ok := stringClaim(c.Sub)
	if !ok || sub == "" {
		return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMissingSubject, "Agent JWT missing subject claim", "agent: no sub")
	}
	now := a.opts.Now()
	leeway := a.opts.Leeway
	exp, ok := timeClaim(c.Exp)
	switch {
	case c.Exp == nil:
		return nil, refuse(gatehouse.ReasonTokenNoExpiry, gatehouse.CodeAgentJWTMalformed, "Agent JWT exp claim required", "agent %.64q: no exp", sub)
	case !ok:
		return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT payload is malformed", "agent %.64q: exp is not a NumericDate", sub)
	case !now.Before(exp.Add(leeway)):
		return nil, refuse(gatehouse.ReasonTokenExpired, gatehouse.CodeAgentJWTExpired, "Agent JWT expired", "agent %.64q: expired at %s", sub, exp.Format(time.RFC3339))
	case exp.Sub(now) > a.opts.MaxLifetime+leeway:
		return nil, refuse(gatehouse.ReasonTokenLifetime, gatehouse.CodeAgentJWTMalformed, "Agent JWT lifetime exceeds the maximum", "agent %.64q: exp %s is more than %s away", sub, exp.Format(time.RFC3339), a.opts.MaxLifetime)
	}
	var iat, nbf time.Time
	if c.Iat != nil {
		if iat, ok = timeClaim(c.Iat); !ok {
			return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT payload is malformed", "agent %.64q: iat is not a NumericDate", sub)
		}
		if exp.Sub(iat) > a.opts.MaxLifetime {
			return nil, refuse(gatehouse.ReasonTokenLifetime, gatehouse.CodeAgentJWTMalformed, "Agent JWT lifetime exceeds the maximum", "agent %.64q: exp - iat = %s exceeds %s", sub, exp.Sub(iat), a.opts.MaxLifetime)
		}
	}
	if c.Nbf != nil {
		if nbf, ok = timeClaim(c.Nbf); !ok {
			return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT payload is malformed", "agent %.64q: nbf is not a NumericDate", sub)
		}
	}
	jti, ok := stringClaim(c.JTI)
	if !ok || jti == "" || len(jti) > maxJTIBytes {
		return nil, refuse(gatehouse.ReasonTokenMalformed, gatehouse.CodeAgentJWTMalformed, "Agent JWT jti claim required", "agent %.64q: jti missing, not a string or longer than %d bytes", sub, maxJTIBytes)
	}

	ag, err := a.opts.Store.GetAgent(ctx, sub)
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		return nil, refuse(gatehouse.ReasonAgentUnknown, gatehouse.CodeAgentFogNotFound, "Agent fog not found", "agent %.64q: unknown", sub)
	case err != nil:
		return nil, a.storeFailure(err)
	case len(ag.PublicKey) != ed25519.PublicKeySize:
		return nil, refuse(gatehouse.ReasonAgentKeyNotFound, gatehouse.CodeAgentPublicKeyNotFound, "Agent public key not found", "agent %s: no public key (not provisioned)", ag.ID)
	case len(tok.Signature) != ed25519.SignatureSize || !ed25519.Verify(ag.PublicKey, []byte(tok.SigningInput), tok.Signature):
		return nil, refuse(gatehouse.ReasonTokenSignature, gatehouse.CodeAgentJWTSignatureInvalid, "Agent JWT signature invalid", "agent %s: bad signature", ag.ID)
	}
	// Only a genuine agent gets this far: a clock running ahead is the
	// agent's problem to retry, not a reason to deprovision it (the
	// Controller reports it as retryable too).
	if (!nbf.IsZero() && nbf.After(now.Add(leeway))) || (!iat.IsZero() && iat.After(now.Add(leeway))) {
		return nil, unavailable(gatehouse.ReasonTokenNotYetValid, gatehouse.CodeControllerAuthVerificationFailed, "Agent clock is ahead of the controller",
			fmt.Errorf("agent %s: nbf %s / iat %s in the future", ag.ID, nbf.Format(time.RFC3339), iat.Format(time.RFC3339)))
	}
	// Remembered until the token can no longer pass the exp check. The key
	// includes the agent (length-prefixed, so no two pairs share a key) so
	// one agent's jtis never collide with another's.
	err = a.opts.Replay.ClaimOnce(ctx, JTINamespace, strconv.Itoa(len(ag.ID))+":"+ag.ID+":"+jti, exp.Add(leeway))
	switch {
	case errors.Is(err, gatehouse.ErrAlreadyExists):
		return nil, refuse(gatehouse.ReasonTokenReplayed, gatehouse.CodeAgentJWTAlreadyUsed, "Agent JWT already used", "agent %s: jti replayed", ag.ID)
	case err != nil:
		return nil, a.storeFailure(err)
	}
	if err := a.opts.Store.TouchAgent(ctx, ag.ID, now); err != nil {
		// Last-active time is bookkeeping: never a reason to refuse.
		a.opts.Logger.WarnContext(ctx, "agent: recording last activity failed", "agent", ag.ID, "error", err)
	}
	// The payload decoded above; the map is the policy's view of it.
	var all map[string]any
	_ = json.Unmarshal(tok.Payload, &all)
	return &gatehouse.Identity{
		Kind:        gatehouse.KindAgent,
		Subject:     ag.ID,
		Groups:      []string{},
		Permissions: []string{},
		Claims:      all,
		ExpiresAt:   exp,
	}, nil
}

// storeFailure is a 503: the store could not answer, so nothing is decided.
func (a *Authenticator) storeFailure(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return unavailable(gatehouse.ReasonDeadline, gatehouse.CodeControllerDBUnavailable, msgDBUnavailable, fmt.Errorf("agent: %w", err))
	}
	return unavailable(gatehouse.ReasonStoreUnavailable, gatehouse.CodeControllerDBUnavailable, msgDBUnavailable, fmt.Errorf("agent: %w", err))
}

func stringClaim(raw json.RawMessage) (string, bool) {
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// timeClaim decodes a NumericDate (seconds since the epoch, fractions
// allowed).
func timeClaim(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if raw == nil || json.Unmarshal(raw, &f) != nil || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

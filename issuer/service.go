package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/token"
	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Config is the token service's configuration.
type Config struct {
	Issuer string // {PUBLIC_URL}/oidc
	// Audience is the aud of every access token (OIDC_CLIENT_ID, LG-11),
	// whichever client asked: the decision core accepts them like any
	// IdP's.
	Audience       string
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	IDTokenTTL     time.Duration
	SessionTTL     time.Duration
	CodeTTL        time.Duration
	InteractionTTL time.Duration
	ReuseInterval  time.Duration
}

// Service issues and renews tokens.
type Service struct {
	cfg      Config
	st       AccountStore
	keys     *KeyRing
	Accounts *Accounts
	now      func() time.Time
	log      *slog.Logger
}

// NewService builds the token service.
func NewService(cfg Config, st AccountStore, keys *KeyRing, acc *Accounts, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = time.Minute
	}
	return &Service{cfg: cfg, st: st, keys: keys, Accounts: acc, now: now, log: log}
}

// Config returns the configuration.
func (s *Service) Config() Config { return s.cfg }

// Keys is the key ring.
func (s *Service) Keys() *KeyRing { return s.keys }

// Tokens is what a grant returns.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	IDToken      string
	ExpiresIn    time.Duration
	Scope        string
}

// Grant is what tokens are issued for: a user, a client, a scope and the
// session they belong to.
type Grant struct {
	UserID    string
	ClientID  string
	Scope     string
	Nonce     string
	SessionID string
	AuthTime  time.Time
	FamilyID  string // empty: a new family
	// NoRefresh skips the refresh token.
	NoRefresh bool
	// NoIDToken skips the ID token (no openid scope).
	NoIDToken bool
}

// ErrInvalidGrant is any refused code or refresh token.
var ErrInvalidGrant = errors.New("invalid grant")

func hasScope(scope, s string) bool { return slices.Contains(strings.Fields(scope), s) }

// Issue mints the tokens of g.
func (s *Service) Issue(ctx context.Context, g Grant) (Tokens, error) {
	u, err := s.st.GetUser(ctx, g.UserID)
	if err != nil {
		if errors.Is(err, gatehouse.ErrNotFound) {
			return Tokens{}, ErrInvalidGrant
		}
		return Tokens{}, err
	}
	if u.Disabled {
		return Tokens{}, ErrInvalidGrant
	}
	groups, err := s.st.GroupsOf(ctx, u.ID)
	if err != nil {
		return Tokens{}, err
	}
	acc, err := s.Accounts.Account(ctx, u.ID)
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	if g.SessionID == "" {
		g.SessionID = uuid.NewString()
	}
	if g.AuthTime.IsZero() {
		g.AuthTime = now
	}
	signer := s.keys.Signer()
	extra := map[string]any{
		"client_id": g.ClientID,
		"jti":       uuid.NewString(),
		"sid":       g.SessionID,
		"auth_time": g.AuthTime.Unix(),
	}
	if g.Scope != "" {
		extra["scope"] = g.Scope
	}
	if acc.MustChange {
		extra[ClaimPasswordChangeRequired] = true
	}
	email := u.Email
	if email == "" && strings.Contains(u.Login, "@") {
		email = u.Login
	}
	at, err := signer.MintAccess(token.AccessClaims{
		Issuer: s.cfg.Issuer, Audience: s.cfg.Audience, Subject: u.ID, Username: u.Login,
		Email: email, Groups: groups, TTL: s.cfg.AccessTTL, Now: now, Extra: extra,
	})
	if err != nil {
		return Tokens{}, err
	}
	out := Tokens{AccessToken: at, ExpiresIn: s.cfg.AccessTTL, Scope: g.Scope}
	if !g.NoIDToken {
		claims := map[string]any{
			"iss": s.cfg.Issuer, "sub": u.ID, "aud": g.ClientID,
			"iat": now.Unix(), "exp": now.Add(s.cfg.IDTokenTTL).Unix(),
			"auth_time": g.AuthTime.Unix(), "sid": g.SessionID,
			"at_hash": atHash(at),
			// Marks it as no access token for verifiers that share the
			// audience (the decision core refuses token_use "id").
			"token_use": "id",
		}
		if g.Nonce != "" {
			claims["nonce"] = g.Nonce
		}
		if hasScope(g.Scope, "profile") {
			claims["preferred_username"] = u.Login
		}
		if hasScope(g.Scope, "email") && email != "" {
			claims["email"] = email
		}
		if hasScope(g.Scope, "groups") {
			claims["groups"] = nonNil(groups)
		}
		if out.IDToken, err = signer.Sign(claims, "JWT"); err != nil {
			return Tokens{}, err
		}
	}
	if !g.NoRefresh {
		rt, err := secret.RandomToken(32)
		if err != nil {
			return Tokens{}, err
		}
		family := g.FamilyID
		if family == "" {
			family = uuid.NewString()
		}
		exp := now.Add(s.cfg.RefreshTTL)
		if err := s.st.CreateRefreshToken(ctx, store.RefreshToken{
			Digest: secret.Digest(rt), FamilyID: family, UserID: u.ID, ClientID: g.ClientID, Scope: g.Scope,
			SessionID: g.SessionID, AuthTime: g.AuthTime, CreatedAt: now, ExpiresAt: exp,
		}); err != nil {
			return Tokens{}, err
		}
		out.RefreshToken = rt
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// atHash is OIDC's at_hash for RS256: the left half of SHA-256, base64url.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// Refresh rotates a refresh token (RF-01…RF-05). clientID "" accepts the
// token of any client (the REST refresh route, whose tokens belong to
// Audience's client). A token used before is refused and its whole family
// revoked (RF-03) — unless the same client presents it again within
// ReuseInterval of its first use (two tabs refreshing at once), which gets
// a fresh pair in the same family.
func (s *Service) Refresh(ctx context.Context, refreshToken, clientID string) (Tokens, error) {
	now := s.now()
	d := secret.Digest(refreshToken)
	rt, err := s.st.UseRefreshToken(ctx, d, now)
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		return Tokens{}, ErrInvalidGrant
	case errors.Is(err, gatehouse.ErrConflict):
		sameClient := clientID == "" || rt.ClientID == clientID
		if sameClient && rt.RevokedAt.IsZero() && s.cfg.ReuseInterval > 0 && now.Sub(rt.UsedAt) <= s.cfg.ReuseInterval && now.Before(rt.ExpiresAt) {
			break // concurrent refresh inside the grace interval
		}
		s.log.Warn("refresh token reused: family revoked", "family", rt.FamilyID, "user", rt.UserID)
		if err := s.st.RevokeRefreshFamily(ctx, rt.FamilyID, now); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, ErrInvalidGrant
	case err != nil:
		return Tokens{}, err
	}
	if !rt.RevokedAt.IsZero() || !now.Before(rt.ExpiresAt) {
		return Tokens{}, ErrInvalidGrant
	}
	if clientID != "" && rt.ClientID != clientID {
		return Tokens{}, ErrInvalidGrant
	}
	if !rt.AuthTime.IsZero() && s.cfg.SessionTTL > 0 && now.After(rt.AuthTime.Add(s.cfg.SessionTTL)) {
		return Tokens{}, ErrInvalidGrant
	}
	return s.Issue(ctx, Grant{
		UserID: rt.UserID, ClientID: rt.ClientID, Scope: rt.Scope, SessionID: rt.SessionID,
		AuthTime: rt.AuthTime, FamilyID: rt.FamilyID, NoIDToken: !hasScope(rt.Scope, "openid"),
	})
}

// RevokeRefresh revokes the family of a refresh token (RFC 7009); unknown
// tokens and tokens of another client are ignored. clientID "" skips the
// client check.
func (s *Service) RevokeRefresh(ctx context.Context, refreshToken, clientID string) error {
	rt, err := s.st.RefreshTokenByDigest(ctx, secret.Digest(refreshToken))
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if clientID != "" && rt.ClientID != clientID {
		return nil
	}
	return s.st.RevokeRefreshFamily(ctx, rt.FamilyID, s.now())
}

// RefreshTokenUser returns the user a refresh token belongs to ("" when
// unknown).
func (s *Service) RefreshTokenUser(ctx context.Context, refreshToken string) (string, error) {
	rt, err := s.st.RefreshTokenByDigest(ctx, secret.Digest(refreshToken))
	if errors.Is(err, gatehouse.ErrNotFound) {
		return "", nil
	}
	return rt.UserID, err
}

// LogoutUser revokes every refresh token of the user and ends every browser
// sign-in session (LO-02; a password change and a deletion too); sessionID
// limits it to the refresh tokens of one issuer session (end_session, whose
// browser session ends through its cookie).
func (s *Service) LogoutUser(ctx context.Context, userID, sessionID string) error {
	if err := s.st.RevokeUserRefreshTokens(ctx, userID, sessionID, s.now()); err != nil {
		return err
	}
	if sessionID != "" || userID == "" { // "" would mean every user's sessions
		return nil
	}
	if err := s.st.DeleteIssuerRecords(ctx, kindSession, userID); err != nil {
		return fmt.Errorf("issuer: end sessions: %w", err)
	}
	return nil
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Typ is the required header typ ("at+jwt" for access tokens).
	Typ string
	// Audience, when set, must be in aud.
	Audience string
	// AllowExpired accepts expired tokens (id_token_hint).
	AllowExpired bool
}

// Verify checks a token the issuer minted: signature by a published key,
// issuer, typ, expiry. It returns the claims.
func (s *Service) Verify(raw string, o VerifyOptions) (map[string]any, error) {
	opts := []jwt.ParseOption{
		jwt.WithKeySet(s.keys.PublicKeys()), // each key carries alg RS256: the only one accepted
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithValidate(!o.AllowExpired),
		jwt.WithVerify(true),
	}
	if o.Audience != "" {
		opts = append(opts, jwt.WithAudience(o.Audience))
	}
	tok, err := jwt.Parse([]byte(raw), opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidGrant, err)
	}
	if o.Typ != "" {
		hdr, err := headerTyp(raw)
		if err != nil || !strings.EqualFold(hdr, o.Typ) {
			return nil, fmt.Errorf("%w: typ %q", ErrInvalidGrant, hdr)
		}
	}
	if o.AllowExpired {
		if iss, _ := tok.Issuer(); iss != s.cfg.Issuer {
			return nil, ErrInvalidGrant
		}
	}
	claims := map[string]any{}
	for _, k := range tok.Keys() {
		var v any
		if err := tok.Get(k, &v); err == nil {
			claims[k] = v
		}
	}
	return claims, nil
}

func headerTyp(raw string) (string, error) {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return "", ErrInvalidGrant
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", err
	}
	var h struct {
		Typ string `json:"typ"`
	}
	err = json.Unmarshal(b, &h)
	return h.Typ, err
}

// codeID is the record id of an authorization code: its digest, so that a
// leaked database does not leak live codes.
func codeID(code string) string {
	d := secret.Digest(code)
	return hex.EncodeToString(d[:])
}

// UserInfo is the OIDC UserInfo answer for a user (current groups, read
// from the store).
func (s *Service) UserInfo(ctx context.Context, userID, scope string) (map[string]any, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrInvalidGrant
	}
	groups, err := s.st.GroupsOf(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	info := map[string]any{"sub": u.ID, "preferred_username": u.Login, "groups": nonNil(groups)}
	email := u.Email
	if email == "" && strings.Contains(u.Login, "@") {
		email = u.Login
	}
	if email != "" {
		info["email"] = email
	}
	return info, nil
}

// Profile is PF-01's answer: {sub,email,preferred_username,groups,
// password_change_required,mfaEnabled}.
func (s *Service) Profile(ctx context.Context, userID string) (map[string]any, error) {
	info, err := s.UserInfo(ctx, userID, "")
	if err != nil {
		return nil, err
	}
	acc, err := s.Accounts.Account(ctx, userID)
	if err != nil {
		return nil, err
	}
	if _, ok := info["email"]; !ok {
		info["email"] = nil
	}
	info[ClaimPasswordChangeRequired] = acc.MustChange
	info["mfaEnabled"] = acc.MFAEnabled
	return info, nil
}

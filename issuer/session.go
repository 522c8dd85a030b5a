package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/google/uuid"
)

// kindSession records are browser sign-in sessions (single sign-on): a
// browser that completed a login keeps a session cookie, and a later
// authorization request from it (any client) is answered with a code
// without showing the login page again, as the Controller's oidc-provider
// does. The record is keyed by the SHA-256 of the cookie, never the cookie,
// and lives AUTH_OIDC_SESSION_TTL_SECONDS from the sign-in.
const kindSession = "session"

// ErrNoSession means the browser must sign in: no session, an expired or
// revoked one, one too old for max_age, or one whose user can no longer
// sign in without a step (disabled, password change, MFA enrolment).
var ErrNoSession = errors.New("no usable sign-in session")

type sessionData struct {
	AuthTime time.Time `json:"authTime"`
	// SID is the session id carried by the codes, ID tokens and refresh
	// tokens issued from it (end_session with an id_token_hint revokes
	// them by it).
	SID string `json:"sid"`
}

// startSession records a completed sign-in and returns the cookie value
// ("" when sessions are off: SessionTTL 0).
func (s *Service) startSession(ctx context.Context, userID string, authTime time.Time, sid string) (string, error) {
	if s.cfg.SessionTTL <= 0 {
		return "", nil
	}
	cookie, err := secret.RandomToken(32)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(sessionData{AuthTime: authTime, SID: sid})
	if err != nil {
		return "", err
	}
	rec := store.IssuerRecord{Kind: kindSession, ID: codeID(cookie), UserID: userID, Data: b, ExpiresAt: authTime.Add(s.cfg.SessionTTL)}
	if err := s.st.PutIssuerRecord(ctx, rec); err != nil {
		return "", fmt.Errorf("issuer: start session: %w", err)
	}
	return cookie, nil
}

// ResumeSession answers an authorization request from the session behind
// cookie: the redirect to req's client with a fresh code. maxAge < 0 means
// any age; otherwise the sign-in must be at most maxAge old. ErrNoSession
// sends the browser to the login page.
func (s *Service) ResumeSession(ctx context.Context, cookie string, req AuthRequest, maxAge time.Duration) (string, error) {
	now := s.now()
	rec, err := s.st.GetIssuerRecord(ctx, kindSession, codeID(cookie), now)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return "", ErrNoSession
	}
	if err != nil {
		return "", err
	}
	var sess sessionData
	if err := json.Unmarshal(rec.Data, &sess); err != nil {
		return "", err
	}
	if maxAge >= 0 && now.Sub(sess.AuthTime) > maxAge {
		return "", ErrNoSession
	}
	u, err := s.st.GetUser(ctx, rec.UserID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return "", ErrNoSession
	}
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", ErrNoSession
	}
	acc, err := s.Accounts.Account(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if acc.MustChange {
		return "", ErrNoSession // the login page leads to the password change
	}
	if !acc.MFAEnabled {
		required, err := s.Accounts.MFARequired(ctx, u.ID, acc)
		if err != nil {
			return "", err
		}
		if required {
			return "", ErrNoSession // enrolment first
		}
	}
	return s.issueCode(ctx, codeData{UserID: u.ID, Req: req, AuthTime: sess.AuthTime, SessionID: sess.SID})
}

// EndSession revokes the session behind cookie, if any.
func (s *Service) EndSession(ctx context.Context, cookie string) error {
	_, err := s.st.TakeIssuerRecord(ctx, kindSession, codeID(cookie), s.now())
	if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
		return fmt.Errorf("issuer: end session: %w", err)
	}
	return nil
}

// issueCode stores a single-use authorization code and returns the
// redirect to the client that carries it.
func (s *Service) issueCode(ctx context.Context, c codeData) (string, error) {
	code, err := secret.RandomToken(32)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	if err := s.st.PutIssuerRecord(ctx, store.IssuerRecord{Kind: kindCode, ID: codeID(code), UserID: c.UserID, Data: b, ExpiresAt: s.now().Add(s.cfg.CodeTTL)}); err != nil {
		return "", err
	}
	return RedirectWith(c.Req.RedirectURI, url.Values{"code": {code}, "state": {c.Req.State}, "iss": {s.cfg.Issuer}}), nil
}

func newSessionID() string { return uuid.NewString() }

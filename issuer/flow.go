package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/store"
)

// Interaction steps (the Controller's names, IN-01…IN-03).
const (
	StepLogin          = "login"
	StepMFA            = "mfa"
	StepEnroll         = "enroll"
	StepConfirmEnroll  = "confirm-enroll"
	StepChangePassword = "change-password"
	StepComplete       = "complete"
)

const (
	kindInteraction = "interaction"
	kindCode        = "code"
)

// AuthRequest is a validated authorization request.
type AuthRequest struct {
	ClientID    string `json:"clientId"`
	RedirectURI string `json:"redirectUri"`
	Scope       string `json:"scope"`
	State       string `json:"state,omitempty"`
	Nonce       string `json:"nonce,omitempty"`
	Challenge   string `json:"challenge,omitempty"` // S256 code_challenge
}

// Interaction is a browser login in progress.
type Interaction struct {
	UID      string      `json:"-"`
	CSRF     string      `json:"csrf"`
	Step     string      `json:"step"`
	UserID   string      `json:"userId,omitempty"`
	Login    string      `json:"login,omitempty"`
	AuthTime time.Time   `json:"authTime,omitzero"`
	Req      AuthRequest `json:"req"`
}

// ErrInteractionNotFound: unknown or expired interaction (401).
var ErrInteractionNotFound = errors.New("Interaction session not found or expired")

// StepError is a step attempted out of order (400).
type StepError struct{ Required, Before string }

func (e *StepError) Error() string {
	return fmt.Sprintf("Interaction step %q is required before %s", e.Required, e.Before)
}

// StartInteraction stores a new interaction for req.
func (s *Service) StartInteraction(ctx context.Context, req AuthRequest) (Interaction, error) {
	csrf, err := secret.RandomToken(24)
	if err != nil {
		return Interaction{}, err
	}
	uid, err := secret.RandomToken(24)
	if err != nil {
		return Interaction{}, err
	}
	in := Interaction{UID: uid, CSRF: csrf, Step: StepLogin, Req: req}
	return in, s.saveInteraction(ctx, in)
}

func (s *Service) saveInteraction(ctx context.Context, in Interaction) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return s.st.PutIssuerRecord(ctx, store.IssuerRecord{Kind: kindInteraction, ID: in.UID, Data: b, ExpiresAt: s.now().Add(s.cfg.InteractionTTL)})
}

// Interaction loads an open interaction.
func (s *Service) Interaction(ctx context.Context, uid string) (Interaction, error) {
	rec, err := s.st.GetIssuerRecord(ctx, kindInteraction, uid, s.now())
	if errors.Is(err, gatehouse.ErrNotFound) {
		return Interaction{}, ErrInteractionNotFound
	}
	if err != nil {
		return Interaction{}, err
	}
	var in Interaction
	if err := json.Unmarshal(rec.Data, &in); err != nil {
		return Interaction{}, err
	}
	in.UID = uid
	return in, nil
}

// next is the step after the password (and after each later step).
func (s *Service) next(ctx context.Context, in *Interaction, passedMFA bool) error {
	acc, err := s.Accounts.Account(ctx, in.UserID)
	if err != nil {
		return err
	}
	switch {
	case !passedMFA && acc.MFAEnabled:
		in.Step = StepMFA
		return nil
	case !passedMFA:
		req, err := s.Accounts.MFARequired(ctx, in.UserID, acc)
		if err != nil {
			return err
		}
		if req {
			in.Step = StepEnroll
			return nil
		}
	}
	if acc.MustChange {
		in.Step = StepChangePassword
	} else {
		in.Step = StepComplete
	}
	return nil
}

func (s *Service) requireStep(in Interaction, want, action string) error {
	if in.Step != want {
		return &StepError{Required: in.Step, Before: action}
	}
	return nil
}

// InteractionLogin checks the password (IN-02) and returns the next step.
func (s *Service) InteractionLogin(ctx context.Context, uid, login, pw string) (Interaction, error) {
	in, err := s.Interaction(ctx, uid)
	if err != nil {
		return in, err
	}
	if err := s.requireStep(in, StepLogin, "login"); err != nil {
		return in, err
	}
	u, _, err := s.Accounts.CheckPassword(ctx, login, pw)
	if err != nil {
		return in, err
	}
	in.UserID, in.Login, in.AuthTime = u.ID, u.Login, s.now()
	if err := s.next(ctx, &in, false); err != nil {
		return in, err
	}
	return in, s.saveInteraction(ctx, in)
}

// InteractionMFA checks a TOTP or recovery code.
func (s *Service) InteractionMFA(ctx context.Context, uid, code string) (Interaction, error) {
	in, err := s.Interaction(ctx, uid)
	if err != nil {
		return in, err
	}
	if err := s.requireStep(in, StepMFA, "mfa"); err != nil {
		return in, err
	}
	if err := s.Accounts.CheckSecondFactor(ctx, in.UserID, code); err != nil {
		return in, ErrInvalidCredentials
	}
	if err := s.next(ctx, &in, true); err != nil {
		return in, err
	}
	return in, s.saveInteraction(ctx, in)
}

// Enrollment is a TOTP secret being enrolled.
type Enrollment struct {
	Secret     string
	OTPAuthURL string
}

// InteractionEnroll starts TOTP enrolment.
func (s *Service) InteractionEnroll(ctx context.Context, uid string) (Interaction, Enrollment, error) {
	in, err := s.Interaction(ctx, uid)
	if err != nil {
		return in, Enrollment{}, err
	}
	if in.Step != StepEnroll && in.Step != StepConfirmEnroll {
		return in, Enrollment{}, &StepError{Required: in.Step, Before: "enroll"}
	}
	sec, err := s.Accounts.StartEnrollment(ctx, in.UserID)
	if err != nil {
		return in, Enrollment{}, err
	}
	in.Step = StepConfirmEnroll
	return in, Enrollment{Secret: sec, OTPAuthURL: OTPAuthURL(TOTPIssuer, in.Login, sec)}, s.saveInteraction(ctx, in)
}

// InteractionConfirmEnroll confirms the enrolment with a code and returns
// the recovery codes.
func (s *Service) InteractionConfirmEnroll(ctx context.Context, uid, code string) (Interaction, []string, error) {
	in, err := s.Interaction(ctx, uid)
	if err != nil {
		return in, nil, err
	}
	if err := s.requireStep(in, StepConfirmEnroll, "confirm-enroll"); err != nil {
		return in, nil, err
	}
	codes, err := s.Accounts.ConfirmEnrollment(ctx, in.UserID, code)
	if err != nil {
		return in, nil, err
	}
	if err := s.next(ctx, &in, true); err != nil {
		return in, nil, err
	}
	return in, codes, s.saveInteraction(ctx, in)
}

// InteractionChangePassword sets the new password (forced change).
func (s *Service) InteractionChangePassword(ctx context.Context, uid, current, newPW string) (Interaction, error) {
	in, err := s.Interaction(ctx, uid)
	if err != nil {
		return in, err
	}
	if err := s.requireStep(in, StepChangePassword, "change-password"); err != nil {
		return in, err
	}
	if _, _, err := s.Accounts.CheckPassword(ctx, in.Login, current); err != nil {
		return in, err
	}
	if err := s.Accounts.SetPassword(ctx, in.UserID, newPW, false); err != nil {
		return in, err
	}
	if err := s.LogoutUser(ctx, in.UserID, ""); err != nil {
		return in, err
	}
	in.Step = StepComplete
	return in, s.saveInteraction(ctx, in)
}

// InteractionComplete ends the interaction (IN-03) and returns the URL to
// send the browser to — the client's redirect URI with a fresh code — and
// the value of the sign-in session cookie to set ("" when sessions are
// off).
func (s *Service) InteractionComplete(ctx context.Context, uid string) (redirect, session string, err error) {
	in, err := s.Interaction(ctx, uid)
	if err != nil {
		return "", "", err
	}
	if in.Step != StepComplete {
		return "", "", &StepError{Required: in.Step, Before: "completion"}
	}
	if _, err := s.st.TakeIssuerRecord(ctx, kindInteraction, uid, s.now()); err != nil {
		return "", "", ErrInteractionNotFound // completed twice at once
	}
	sid := newSessionID()
	if session, err = s.startSession(ctx, in.UserID, in.AuthTime, sid); err != nil {
		return "", "", err
	}
	redirect, err = s.issueCode(ctx, codeData{UserID: in.UserID, Req: in.Req, AuthTime: in.AuthTime, SessionID: sid})
	if err != nil {
		return "", "", err
	}
	return redirect, session, nil
}

// RedirectWith appends params (empty values dropped) to a redirect URI's
// query.
func RedirectWith(redirectURI string, params url.Values) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return redirectURI
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

type codeData struct {
	UserID    string      `json:"userId"`
	Req       AuthRequest `json:"req"`
	AuthTime  time.Time   `json:"authTime"`
	SessionID string      `json:"sid"`
}

// ExchangeCode redeems an authorization code once: same client, same
// redirect URI, and the PKCE verifier when a challenge was sent.
func (s *Service) ExchangeCode(ctx context.Context, code, clientID, redirectURI, verifier string) (Tokens, error) {
	rec, err := s.st.TakeIssuerRecord(ctx, kindCode, codeID(code), s.now())
	if errors.Is(err, gatehouse.ErrNotFound) {
		return Tokens{}, ErrInvalidGrant
	}
	if err != nil {
		return Tokens{}, err
	}
	var c codeData
	if err := json.Unmarshal(rec.Data, &c); err != nil {
		return Tokens{}, err
	}
	if c.Req.ClientID != clientID || c.Req.RedirectURI != redirectURI {
		return Tokens{}, ErrInvalidGrant
	}
	if c.Req.Challenge != "" || verifier != "" {
		sum := sha256.Sum256([]byte(verifier))
		if verifier == "" || !secret.Equal(base64.RawURLEncoding.EncodeToString(sum[:]), c.Req.Challenge) {
			return Tokens{}, ErrInvalidGrant
		}
	}
	return s.Issue(ctx, Grant{
		UserID: c.UserID, ClientID: clientID, Scope: c.Req.Scope, Nonce: c.Req.Nonce,
		SessionID: c.SessionID, AuthTime: c.AuthTime, NoIDToken: !hasScope(c.Req.Scope, "openid"),
		// As oidc-provider (the Controller's issuer) does by default: a
		// refresh token only for a client that asked for offline access.
		NoRefresh: !hasScope(c.Req.Scope, "offline_access"),
	})
}

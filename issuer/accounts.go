package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/store"
)

// Errors of the account layer. Every credential failure is
// ErrInvalidCredentials, whatever the cause (unknown user, wrong password,
// locked account, missing or wrong TOTP): callers answer them alike.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrMFARequired is joined with ErrInvalidCredentials when the password
	// was right but a TOTP code is needed (or enrolment is).
	ErrMFARequired = errors.New("MFA required")
)

// PolicyError lists the password policy rules a password breaks.
type PolicyError struct{ Rules []string }

func (e *PolicyError) Error() string { return strings.Join(e.Rules, "; ") }

// Password policy (the Controller's defaults, 1.5).
const (
	minPasswordLen  = 12
	historySize     = 5
	lockoutAttempts = 5
	lockoutFor      = 15 * time.Minute
	recoveryCodes   = 10
)

// System groups created at start (BS-06).
var SystemGroups = []string{"admin", "sre", "developer", "viewer"}

// CheckPasswordPolicy returns a *PolicyError naming every unmet rule.
func CheckPasswordPolicy(pw string) error {
	var rules []string
	if len([]rune(pw)) < minPasswordLen {
		rules = append(rules, fmt.Sprintf("Password must be at least %d characters", minPasswordLen))
	}
	if !strings.ContainsFunc(pw, unicode.IsUpper) {
		rules = append(rules, "Password must contain an uppercase letter")
	}
	if !strings.ContainsFunc(pw, unicode.IsLower) {
		rules = append(rules, "Password must contain a lowercase letter")
	}
	if !strings.ContainsFunc(pw, unicode.IsDigit) {
		rules = append(rules, "Password must contain a digit")
	}
	if len(rules) > 0 {
		return &PolicyError{Rules: rules}
	}
	return nil
}

// Account is the embedded issuer's state of a local user beyond the user
// record: MFA, lockout, password history, flags. Stored as an issuer record
// of kind "account".
type Account struct {
	MFAEnabled bool   `json:"mfaEnabled,omitempty"`
	TOTPSealed []byte `json:"totp,omitempty"`
	// PendingSealed is a secret being enrolled, not yet confirmed.
	PendingSealed []byte `json:"pendingTotp,omitempty"`
	// LastStep is the last TOTP step accepted (a code is never accepted twice).
	LastStep      int64     `json:"lastStep,omitempty"`
	RecoveryCodes []string  `json:"recovery,omitempty"` // SHA-256 hex
	Failed        int       `json:"failed,omitempty"`
	LockedUntil   time.Time `json:"lockedUntil,omitzero"`
	MustChange    bool      `json:"mustChange,omitempty"`
	Bootstrap     bool      `json:"bootstrap,omitempty"`
	History       []string  `json:"history,omitempty"` // argon2id hashes
}

// GroupSettings are the issuer's per-group flags (record kind "group").
type GroupSettings struct {
	MFARequired bool `json:"mfaRequired"`
	System      bool `json:"system"`
}

const (
	kindAccount = "account"
	kindGroup   = "group"
)

// AccountStore is the part of the store Accounts use.
type AccountStore interface {
	store.Users
	store.Groups
	store.Issuer
}

// Accounts manages local users' credentials.
type Accounts struct {
	st     AccountStore
	sealer *Sealer
	params password.Params
	now    func() time.Time
	log    *slog.Logger
	// dummy is verified against for unknown users, so that they take as
	// long as a wrong password.
	dummy string
}

// NewAccounts builds the account layer.
func NewAccounts(st AccountStore, sealer *Sealer, params password.Params, now func() time.Time, log *slog.Logger) (*Accounts, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dummy, err := password.Hash("gatehouse-dummy-password", params)
	if err != nil {
		return nil, err
	}
	return &Accounts{st: st, sealer: sealer, params: params, now: now, log: log, dummy: dummy}, nil
}

// Account reads a user's account state (zero value when none).
func (a *Accounts) Account(ctx context.Context, userID string) (Account, error) {
	var acc Account
	rec, err := a.st.GetIssuerRecord(ctx, kindAccount, userID, a.now())
	if errors.Is(err, gatehouse.ErrNotFound) {
		return acc, nil
	}
	if err != nil {
		return acc, err
	}
	if len(rec.Data) > 0 {
		if err := json.Unmarshal(rec.Data, &acc); err != nil {
			return acc, fmt.Errorf("issuer: account %s: %w", userID, err)
		}
	}
	return acc, nil
}

// MustChangePassword reports whether the user must still change the
// password before reaching RBAC routes (RB-17, RB-18): true while the flag
// is set, and for a user who is gone or disabled, whose tokens keep the
// claim they carry.
func (a *Accounts) MustChangePassword(ctx context.Context, userID string) (bool, error) {
	u, err := a.st.GetUser(ctx, userID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return true, err
	}
	if u.Disabled {
		return true, nil
	}
	acc, err := a.Account(ctx, userID)
	if err != nil {
		return true, err
	}
	return acc.MustChange, nil
}

// UpdateAccount applies fn to the account atomically.
func (a *Accounts) UpdateAccount(ctx context.Context, userID string, fn func(*Account) error) (Account, error) {
	var acc Account
	_, err := a.st.UpdateIssuerRecord(ctx, kindAccount, userID, a.now(), func(r *store.IssuerRecord) error {
		acc = Account{}
		if len(r.Data) > 0 {
			if err := json.Unmarshal(r.Data, &acc); err != nil {
				return err
			}
		}
		if err := fn(&acc); err != nil {
			return err
		}
		b, err := json.Marshal(acc)
		if err != nil {
			return err
		}
		r.Data, r.UserID = b, userID
		return nil
	})
	return acc, err
}

// Group reads a group's settings.
func (a *Accounts) Group(ctx context.Context, name string) (GroupSettings, error) {
	var g GroupSettings
	rec, err := a.st.GetIssuerRecord(ctx, kindGroup, name, a.now())
	if errors.Is(err, gatehouse.ErrNotFound) {
		return g, nil
	}
	if err != nil {
		return g, err
	}
	err = json.Unmarshal(rec.Data, &g)
	return g, err
}

// SetGroup stores a group's settings.
func (a *Accounts) SetGroup(ctx context.Context, name string, g GroupSettings) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return a.st.PutIssuerRecord(ctx, store.IssuerRecord{Kind: kindGroup, ID: name, Data: b})
}

// MFARequired reports whether one of the user's groups requires MFA; the
// bootstrap admin is always exempt (LG-10).
func (a *Accounts) MFARequired(ctx context.Context, userID string, acc Account) (bool, error) {
	if acc.Bootstrap {
		return false, nil
	}
	groups, err := a.st.GroupsOf(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		s, err := a.Group(ctx, g)
		if err != nil {
			return false, err
		}
		if s.MFARequired {
			return true, nil
		}
	}
	return false, nil
}

// CheckPassword verifies login and password with lockout (LG-06): the
// fifth consecutive failure locks the account for 15 minutes, during which
// even the right password fails; success resets the counter. Unknown users
// cost one hash verification too.
func (a *Accounts) CheckPassword(ctx context.Context, login, pw string) (gatehouse.User, Account, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	u, err := a.st.GetUserByLogin(ctx, login)
	if errors.Is(err, gatehouse.ErrNotFound) {
		_, _ = password.Verify(a.dummy, pw)
		return u, Account{}, ErrInvalidCredentials
	}
	if err != nil {
		return u, Account{}, err
	}
	if u.Disabled || u.PasswordHash == "" {
		_, _ = password.Verify(a.dummy, pw)
		return u, Account{}, ErrInvalidCredentials
	}
	ok, err := password.Verify(u.PasswordHash, pw)
	if err != nil {
		return u, Account{}, ErrInvalidCredentials
	}
	now := a.now()
	acc, err := a.UpdateAccount(ctx, u.ID, func(acc *Account) error {
		if !acc.LockedUntil.IsZero() && now.Before(acc.LockedUntil) {
			ok = false
			return nil
		}
		if ok {
			acc.Failed, acc.LockedUntil = 0, time.Time{}
			return nil
		}
		acc.Failed++
		if acc.Failed >= lockoutAttempts {
			acc.Failed, acc.LockedUntil = 0, now.Add(lockoutFor)
		}
		return nil
	})
	if err != nil {
		return u, acc, err
	}
	if !ok {
		return u, acc, ErrInvalidCredentials
	}
	return u, acc, nil
}

// CheckSecondFactor accepts a TOTP code (never the same step twice) or an
// unused recovery code, which is consumed.
func (a *Accounts) CheckSecondFactor(ctx context.Context, userID, code string) error {
	code = strings.TrimSpace(code)
	if code == "" {
		return errors.Join(ErrInvalidCredentials, ErrMFARequired)
	}
	now := a.now()
	accepted := false
	_, err := a.UpdateAccount(ctx, userID, func(acc *Account) error {
		if !acc.MFAEnabled {
			return nil
		}
		secret, err := a.sealer.Open(acc.TOTPSealed, "totp:"+userID)
		if err != nil {
			return err
		}
		if step := matchTOTP(string(secret), code, now, acc.LastStep); step >= 0 {
			acc.LastStep, accepted = step, true
			return nil
		}
		h := hashCode(code)
		if i := slices.Index(acc.RecoveryCodes, h); i >= 0 {
			acc.RecoveryCodes = slices.Delete(acc.RecoveryCodes, i, i+1)
			accepted = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !accepted {
		return ErrInvalidCredentials
	}
	return nil
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(code))))
	return hex.EncodeToString(sum[:])
}

// PasswordLogin is the CLI login (LG-01…LG-10): password, lockout, then MFA
// when enabled (TOTP or recovery code) or required (not enrolled → refused:
// enrolment happens in the browser or through /user/mfa).
func (a *Accounts) PasswordLogin(ctx context.Context, login, pw, totp string) (gatehouse.User, Account, error) {
	u, acc, err := a.CheckPassword(ctx, login, pw)
	if err != nil {
		return u, acc, err
	}
	if acc.MFAEnabled {
		if err := a.CheckSecondFactor(ctx, u.ID, totp); err != nil {
			return u, acc, err
		}
		return u, acc, nil
	}
	req, err := a.MFARequired(ctx, u.ID, acc)
	if err != nil {
		return u, acc, err
	}
	if req {
		return u, acc, errors.Join(ErrInvalidCredentials, ErrMFARequired)
	}
	return u, acc, nil
}

// StartEnrollment stores a pending TOTP secret and returns it.
func (a *Accounts) StartEnrollment(ctx context.Context, userID string) (string, error) {
	secret, err := NewTOTPSecret()
	if err != nil {
		return "", err
	}
	sealed, err := a.sealer.Seal([]byte(secret), "totp:"+userID)
	if err != nil {
		return "", err
	}
	_, err = a.UpdateAccount(ctx, userID, func(acc *Account) error {
		if acc.MFAEnabled {
			return ErrMFAAlreadyEnabled
		}
		acc.PendingSealed = sealed
		return nil
	})
	return secret, err
}

// MFA enrolment errors (the Controller's messages).
var (
	ErrMFAAlreadyEnabled = errors.New("MFA is already enabled")
	ErrMFANotStarted     = errors.New("MFA enrollment has not been started")
)

// ConfirmEnrollment checks a code of the pending secret, enables MFA and
// returns ten new recovery codes (stored hashed).
func (a *Accounts) ConfirmEnrollment(ctx context.Context, userID, code string) ([]string, error) {
	codes := make([]string, recoveryCodes)
	hashes := make([]string, recoveryCodes)
	for i := range codes {
		b := make([]byte, 5)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		codes[i] = hex.EncodeToString(b)
		hashes[i] = hashCode(codes[i])
	}
	now := a.now()
	_, err := a.UpdateAccount(ctx, userID, func(acc *Account) error {
		if acc.MFAEnabled {
			return ErrMFAAlreadyEnabled
		}
		if acc.PendingSealed == nil {
			return ErrMFANotStarted
		}
		secret, err := a.sealer.Open(acc.PendingSealed, "totp:"+userID)
		if err != nil {
			return err
		}
		step := matchTOTP(string(secret), strings.TrimSpace(code), now, acc.LastStep)
		if step < 0 {
			return ErrInvalidCredentials
		}
		acc.MFAEnabled, acc.TOTPSealed, acc.PendingSealed = true, acc.PendingSealed, nil
		acc.LastStep, acc.RecoveryCodes = step, hashes
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// ErrPasswordReused is PW-04's refusal.
var ErrPasswordReused = errors.New("Password was used recently and cannot be reused")

// SetPassword checks the policy and the history, stores the new hash, and
// clears the must-change flag and the lock (PW-01…PW-04).
func (a *Accounts) SetPassword(ctx context.Context, userID, pw string, mustChange bool) error {
	if err := CheckPasswordPolicy(pw); err != nil {
		return err
	}
	u, err := a.st.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	acc, err := a.Account(ctx, userID)
	if err != nil {
		return err
	}
	for _, h := range append([]string{u.PasswordHash}, acc.History...) {
		if h == "" {
			continue
		}
		if ok, _ := password.Verify(h, pw); ok {
			return ErrPasswordReused
		}
	}
	hash, err := password.Hash(pw, a.params)
	if err != nil {
		return err
	}
	old := u.PasswordHash
	if _, err := a.st.UpdateUser(ctx, userID, func(u *gatehouse.User) error {
		u.PasswordHash = hash
		return nil
	}); err != nil {
		return err
	}
	_, err = a.UpdateAccount(ctx, userID, func(acc *Account) error {
		if old != "" {
			acc.History = append([]string{old}, acc.History...)
			if len(acc.History) > historySize-1 {
				acc.History = acc.History[:historySize-1]
			}
		}
		acc.MustChange, acc.Failed, acc.LockedUntil = mustChange, 0, time.Time{}
		return nil
	})
	return err
}

// EnsureSystemGroups creates the system groups (BS-06); admin requires MFA
// by default.
func (a *Accounts) EnsureSystemGroups(ctx context.Context) error {
	for _, g := range SystemGroups {
		if _, err := a.st.CreateGroup(ctx, g); err != nil && !errors.Is(err, gatehouse.ErrAlreadyExists) {
			return err
		}
		if _, err := a.st.GetIssuerRecord(ctx, kindGroup, g, a.now()); errors.Is(err, gatehouse.ErrNotFound) {
			if err := a.SetGroup(ctx, g, GroupSettings{System: true, MFARequired: g == "admin"}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Bootstrap reconciles the bootstrap admin (BS-01…BS-05): created when
// missing; kept when the env is unset or unchanged; replaced (new id,
// refresh tokens revoked) when the pair changed. It returns what happened.
func (a *Accounts) Bootstrap(ctx context.Context, login, pw string) (string, error) {
	if err := a.EnsureSystemGroups(ctx); err != nil {
		return "", err
	}
	login = strings.ToLower(strings.TrimSpace(login))
	users, err := a.st.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	var existing *gatehouse.User
	for i := range users {
		acc, err := a.Account(ctx, users[i].ID)
		if err != nil {
			return "", err
		}
		if acc.Bootstrap {
			existing = &users[i]
			break
		}
	}
	if login == "" {
		if existing != nil {
			return "env_missing_keep_existing", nil
		}
		return "none", nil
	}
	if err := CheckPasswordPolicy(pw); err != nil {
		return "", fmt.Errorf("OIDC_BOOTSTRAP_ADMIN_PASSWORD: does not pass the password policy: %w", err)
	}
	if existing != nil {
		if existing.Login == login {
			if ok, _ := password.Verify(existing.PasswordHash, pw); ok {
				return "unchanged", nil
			}
		}
		if err := a.st.RevokeUserRefreshTokens(ctx, existing.ID, "", a.now()); err != nil {
			return "", err
		}
		if err := a.st.DeleteUser(ctx, existing.ID); err != nil {
			return "", err
		}
	}
	if u, err := a.st.GetUserByLogin(ctx, login); err == nil {
		// A regular user holds the login: the bootstrap admin takes over.
		if err := a.st.DeleteUser(ctx, u.ID); err != nil {
			return "", err
		}
	}
	hash, err := password.Hash(pw, a.params)
	if err != nil {
		return "", err
	}
	email := ""
	if strings.Contains(login, "@") {
		email = login
	}
	u, err := a.st.CreateUser(ctx, gatehouse.User{Login: login, Email: email, PasswordHash: hash})
	if err != nil {
		return "", err
	}
	if err := a.st.AddMember(ctx, "admin", u.ID); err != nil {
		return "", err
	}
	if _, err := a.UpdateAccount(ctx, u.ID, func(acc *Account) error {
		acc.Bootstrap = true
		return nil
	}); err != nil {
		return "", err
	}
	if existing != nil {
		return "replaced", nil
	}
	return "created", nil
}

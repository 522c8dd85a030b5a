package issuer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/google/uuid"
)

const (
	kindReset = "reset-token"
	// ResetTokenTTL is how long an admin-issued reset token works.
	ResetTokenTTL = time.Hour
)

// NewResetToken issues a single-use password reset token for the user,
// replacing earlier ones (UA-06).
func (s *Service) NewResetToken(ctx context.Context, userID string) (string, error) {
	if err := s.st.DeleteIssuerRecords(ctx, kindReset, userID); err != nil {
		return "", err
	}
	tok := uuid.NewString()
	d := secret.Digest(tok)
	err := s.st.PutIssuerRecord(ctx, store.IssuerRecord{Kind: kindReset, ID: hexDigest(d), UserID: userID, Data: []byte(userID), ExpiresAt: s.now().Add(ResetTokenTTL)})
	return tok, err
}

func hexDigest(d [32]byte) string { return hex.EncodeToString(d[:]) }

// ResetPassword sets a new password with a reset token, once (PW-05).
func (s *Service) ResetPassword(ctx context.Context, token, newPW string) error {
	if err := CheckPasswordPolicy(newPW); err != nil {
		return err
	}
	rec, err := s.st.TakeIssuerRecord(ctx, kindReset, hexDigest(secret.Digest(token)), s.now())
	if errors.Is(err, gatehouse.ErrNotFound) {
		return ErrInvalidCredentials
	}
	if err != nil {
		return err
	}
	return s.ChangePassword(ctx, rec.UserID, newPW)
}

// ChangePassword sets the password, clears the must-change flag and revokes
// every refresh token of the user (PW-01).
func (s *Service) ChangePassword(ctx context.Context, userID, newPW string) error {
	if err := s.Accounts.SetPassword(ctx, userID, newPW, false); err != nil {
		return err
	}
	return s.LogoutUser(ctx, userID, "")
}

// TemporaryPassword sets a random policy-compliant password that must be
// changed at next login (UA-05) and returns it.
func (s *Service) TemporaryPassword(ctx context.Context, userID string) (string, error) {
	const (
		upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower = "abcdefghijkmnopqrstuvwxyz"
		digit = "23456789"
	)
	all := upper + lower + digit
	pick := func(set string) byte {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		return set[n.Int64()]
	}
	pw := []byte{pick(upper), pick(lower), pick(digit)}
	for len(pw) < 16 {
		pw = append(pw, pick(all))
	}
	if err := s.Accounts.SetPassword(ctx, userID, string(pw), true); err != nil {
		return "", err
	}
	return string(pw), s.LogoutUser(ctx, userID, "")
}

// DisableMFA turns MFA off after checking the password and a code (MF-03).
func (s *Service) DisableMFA(ctx context.Context, userID, pw, code string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	acc, err := s.Accounts.Account(ctx, userID)
	if err != nil {
		return err
	}
	if !acc.MFAEnabled {
		return ErrMFANotEnabled
	}
	if _, _, err := s.Accounts.CheckPassword(ctx, u.Login, pw); err != nil {
		return err
	}
	if err := s.Accounts.CheckSecondFactor(ctx, userID, code); err != nil {
		return ErrInvalidCredentials
	}
	_, err = s.Accounts.UpdateAccount(ctx, userID, func(a *Account) error {
		a.MFAEnabled, a.TOTPSealed, a.PendingSealed, a.RecoveryCodes = false, nil, nil, nil
		return nil
	})
	return err
}

// ErrMFANotEnabled is MF-03's refusal.
var ErrMFANotEnabled = errors.New("MFA is not enabled")

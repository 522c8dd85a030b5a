package gatehouse

import (
	"errors"
	"fmt"
)

// Storage sentinels. Stores wrap them; callers test with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrConflict      = errors.New("conflict")
)

// ErrPanic marks an error made from a recovered panic, so the decision core
// can count it (gatehouse_panics_recovered_total) whoever recovered it.
var ErrPanic = errors.New("panic recovered")

// AuthError is an authenticator's refusal: a stable reason for the caller and
// the underlying error for the log. Internal reports a failure to decide
// (unreachable keys or store) rather than a bad credential: the core answers
// 503 for it instead of 401.
type AuthError struct {
	Reason   Reason
	Internal bool
	// Code is a credential-family specific code for the deny body, such as
	// the agent's "AGENT_JWT_EXPIRED"; empty when Reason says enough.
	Code string
	// Message is a caller-facing message for the deny body; empty for the
	// default message of the credential family.
	Message string
	Err     error
}

func (e *AuthError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return string(e.Reason)
}

func (e *AuthError) Unwrap() error { return e.Err }

// Refuse builds an AuthError for a bad credential.
func Refuse(reason Reason, format string, args ...any) *AuthError {
	return &AuthError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Unavailable builds an AuthError for a failure to decide.
func Unavailable(reason Reason, err error) *AuthError {
	return &AuthError{Reason: reason, Internal: true, Err: err}
}

// AsAuthError returns the AuthError inside err, or one for an internal failure.
func AsAuthError(err error) *AuthError {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae
	}
	return Unavailable(ReasonInternal, err)
}

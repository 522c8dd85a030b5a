// Package basic authenticates `Authorization: Basic` passwords of local
// users against their argon2id hashes (AT-05).
package basic

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/authn/apitoken"
	"github.com/gatehouse-authz/gatehouse/internal/password"
)

// Store is what Basic authentication reads.
type Store interface {
	GetUserByLogin(ctx context.Context, login string) (gatehouse.User, error)
	GroupsOf(ctx context.Context, userID string) ([]string, error)
	Permissions(ctx context.Context, userID string) ([]string, error)
}

// Messages of Django REST framework's BasicAuthentication.
const (
	MsgNoCredentials = "Invalid basic header. No credentials provided."
	MsgBadBase64     = "Invalid basic header. Credentials not correctly base64 encoded."
	MsgInvalid       = "Invalid username/password."
)

// Authenticator verifies Basic credentials.
type Authenticator struct {
	store Store
	// dummy is verified for unknown users and users without a password, so
	// every refusal costs one argon2id computation and timing reveals
	// nothing about which logins exist.
	dummy string
}

var _ gatehouse.Authenticator = (*Authenticator)(nil)

// New returns an Authenticator hashing with params (the dummy hash uses the
// same cost as real ones).
func New(s Store, params password.Params) (*Authenticator, error) {
	dummy, err := password.Hash("gatehouse-dummy-password", params)
	if err != nil {
		return nil, err
	}
	return &Authenticator{store: s, dummy: dummy}, nil
}

func refuse(reason gatehouse.Reason, msg, format string, args ...any) error {
	e := gatehouse.Refuse(reason, format, args...)
	e.Message = msg
	return e
}

// Authenticate proves the user named by the credential.
func (a *Authenticator) Authenticate(ctx context.Context, cred gatehouse.Credential, _ *gatehouse.Request) (*gatehouse.Identity, error) {
	if cred.Value == "" || strings.ContainsAny(cred.Value, " \t") {
		return nil, refuse(gatehouse.ReasonCredentialMalformed, MsgNoCredentials, "basic: no credentials")
	}
	raw, err := base64.StdEncoding.DecodeString(cred.Value)
	if err != nil {
		return nil, refuse(gatehouse.ReasonCredentialMalformed, MsgBadBase64, "basic: bad base64")
	}
	login, pw, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, refuse(gatehouse.ReasonCredentialMalformed, MsgBadBase64, "basic: no colon")
	}
	u, err := a.store.GetUserByLogin(ctx, login)
	notFound := errors.Is(err, gatehouse.ErrNotFound)
	if err != nil && !notFound {
		return nil, gatehouse.Unavailable(gatehouse.ReasonStoreUnavailable, fmt.Errorf("basic: lookup: %w", err))
	}
	hash := u.PasswordHash
	if notFound || hash == "" {
		hash = a.dummy
	}
	match, err := password.Verify(hash, pw)
	if err != nil {
		return nil, gatehouse.Unavailable(gatehouse.ReasonInternal, fmt.Errorf("basic: stored hash of %q: %w", login, err))
	}
	if notFound || u.PasswordHash == "" || !match {
		return nil, refuse(gatehouse.ReasonCredentialInvalid, MsgInvalid, "basic: invalid username or password")
	}
	if u.Disabled {
		return nil, refuse(gatehouse.ReasonUserInactive, apitoken.MsgInactive, "basic: user %s disabled", login)
	}
	return apitoken.Identity(ctx, a.store, u, gatehouse.KindBasic, nil)
}

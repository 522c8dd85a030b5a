package admin

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// tokenBytes is the secret's entropy: 256 bits.
const tokenBytes = 32

func (s *Service) tokenMessage(t gatehouse.APIToken, login string) *gatehousev1.ApiToken {
	return &gatehousev1.ApiToken{
		Id: t.ID, User: login, Name: t.Name, Permissions: t.Permissions, Source: t.Source,
		CreatedAt: ts(t.CreatedAt), ExpiresAt: ts(t.ExpiresAt), LastUsedAt: ts(t.LastUsedAt), RevokedAt: ts(t.RevokedAt),
		Active: t.Active(s.opts.Now()),
	}
}

// IssueToken mints a token for a user, never with a permission the user
// does not hold.
func (s *Service) IssueToken(ctx context.Context, in *gatehousev1.IssueTokenRequest) (*gatehousev1.IssueTokenResponse, error) {
	u, err := s.user(ctx, in.GetUser())
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, status.Errorf(codes.FailedPrecondition, "user %q is disabled", u.Login)
	}
	if len(in.GetName()) > maxName {
		return nil, invalid("name", "name is longer than %d bytes", maxName)
	}
	ttl := in.GetTtl().AsDuration()
	if in.GetTtl() != nil && (!in.GetTtl().IsValid() || ttl < 0) {
		return nil, invalid("ttl", "ttl must be a non-negative duration")
	}
	tok := gatehouse.APIToken{UserID: u.ID, Name: in.GetName(), Source: "api"}
	if ttl > 0 {
		tok.ExpiresAt = s.opts.Now().Add(ttl)
	}
	if len(in.GetPermissions()) > 0 {
		if err := s.checkCodenames("permissions", in.GetPermissions()); err != nil {
			return nil, err
		}
		held, err := s.st.Permissions(ctx, u.ID)
		if err != nil {
			return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", u.Login))
		}
		var missing []string
		for _, p := range in.GetPermissions() {
			if !slices.Contains(held, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return nil, invalid("permissions", "user %q does not hold %v: a token never carries more than its user", u.Login, missing)
		}
		tok.Permissions = sortedSet(in.GetPermissions())
	}
	sec, err := secret.RandomToken(tokenBytes)
	if err != nil {
		return nil, status.Error(codes.Internal, "internal error")
	}
	tok.Digest = secret.Digest(sec)
	// One insert: a user deleted meanwhile fails it (NOT_FOUND) and leaves
	// nothing behind.
	tok, err = s.st.CreateToken(ctx, tok)
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", u.Login))
	}
	return &gatehousev1.IssueTokenResponse{Token: s.tokenMessage(tok, u.Login), Secret: sec}, nil
}

// ListTokens lists a user's tokens, or every token.
func (s *Service) ListTokens(ctx context.Context, in *gatehousev1.ListTokensRequest) (*gatehousev1.ListTokensResponse, error) {
	logins := map[string]string{}
	userID := ""
	if in.GetUser() != "" {
		u, err := s.user(ctx, in.GetUser())
		if err != nil {
			return nil, err
		}
		userID, logins[u.ID] = u.ID, u.Login
	}
	toks, err := s.st.ListTokens(ctx, userID)
	if err != nil {
		return nil, s.storeError(ctx, err, "tokens")
	}
	out := &gatehousev1.ListTokensResponse{Tokens: make([]*gatehousev1.ApiToken, 0, len(toks))}
	for _, t := range toks {
		login, ok := logins[t.UserID]
		if !ok {
			u, err := s.st.GetUser(ctx, t.UserID)
			if err == nil {
				login = u.Login
			}
			logins[t.UserID] = login
		}
		out.Tokens = append(out.Tokens, s.tokenMessage(t, login))
	}
	return out, nil
}

// RevokeToken revokes a token of the named user (any user's when none is
// named; the policy decides who may do which).
func (s *Service) RevokeToken(ctx context.Context, in *gatehousev1.RevokeTokenRequest) (*gatehousev1.RevokeTokenResponse, error) {
	if in.GetId() == "" {
		return nil, invalid("id", "id is required")
	}
	list, err := s.ListTokens(ctx, &gatehousev1.ListTokensRequest{User: in.GetUser()})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(list.GetTokens(), func(t *gatehousev1.ApiToken) bool { return t.GetId() == in.GetId() })
	if i < 0 {
		return nil, status.Errorf(codes.NotFound, "token %q not found", in.GetId())
	}
	if err := s.st.RevokeToken(ctx, in.GetId(), s.opts.Now()); err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("token %q", in.GetId()))
	}
	after, err := s.ListTokens(ctx, &gatehousev1.ListTokensRequest{User: list.GetTokens()[i].GetUser()})
	if err != nil {
		return nil, err
	}
	for _, t := range after.GetTokens() {
		if t.GetId() == in.GetId() {
			return &gatehousev1.RevokeTokenResponse{Token: t}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "token %q not found", in.GetId())
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

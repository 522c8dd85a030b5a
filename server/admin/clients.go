package admin

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

func clientMessage(c gatehouse.Client) *gatehousev1.Client {
	typ := "confidential"
	if c.Public {
		typ = "public"
	}
	return &gatehousev1.Client{
		ClientId: c.ClientID, Name: c.Name, Type: typ,
		ResponseTypes: c.ResponseTypes, RedirectUris: c.RedirectURIs, PostLogoutRedirectUris: c.PostLogoutRedirectURIs,
		CreatedAt: ts(c.CreatedAt),
	}
}

// CreateClient registers an OIDC client with the rules of `gatehouse client
// create` (AC-01, AC-02, AC-04).
func (s *Service) CreateClient(ctx context.Context, in *gatehousev1.CreateClientRequest) (*gatehousev1.CreateClientResponse, error) {
	c := gatehouse.Client{ClientID: in.GetClientId(), Name: in.GetName()}
	switch in.GetType() {
	case "public":
		c.Public = true
		if in.GetClientSecret() != "" {
			return nil, invalid("client_secret", "a public client has no secret (it uses PKCE)")
		}
	case "confidential":
	default:
		return nil, invalid("type", "type must be public or confidential")
	}
	if c.Name == "" || len(c.Name) > maxName {
		return nil, invalid("name", "name is required (at most %d bytes)", maxName)
	}
	if strings.ContainsAny(c.ClientID, " \t\r\n") || len(c.ClientID) > maxName {
		return nil, invalid("client_id", "client_id must not contain whitespace")
	}
	var err error
	if c.ResponseTypes, err = gatehouse.NormalizeResponseTypes(in.GetResponseTypes()); err != nil {
		return nil, invalid("response_types", "%v", err)
	}
	if len(in.GetRedirectUris()) == 0 {
		return nil, invalid("redirect_uris", "at least one redirect URI is required")
	}
	for _, f := range []struct {
		field string
		uris  []string
	}{{"redirect_uris", in.GetRedirectUris()}, {"post_logout_redirect_uris", in.GetPostLogoutRedirectUris()}} {
		for _, u := range f.uris {
			if err := gatehouse.CheckRedirectURI(u, s.opts.AllowInsecureHTTP); err != nil {
				return nil, invalid(f.field, "%q: %v", u, err)
			}
		}
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = in.GetRedirectUris(), in.GetPostLogoutRedirectUris()
	if c.ClientID == "" {
		if c.ClientID, err = secret.RandomToken(16); err != nil {
			return nil, status.Error(codes.Internal, "internal error")
		}
	}
	sec, generated := in.GetClientSecret(), false
	if !c.Public {
		if sec == "" {
			if sec, err = secret.RandomToken(32); err != nil {
				return nil, status.Error(codes.Internal, "internal error")
			}
			generated = true
		}
		if c.SecretHash, err = password.Hash(sec, s.opts.Passwords); err != nil {
			return nil, status.Error(codes.Internal, "internal error")
		}
	}
	c, err = s.st.CreateClient(ctx, c)
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("client id %q", in.GetClientId()))
	}
	out := &gatehousev1.CreateClientResponse{Client: clientMessage(c)}
	if generated {
		out.ClientSecret = sec
	}
	return out, nil
}

// GetClient returns one client.
func (s *Service) GetClient(ctx context.Context, in *gatehousev1.GetClientRequest) (*gatehousev1.GetClientResponse, error) {
	if in.GetClientId() == "" {
		return nil, invalid("client_id", "client_id is required")
	}
	c, err := s.st.GetClient(ctx, in.GetClientId())
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("client %q", in.GetClientId()))
	}
	return &gatehousev1.GetClientResponse{Client: clientMessage(c)}, nil
}

// ListClients lists clients by id.
func (s *Service) ListClients(ctx context.Context, _ *gatehousev1.ListClientsRequest) (*gatehousev1.ListClientsResponse, error) {
	cs, err := s.st.ListClients(ctx)
	if err != nil {
		return nil, s.storeError(ctx, err, "clients")
	}
	out := &gatehousev1.ListClientsResponse{Clients: make([]*gatehousev1.Client, 0, len(cs))}
	for _, c := range cs {
		out.Clients = append(out.Clients, clientMessage(c))
	}
	return out, nil
}

// DeleteClient removes a client (AC-07).
func (s *Service) DeleteClient(ctx context.Context, in *gatehousev1.DeleteClientRequest) (*gatehousev1.DeleteClientResponse, error) {
	if in.GetClientId() == "" {
		return nil, invalid("client_id", "client_id is required")
	}
	if err := s.st.DeleteClient(ctx, in.GetClientId()); err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("client %q", in.GetClientId()))
	}
	return &gatehousev1.DeleteClientResponse{}, nil
}

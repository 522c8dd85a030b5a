// Package admin is Gatehouse's admin surface: gatehouse.v1.AdminService over
// the store (users, groups, grants, API tokens, OIDC clients, roles and role
// bindings), the gRPC interceptor that puts every gatehouse.v1 call before
// the policy, and the Controller's own /api/v3/roles and /api/v3/rolebindings
// routes.
//
// No authorization is written here: the Authorizer asks the decision core,
// whose policy data decides. The service only validates and stores.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/store"
)

// Options configure a Service.
type Options struct {
	Store store.Store
	// Codenames lists the permission codenames the policy knows; grants and
	// token subsets must name one of them. Nil accepts any well-formed name.
	Codenames func() []string
	// AllowInsecureHTTP accepts http: redirect URIs (AUTH_INSECURE_ALLOW_HTTP).
	AllowInsecureHTTP bool
	Passwords         password.Params
	// ProvisioningKeys issues agent provisioning keys; nil answers
	// IssueProvisioningKey with UNIMPLEMENTED.
	ProvisioningKeys IssueProvisioningKeyFunc
	Logger           *slog.Logger
	Now              func() time.Time
}

// Service implements gatehouse.v1.AdminService.
type Service struct {
	gatehousev1.UnimplementedAdminServiceServer
	opts Options
	st   store.Store
}

var _ gatehousev1.AdminServiceServer = (*Service)(nil)

// New returns the service.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Passwords == (password.Params{}) {
		opts.Passwords = password.DefaultParams()
	}
	return &Service{opts: opts, st: opts.Store}
}

// --- errors ---

// invalid is INVALID_ARGUMENT with one field violation.
func invalid(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	st, err := status.New(codes.InvalidArgument, msg).WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: msg}},
	})
	if err != nil {
		return status.Error(codes.InvalidArgument, msg)
	}
	return st.Err()
}

// storeError maps the store's sentinels to gRPC codes with a caller-facing
// message naming what. Anything else is the database failing (down, slow,
// connection lost): logged and answered UNAVAILABLE, which clients retry
// (promise 3: 503, not 500, while the database is down).
func (s *Service) storeError(ctx context.Context, err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gatehouse.ErrNotFound):
		return status.Errorf(codes.NotFound, "%s not found", what)
	case errors.Is(err, gatehouse.ErrAlreadyExists):
		return status.Errorf(codes.AlreadyExists, "%s already exists", what)
	case errors.Is(err, gatehouse.ErrConflict):
		return status.Errorf(codes.FailedPrecondition, "%s: conflict", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return err // a validation error from inside an update closure
	}
	s.opts.Logger.ErrorContext(ctx, "admin: store error", "what", what, "err", err)
	return status.Error(codes.Unavailable, "the store is unavailable; retry later")
}

// --- validation ---

const maxName = 255

// checkName accepts a login, group, role or binding name: 1..255 printable
// characters without whitespace or "/".
func checkName(field, v string) error {
	if v == "" {
		return invalid(field, "%s is required", field)
	}
	if len(v) > maxName {
		return invalid(field, "%s is longer than %d bytes", field, maxName)
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || r == '/' {
			return invalid(field, "%s must not contain whitespace, control characters or /", field)
		}
	}
	return nil
}

// checkCodenames validates codenames against the policy's catalog.
func (s *Service) checkCodenames(field string, names []string) error {
	var known []string
	if s.opts.Codenames != nil {
		known = s.opts.Codenames()
	}
	for _, c := range names {
		if err := checkName(field, c); err != nil {
			return err
		}
		if s.opts.Codenames != nil && !slices.Contains(known, c) {
			return invalid(field, "unknown permission codename %q", c)
		}
	}
	return nil
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// --- users ---

func (s *Service) user(ctx context.Context, login string) (gatehouse.User, error) {
	if err := checkName("login", login); err != nil {
		return gatehouse.User{}, err
	}
	u, err := s.st.GetUserByLogin(ctx, login)
	if err != nil {
		return gatehouse.User{}, s.storeError(ctx, err, fmt.Sprintf("user %q", login))
	}
	return u, nil
}

func (s *Service) userMessage(ctx context.Context, u gatehouse.User) (*gatehousev1.User, error) {
	groups, err := s.st.GroupsOf(ctx, u.ID)
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", u.Login))
	}
	grants, err := s.st.GrantsOf(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID})
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", u.Login))
	}
	perms, err := s.st.Permissions(ctx, u.ID)
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", u.Login))
	}
	return &gatehousev1.User{
		Id: u.ID, Login: u.Login, Email: u.Email, Disabled: u.Disabled, HasPassword: u.PasswordHash != "",
		Groups: groups, Grants: grants, Permissions: perms,
		CreatedAt: ts(u.CreatedAt), UpdatedAt: ts(u.UpdatedAt),
	}, nil
}

func checkEmail(v string) error {
	if v == "" {
		return nil
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.ContainsAny(v, " \t\r\n") || len(v) > maxName {
		return invalid("email", "Invalid format for field 'email'")
	}
	return nil
}

func (s *Service) hash(pw string) (string, error) {
	if pw == "" {
		return "", nil
	}
	if len(pw) > 1024 {
		return "", invalid("password", "password is longer than 1024 bytes")
	}
	h, err := password.Hash(pw, s.opts.Passwords)
	if err != nil {
		return "", status.Error(codes.Internal, "internal error")
	}
	return h, nil
}

// CreateUser stores a user.
func (s *Service) CreateUser(ctx context.Context, in *gatehousev1.CreateUserRequest) (*gatehousev1.CreateUserResponse, error) {
	if err := checkName("login", in.GetLogin()); err != nil {
		return nil, err
	}
	if err := checkEmail(in.GetEmail()); err != nil {
		return nil, err
	}
	h, err := s.hash(in.GetPassword())
	if err != nil {
		return nil, err
	}
	u, err := s.st.CreateUser(ctx, gatehouse.User{Login: in.GetLogin(), Email: in.GetEmail(), PasswordHash: h, Disabled: in.GetDisabled()})
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", in.GetLogin()))
	}
	m, err := s.userMessage(ctx, u)
	if err != nil {
		return nil, err
	}
	return &gatehousev1.CreateUserResponse{User: m}, nil
}

// GetUser returns one user.
func (s *Service) GetUser(ctx context.Context, in *gatehousev1.GetUserRequest) (*gatehousev1.GetUserResponse, error) {
	u, err := s.user(ctx, in.GetLogin())
	if err != nil {
		return nil, err
	}
	m, err := s.userMessage(ctx, u)
	if err != nil {
		return nil, err
	}
	return &gatehousev1.GetUserResponse{User: m}, nil
}

// ListUsers lists users by login.
func (s *Service) ListUsers(ctx context.Context, _ *gatehousev1.ListUsersRequest) (*gatehousev1.ListUsersResponse, error) {
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, s.storeError(ctx, err, "users")
	}
	out := &gatehousev1.ListUsersResponse{Users: make([]*gatehousev1.User, 0, len(us))}
	for _, u := range us {
		m, err := s.userMessage(ctx, u)
		if err != nil {
			return nil, err
		}
		out.Users = append(out.Users, m)
	}
	return out, nil
}

// UpdateUser changes login, e-mail or the disabled flag atomically.
func (s *Service) UpdateUser(ctx context.Context, in *gatehousev1.UpdateUserRequest) (*gatehousev1.UpdateUserResponse, error) {
	u, err := s.user(ctx, in.GetLogin())
	if err != nil {
		return nil, err
	}
	if in.NewLogin != nil {
		if err := checkName("new_login", in.GetNewLogin()); err != nil {
			return nil, err
		}
	}
	if in.Email != nil {
		if err := checkEmail(in.GetEmail()); err != nil {
			return nil, err
		}
	}
	u, err = s.st.UpdateUser(ctx, u.ID, func(cur *gatehouse.User) error {
		if in.NewLogin != nil {
			cur.Login = in.GetNewLogin()
		}
		if in.Email != nil {
			cur.Email = in.GetEmail()
		}
		if in.Disabled != nil {
			cur.Disabled = in.GetDisabled()
		}
		return nil
	})
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", in.GetLogin()))
	}
	m, err := s.userMessage(ctx, u)
	if err != nil {
		return nil, err
	}
	return &gatehousev1.UpdateUserResponse{User: m}, nil
}

// DeleteUser removes a user with everything it owns.
func (s *Service) DeleteUser(ctx context.Context, in *gatehousev1.DeleteUserRequest) (*gatehousev1.DeleteUserResponse, error) {
	u, err := s.user(ctx, in.GetLogin())
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteUser(ctx, u.ID); err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", in.GetLogin()))
	}
	return &gatehousev1.DeleteUserResponse{}, nil
}

// SetUserPassword sets or clears the Basic password.
func (s *Service) SetUserPassword(ctx context.Context, in *gatehousev1.SetUserPasswordRequest) (*gatehousev1.SetUserPasswordResponse, error) {
	u, err := s.user(ctx, in.GetLogin())
	if err != nil {
		return nil, err
	}
	h, err := s.hash(in.GetPassword())
	if err != nil {
		return nil, err
	}
	if _, err := s.st.UpdateUser(ctx, u.ID, func(cur *gatehouse.User) error { cur.PasswordHash = h; return nil }); err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("user %q", in.GetLogin()))
	}
	return &gatehousev1.SetUserPasswordResponse{}, nil
}

// --- groups ---

// CreateGroup stores a group.
func (s *Service) CreateGroup(ctx context.Context, in *gatehousev1.CreateGroupRequest) (*gatehousev1.CreateGroupResponse, error) {
	if err := checkName("name", in.GetName()); err != nil {
		return nil, err
	}
	g, err := s.st.CreateGroup(ctx, in.GetName())
	if err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("group %q", in.GetName()))
	}
	return &gatehousev1.CreateGroupResponse{Group: &gatehousev1.Group{Name: g.Name, CreatedAt: ts(g.CreatedAt)}}, nil
}

// GetGroup returns a group with its members and grants.
func (s *Service) GetGroup(ctx context.Context, in *gatehousev1.GetGroupRequest) (*gatehousev1.GetGroupResponse, error) {
	if err := checkName("name", in.GetName()); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("group %q", in.GetName())
	gs, err := s.st.ListGroups(ctx)
	if err != nil {
		return nil, s.storeError(ctx, err, what)
	}
	i := slices.IndexFunc(gs, func(g gatehouse.Group) bool { return g.Name == in.GetName() })
	if i < 0 {
		return nil, status.Errorf(codes.NotFound, "%s not found", what)
	}
	out := &gatehousev1.Group{Name: gs[i].Name, CreatedAt: ts(gs[i].CreatedAt), Members: []string{}}
	if out.Grants, err = s.st.GrantsOf(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: out.Name}); err != nil {
		return nil, s.storeError(ctx, err, what)
	}
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, s.storeError(ctx, err, what)
	}
	for _, u := range us {
		groups, err := s.st.GroupsOf(ctx, u.ID)
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) { // deleted meanwhile
			return nil, s.storeError(ctx, err, what)
		}
		if slices.Contains(groups, out.Name) {
			out.Members = append(out.Members, u.Login)
		}
	}
	return &gatehousev1.GetGroupResponse{Group: out}, nil
}

// ListGroups lists groups by name.
func (s *Service) ListGroups(ctx context.Context, _ *gatehousev1.ListGroupsRequest) (*gatehousev1.ListGroupsResponse, error) {
	gs, err := s.st.ListGroups(ctx)
	if err != nil {
		return nil, s.storeError(ctx, err, "groups")
	}
	out := &gatehousev1.ListGroupsResponse{Groups: make([]*gatehousev1.Group, 0, len(gs))}
	for _, g := range gs {
		out.Groups = append(out.Groups, &gatehousev1.Group{Name: g.Name, CreatedAt: ts(g.CreatedAt)})
	}
	return out, nil
}

// DeleteGroup removes a group with its memberships and grants.
func (s *Service) DeleteGroup(ctx context.Context, in *gatehousev1.DeleteGroupRequest) (*gatehousev1.DeleteGroupResponse, error) {
	if err := checkName("name", in.GetName()); err != nil {
		return nil, err
	}
	if err := s.st.DeleteGroup(ctx, in.GetName()); err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("group %q", in.GetName()))
	}
	return &gatehousev1.DeleteGroupResponse{}, nil
}

// AddGroupMember adds a user to a group (idempotent).
func (s *Service) AddGroupMember(ctx context.Context, in *gatehousev1.AddGroupMemberRequest) (*gatehousev1.AddGroupMemberResponse, error) {
	if err := checkName("group", in.GetGroup()); err != nil {
		return nil, err
	}
	u, err := s.user(ctx, in.GetLogin())
	if err != nil {
		return nil, err
	}
	if err := s.st.AddMember(ctx, in.GetGroup(), u.ID); err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("group %q", in.GetGroup()))
	}
	return &gatehousev1.AddGroupMemberResponse{}, nil
}

// RemoveGroupMember removes a user from a group.
func (s *Service) RemoveGroupMember(ctx context.Context, in *gatehousev1.RemoveGroupMemberRequest) (*gatehousev1.RemoveGroupMemberResponse, error) {
	if err := checkName("group", in.GetGroup()); err != nil {
		return nil, err
	}
	u, err := s.user(ctx, in.GetLogin())
	if err != nil {
		return nil, err
	}
	if err := s.st.RemoveMember(ctx, in.GetGroup(), u.ID); err != nil {
		return nil, s.storeError(ctx, err, fmt.Sprintf("membership of %q in group %q", in.GetLogin(), in.GetGroup()))
	}
	return &gatehousev1.RemoveGroupMemberResponse{}, nil
}

// --- grants ---

// grantee resolves exactly one of a login and a group name.
func (s *Service) grantee(ctx context.Context, user, group string) (gatehouse.Grantee, string, error) {
	switch {
	case user != "" && group != "":
		return gatehouse.Grantee{}, "", invalid("user", "exactly one of user and group is required")
	case user != "":
		u, err := s.user(ctx, user)
		if err != nil {
			return gatehouse.Grantee{}, "", err
		}
		return gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, fmt.Sprintf("user %q", user), nil
	case group != "":
		if err := checkName("group", group); err != nil {
			return gatehouse.Grantee{}, "", err
		}
		return gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: group}, fmt.Sprintf("group %q", group), nil
	}
	return gatehouse.Grantee{}, "", invalid("user", "exactly one of user and group is required")
}

// GrantPermissions grants codenames; all are validated before any is written.
func (s *Service) GrantPermissions(ctx context.Context, in *gatehousev1.GrantPermissionsRequest) (*gatehousev1.GrantPermissionsResponse, error) {
	to, what, err := s.grantee(ctx, in.GetUser(), in.GetGroup())
	if err != nil {
		return nil, err
	}
	if len(in.GetCodenames()) == 0 {
		return nil, invalid("codenames", "at least one codename is required")
	}
	if err := s.checkCodenames("codenames", in.GetCodenames()); err != nil {
		return nil, err
	}
	for _, c := range in.GetCodenames() {
		if err := s.st.Grant(ctx, to, c); err != nil {
			return nil, s.storeError(ctx, err, what)
		}
	}
	grants, err := s.st.GrantsOf(ctx, to)
	if err != nil {
		return nil, s.storeError(ctx, err, what)
	}
	return &gatehousev1.GrantPermissionsResponse{Grants: grants}, nil
}

// RevokePermissions revokes codenames; one not granted is NOT_FOUND.
func (s *Service) RevokePermissions(ctx context.Context, in *gatehousev1.RevokePermissionsRequest) (*gatehousev1.RevokePermissionsResponse, error) {
	from, what, err := s.grantee(ctx, in.GetUser(), in.GetGroup())
	if err != nil {
		return nil, err
	}
	if len(in.GetCodenames()) == 0 {
		return nil, invalid("codenames", "at least one codename is required")
	}
	for _, c := range in.GetCodenames() {
		if err := s.st.Revoke(ctx, from, c); err != nil {
			return nil, s.storeError(ctx, err, fmt.Sprintf("grant of %q to %s", c, what))
		}
	}
	grants, err := s.st.GrantsOf(ctx, from)
	if err != nil {
		return nil, s.storeError(ctx, err, what)
	}
	return &gatehousev1.RevokePermissionsResponse{Grants: grants}, nil
}

// ListGrants lists a grantee's direct grants.
func (s *Service) ListGrants(ctx context.Context, in *gatehousev1.ListGrantsRequest) (*gatehousev1.ListGrantsResponse, error) {
	to, what, err := s.grantee(ctx, in.GetUser(), in.GetGroup())
	if err != nil {
		return nil, err
	}
	grants, err := s.st.GrantsOf(ctx, to)
	if err != nil {
		return nil, s.storeError(ctx, err, what)
	}
	return &gatehousev1.ListGrantsResponse{Grants: grants}, nil
}

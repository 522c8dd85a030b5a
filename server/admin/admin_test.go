package admin_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/admin"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
)

// backends runs f against a fresh SQLite store and, when reachable, a fresh
// PostgreSQL schema.
func backends(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		ctx := context.Background()
		st, err := postgres.Open(ctx, testenv.PostgresSchemaURL(t, "gh_admin"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
}

// deletingStore deletes the token's user just before the token is written,
// as a concurrent admin would.
type deletingStore struct{ store.Store }

func (d deletingStore) CreateToken(ctx context.Context, t gatehouse.APIToken) (gatehouse.APIToken, error) {
	if err := d.Store.DeleteUser(ctx, t.UserID); err != nil {
		return gatehouse.APIToken{}, err
	}
	return d.Store.CreateToken(ctx, t)
}

// TestWriteFailingHalfwayLeavesNothing: a write that fails part-way leaves
// no partial record, on both backends.
func TestWriteFailingHalfwayLeavesNothing(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		u, err := st.CreateUser(ctx, gatehouse.User{Login: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a token for a user deleted concurrently", func(t *testing.T) {
			svc := admin.New(admin.Options{Store: deletingStore{st}})
			_, err := svc.IssueToken(ctx, &gatehousev1.IssueTokenRequest{User: "svc"})
			if status.Code(err) != codes.NotFound {
				t.Fatalf("IssueToken: %v, want NotFound", err)
			}
			toks, err := st.ListTokens(ctx, "")
			if err != nil || len(toks) != 0 {
				t.Fatalf("tokens left behind: %v, %v", toks, err)
			}
			if _, err := st.GetUser(ctx, u.ID); !errors.Is(err, gatehouse.ErrNotFound) {
				t.Fatalf("user: %v", err)
			}
		})
		t.Run("a role binding update whose closure errors", func(t *testing.T) {
			b, err := st.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "b", RoleRef: "viewer",
				Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectUser, Name: "alice"}}})
			if err != nil {
				t.Fatal(err)
			}
			v0, err := st.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			_, err = st.UpdateRoleBinding(ctx, "b", func(nb *gatehouse.RoleBinding) error {
				nb.RoleRef = "admin"
				nb.Subjects = append(nb.Subjects, gatehouse.Subject{Kind: gatehouse.SubjectGroup, Name: "everyone"})
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("update: %v", err)
			}
			got, err := st.GetRoleBinding(ctx, "b")
			if err != nil || got.RoleRef != "viewer" || len(got.Subjects) != 1 || !got.UpdatedAt.Equal(b.UpdatedAt) {
				t.Fatalf("binding changed: %+v, %v", got, err)
			}
			if v1, err := st.Version(ctx); err != nil || v1 != v0 {
				t.Fatalf("version %d → %d (%v): a failed update counted as a change", v0, v1, err)
			}
		})
		t.Run("grants are validated before any is written", func(t *testing.T) {
			if _, err := st.CreateGroup(ctx, "ops"); err != nil {
				t.Fatal(err)
			}
			svc := admin.New(admin.Options{Store: st, Codenames: func() []string { return []string{"view_show"} }})
			_, err := svc.GrantPermissions(ctx, &gatehousev1.GrantPermissionsRequest{Group: "ops", Codenames: []string{"view_show", "fly_plane"}})
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("grant: %v", err)
			}
			if grants, err := st.GrantsOf(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "ops"}); err != nil || len(grants) != 0 {
				t.Fatalf("grants left behind: %v, %v", grants, err)
			}
		})
		t.Run("RB10 a refused role leaves nothing", func(t *testing.T) {
			svc := admin.New(admin.Options{Store: st})
			for _, name := range []string{"admin", "sre", "developer", "viewer", "agent-admin", "microservice"} {
				_, err := svc.CreateRoleRecord(ctx, gatehouse.Role{Name: name, Rules: []gatehouse.RoleRule{{APIGroups: []string{""}, Resources: []string{"*"}, Verbs: []string{"*"}}}})
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("%s: %v", name, err)
				}
			}
			if roles, err := st.ListRoles(ctx); err != nil || len(roles) != 0 {
				t.Fatalf("roles: %v, %v", roles, err)
			}
		})
	})
}

// fakeDecider records the requests it decides and answers with d.
type fakeDecider struct {
	d    gatehouse.Decision
	seen []*gatehouse.Request
}

func (f *fakeDecider) Decide(_ context.Context, r *gatehouse.Request) gatehouse.Decision {
	f.seen = append(f.seen, r)
	return f.d
}

// TestAuthorizerInterceptor: which calls are decided, as what request, and
// how a deny becomes a gRPC status.
func TestAuthorizerInterceptor(t *testing.T) {
	ok := func(context.Context, any) (any, error) { return "handled", nil }
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer x", "cookie", "sid=1", "x-forwarded-for", "1.2.3.4"))
	tests := []struct {
		name     string
		method   string
		req      any
		decision gatehouse.Decision
		decided  string // the path decided, "" when the decider must not be asked
		code     codes.Code
		reason   string
	}{
		{"Check returns at once", gatehousev1.AuthService_Check_FullMethodName, nil, gatehouse.Decision{Status: 403}, "", codes.OK, ""},
		{"other services are not ours", "/grpc.health.v1.Health/Check", nil, gatehouse.Decision{Status: 403}, "", codes.OK, ""},
		{"Login establishes a credential", "/gatehouse.v1.AuthService/Login", nil, gatehouse.Decision{Status: 401}, "", codes.OK, ""},
		{"allowed admin call", gatehousev1.AdminService_ListUsers_FullMethodName, &gatehousev1.ListUsersRequest{},
			gatehouse.Decision{Allow: true, Status: 200}, "/gatehouse.v1.AdminService/ListUsers", codes.OK, ""},
		{"token call names its user", gatehousev1.AdminService_IssueToken_FullMethodName, &gatehousev1.IssueTokenRequest{User: "a b/c"},
			gatehouse.Decision{Allow: true, Status: 200}, "/gatehouse.v1.AdminService/IssueToken/a%20b%2Fc", codes.OK, ""},
		{"forbidden", gatehousev1.AdminService_CreateUser_FullMethodName, &gatehousev1.CreateUserRequest{},
			gatehouse.Decision{Status: 403, Reason: gatehouse.ReasonForbidden, ID: "d1"}, "/gatehouse.v1.AdminService/CreateUser", codes.PermissionDenied, "PERMISSION_DENIED"},
		{"unauthenticated", gatehousev1.AdminService_CreateUser_FullMethodName, &gatehousev1.CreateUserRequest{},
			gatehouse.Decision{Status: 401, Reason: gatehouse.ReasonNoCredential, ID: "d2"}, "/gatehouse.v1.AdminService/CreateUser", codes.Unauthenticated, "NO_CREDENTIAL"},
		{"failure to decide", gatehousev1.AdminService_CreateUser_FullMethodName, &gatehousev1.CreateUserRequest{},
			gatehouse.Decision{Status: 503, Reason: gatehouse.ReasonStoreUnavailable, ID: "d3"}, "/gatehouse.v1.AdminService/CreateUser", codes.Unavailable, "STORE_UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd := &fakeDecider{d: tt.decision}
			a := admin.NewAuthorizer(fd, admin.AuthorizerOptions{})
			resp, err := a.Unary(ctx, tt.req, &grpc.UnaryServerInfo{FullMethod: tt.method}, ok)
			if status.Code(err) != tt.code {
				t.Fatalf("code %v (%v), want %v", status.Code(err), err, tt.code)
			}
			if tt.decided == "" {
				if len(fd.seen) != 0 {
					t.Fatalf("decider asked about %s", fd.seen[0].Path)
				}
				return
			}
			if len(fd.seen) != 1 {
				t.Fatalf("decider asked %d times", len(fd.seen))
			}
			r := fd.seen[0]
			if r.Method != "POST" || r.Path != tt.decided {
				t.Fatalf("decided %s %s, want POST %s", r.Method, r.Path, tt.decided)
			}
			if len(r.Headers) != 1 || r.Headers["authorization"] != "Bearer x" {
				t.Fatalf("headers %v: only the Authorization metadata is a credential", r.Headers)
			}
			if tt.code == codes.OK {
				if resp != "handled" {
					t.Fatalf("resp %v", resp)
				}
				return
			}
			var info *errdetails.ErrorInfo
			for _, d := range status.Convert(err).Details() {
				if i, ok := d.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
			if info == nil || info.GetReason() != tt.reason || info.GetMetadata()["decision_id"] != tt.decision.ID || info.GetDomain() != admin.ErrorDomain {
				t.Fatalf("ErrorInfo %v", info)
			}
		})
	}
	if !slices.Contains(admin.DefaultSkip(), gatehousev1.AuthService_Check_FullMethodName) {
		t.Fatal("Check must be skipped")
	}
}

// TestIssueProvisioningKey: the admin door over the agents package's function.
func TestIssueProvisioningKey(t *testing.T) {
	ctx := t.Context()
	_, err := admin.New(admin.Options{}).IssueProvisioningKey(ctx, &gatehousev1.IssueProvisioningKeyRequest{Agent: "fog"})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("without agent support: %v", err)
	}
	var gotRef string
	var gotTTL time.Duration
	svc := admin.New(admin.Options{ProvisioningKeys: func(_ context.Context, ref string, ttl time.Duration) (admin.ProvisioningKey, error) {
		gotRef, gotTTL = ref, ttl
		if ref == "gone" {
			return admin.ProvisioningKey{}, fmt.Errorf("agent: %w", gatehouse.ErrNotFound)
		}
		return admin.ProvisioningKey{AgentID: "id-1", AgentName: ref, Key: "k", ExpiresAt: time.Unix(1e9, 0)}, nil
	}})
	resp, err := svc.IssueProvisioningKey(ctx, &gatehousev1.IssueProvisioningKeyRequest{Agent: " fog-1 ", Ttl: durationpb.New(time.Hour)})
	if err != nil || resp.GetKey() != "k" || resp.GetAgentId() != "id-1" || gotRef != "fog-1" || gotTTL != time.Hour {
		t.Fatalf("%v, %v (ref %q, ttl %v)", resp, err, gotRef, gotTTL)
	}
	for _, tt := range []struct {
		in   *gatehousev1.IssueProvisioningKeyRequest
		code codes.Code
	}{
		{&gatehousev1.IssueProvisioningKeyRequest{}, codes.InvalidArgument},
		{&gatehousev1.IssueProvisioningKeyRequest{Agent: "fog", Ttl: durationpb.New(-time.Second)}, codes.InvalidArgument},
		{&gatehousev1.IssueProvisioningKeyRequest{Agent: "gone"}, codes.NotFound},
	} {
		if _, err := svc.IssueProvisioningKey(ctx, tt.in); status.Code(err) != tt.code {
			t.Fatalf("%v: %v, want %v", tt.in, err, tt.code)
		}
	}
}

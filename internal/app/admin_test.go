package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/policies"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// adminPolicyDir is the AURA-style policy (codenames) with the default
// catalog's Gatehouse resources (gatehouse.*) appended, so grants and token
// subsets can be proven together with the admin API.
func adminPolicyDir(t *testing.T) string {
	t.Helper()
	dir := auraPolicyDir(t)
	def, err := fs.ReadFile(policies.Default, "gatehouse/catalog/data.yaml")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(def), "  gatehouse.session:")
	if i < 0 {
		t.Fatal("default catalog has no gatehouse.* resources")
	}
	path := filepath.Join(dir, "gatehouse", "catalog", "data.yaml")
	aura, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(aura)+"\n"+string(def[i:]))
	return dir
}

// adminGH is a running Gatehouse with an AdminService client and tokens.
type adminGH struct {
	*fixture
	admin gatehousev1.AdminServiceClient
	root  string // a JWT of the admin group
}

func newAdminGH(t *testing.T, kv ...string) *adminGH {
	t.Helper()
	f := newFixture(t, append([]string{"POLICY_DIR", adminPolicyDir(t)}, kv...)...)
	return &adminGH{fixture: f, admin: gatehousev1.NewAdminServiceClient(f.g.conn), root: f.withGroups("admin")}
}

// as returns a context carrying an Authorization header ("" for none).
func as(t *testing.T, authorization string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if authorization == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
}

// wantCode checks a gRPC error's code and, for denials, its ErrorInfo reason.
func wantCode(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("code %v (%v), want %v", st.Code(), err, code)
	}
	if reason == "" {
		return
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetReason() != reason || info.GetMetadata()["decision_id"] == "" {
				t.Fatalf("ErrorInfo %v, want reason %s and a decision id", info, reason)
			}
			return
		}
	}
	t.Fatalf("no ErrorInfo in %v", st.Details())
}

func jsonField(t *testing.T, body, field string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m[field]
}

// TestAdminAuthorization: every AdminService call goes through the policy as
// POST <full method>, over gRPC and over REST (the gateway dials the same
// server), with typed denials; Check stays outside it.
func TestAdminAuthorization(t *testing.T) {
	a := newAdminGH(t)
	sre := "Bearer " + a.withGroups("sre")
	tests := []struct {
		name, auth string
		code       codes.Code
		reason     string
	}{
		{"admin group", "Bearer " + a.root, codes.OK, ""},
		{"system role without gatehouse.* rules", sre, codes.PermissionDenied, "PERMISSION_DENIED"},
		{"no credential", "", codes.Unauthenticated, "NO_CREDENTIAL"},
		{"bad credential", "Bearer not.a.jwt", codes.Unauthenticated, "TOKEN_MALFORMED"},
		{"unknown API token", "Token nope", codes.Unauthenticated, "CREDENTIAL_INVALID"},
	}
	for _, tt := range tests {
		t.Run("gRPC "+tt.name, func(t *testing.T) {
			_, err := a.admin.ListUsers(as(t, tt.auth), &gatehousev1.ListUsersRequest{})
			wantCode(t, err, tt.code, tt.reason)
		})
	}
	t.Run("REST denials carry the envelope with reason and decision id", func(t *testing.T) {
		code, body := a.g.rest("GET", "/v1/admin/users", "", nil)
		if code != 401 || jsonField(t, body, "name") != "AuthenticationError" || jsonField(t, body, "reason") != "NO_CREDENTIAL" || jsonField(t, body, "decisionId") == "" {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("GET", "/v1/admin/users", "", map[string]string{"Authorization": sre})
		if code != 403 || jsonField(t, body, "name") != "ForbiddenError" || jsonField(t, body, "reason") != "PERMISSION_DENIED" {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("GET", "/v1/admin/users", "", map[string]string{"Authorization": "Bearer " + a.root})
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("agent provisioning keys: authorized first, then a key that provisions once", func(t *testing.T) {
		code, body := a.g.rest("POST", "/v1/admin/agents/fog-1/provisioning-key", `{}`, map[string]string{"Authorization": sre})
		if code != 403 {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("POST", "/v1/admin/agents/fog-1/provisioning-key", `{}`, map[string]string{"Authorization": "Bearer " + a.root})
		key := jsonField(t, body, "key")
		if code != 200 || key == "" || jsonField(t, body, "agentName") != "fog-1" {
			t.Fatalf("%d %s", code, body)
		}
		if status, r := a.g.provision(t, fmt.Sprintf(`{"type":1,"key":%q}`, key)); status != 200 || r.UUID != jsonField(t, body, "agentId") || r.PrivateKey == "" {
			t.Fatalf("provision with the admin-issued key: %d %+v", status, r)
		}
		if status, _ := a.g.provision(t, fmt.Sprintf(`{"type":1,"key":%q}`, key)); status != 404 {
			t.Fatalf("second use of the key: %d, want 404", status)
		}
	})
	t.Run("Check is not put before the policy", func(t *testing.T) {
		o := a.g.checkV1(req{method: "GET", path: "/api/v3/microservices"})
		wantStatus(t, o, 401) // a decision about the request, not a refusal of the call
	})
	t.Run("ext_authz sees the same route as the interceptor", func(t *testing.T) {
		wantStatus(t, a.g.decide(req{method: "POST", path: "/gatehouse.v1.AdminService/CreateUser", headers: bearer(a.root)}), 200)
		wantStatus(t, a.g.decide(req{method: "POST", path: "/gatehouse.v1.AdminService/CreateUser", headers: bearer(a.withGroups("sre"))}), 403)
	})
}

// TestAT06CookieIsNotACredential: AT-06 (session + CSRF) does not apply to
// Gatehouse: a cookie is never a credential, so a cookie-only call is 401 on
// every admin surface.
func TestAT06CookieIsNotACredential(t *testing.T) {
	a := newAdminGH(t)
	cookie := map[string]string{"Cookie": "sessionid=abc; csrftoken=def", "X-CSRFToken": "def"}
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/v1/admin/users", ""},
		{"POST", "/v1/admin/users", `{"login":"x"}`},
		{"POST", "/v1/tokens", `{"user":"x"}`},
		{"GET", "/api/v3/roles", ""},
		{"POST", "/api/v3/rolebindings", `{}`},
	} {
		code, body := a.g.rest(tt.method, tt.path, tt.body, cookie)
		if code != 401 {
			t.Fatalf("%s %s with a cookie only: %d %s", tt.method, tt.path, code, body)
		}
	}
	_, err := a.admin.ListUsers(metadata.AppendToOutgoingContext(as(t, ""), "cookie", "sessionid=abc"), &gatehousev1.ListUsersRequest{})
	wantCode(t, err, codes.Unauthenticated, "NO_CREDENTIAL")
}

// TestAdminUsersGroupsGrants administers principals over gRPC and proves the
// result on the decision path (AP-01 through the admin API).
func TestAdminUsersGroupsGrants(t *testing.T) {
	a := newAdminGH(t)
	ctx := as(t, "Bearer "+a.root)
	c := a.admin
	u, err := c.CreateUser(ctx, &gatehousev1.CreateUserRequest{Login: "svc", Email: "svc@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if !u.GetUser().GetHasPassword() || u.GetUser().GetId() == "" {
		t.Fatalf("user %v", u)
	}
	steps := []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"duplicate login", func() error {
			_, err := c.CreateUser(ctx, &gatehousev1.CreateUserRequest{Login: "svc"})
			return err
		}, codes.AlreadyExists},
		{"bad login", func() error {
			_, err := c.CreateUser(ctx, &gatehousev1.CreateUserRequest{Login: "a b"})
			return err
		}, codes.InvalidArgument},
		{"unknown user", func() error { _, err := c.GetUser(ctx, &gatehousev1.GetUserRequest{Login: "nobody"}); return err }, codes.NotFound},
		{"group", func() error { _, err := c.CreateGroup(ctx, &gatehousev1.CreateGroupRequest{Name: "Host"}); return err }, codes.OK},
		{"member", func() error {
			_, err := c.AddGroupMember(ctx, &gatehousev1.AddGroupMemberRequest{Group: "Host", Login: "svc"})
			return err
		}, codes.OK},
		{"member of unknown group", func() error {
			_, err := c.AddGroupMember(ctx, &gatehousev1.AddGroupMemberRequest{Group: "nope", Login: "svc"})
			return err
		}, codes.NotFound},
		{"group grant", func() error {
			_, err := c.GrantPermissions(ctx, &gatehousev1.GrantPermissionsRequest{Group: "Host", Codenames: []string{"view_show"}})
			return err
		}, codes.OK},
		{"user grant", func() error {
			_, err := c.GrantPermissions(ctx, &gatehousev1.GrantPermissionsRequest{User: "svc", Codenames: []string{"add_episode"}})
			return err
		}, codes.OK},
		{"unknown codename", func() error {
			_, err := c.GrantPermissions(ctx, &gatehousev1.GrantPermissionsRequest{User: "svc", Codenames: []string{"view_show", "fly_plane"}})
			return err
		}, codes.InvalidArgument},
		{"both grantees", func() error {
			_, err := c.GrantPermissions(ctx, &gatehousev1.GrantPermissionsRequest{User: "svc", Group: "Host", Codenames: []string{"view_show"}})
			return err
		}, codes.InvalidArgument},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { wantCode(t, s.call(), s.code, "") })
	}
	got, err := c.GetUser(ctx, &gatehousev1.GetUserRequest{Login: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if g := got.GetUser(); strings.Join(g.GetGroups(), ",") != "Host" || strings.Join(g.GetGrants(), ",") != "add_episode" ||
		strings.Join(g.GetPermissions(), ",") != "add_episode,view_show" {
		t.Fatalf("user %v", g)
	}
	grp, err := c.GetGroup(ctx, &gatehousev1.GetGroupRequest{Name: "Host"})
	if err != nil || strings.Join(grp.GetGroup().GetMembers(), ",") != "svc" || strings.Join(grp.GetGroup().GetGrants(), ",") != "view_show" {
		t.Fatalf("group %v, %v", grp, err)
	}

	t.Run("AT05 the password set through the API works for Basic", func(t *testing.T) {
		wantStatus(t, a.g.decide(req{method: "GET", path: "/api/v1/shows", headers: basicHeader("svc", "correct horse")}), 200)
		if _, err := c.SetUserPassword(ctx, &gatehousev1.SetUserPasswordRequest{Login: "svc", Password: "battery staple"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "old password refused", func() bool {
			return a.g.decide(req{method: "GET", path: "/api/v1/shows", headers: basicHeader("svc", "correct horse")}).status == 401
		})
		wantStatus(t, a.g.decide(req{method: "GET", path: "/api/v1/shows", headers: basicHeader("svc", "battery staple")}), 200)
	})
	t.Run("revoking a grant removes the permission", func(t *testing.T) {
		wantStatus(t, a.g.decide(req{method: "POST", path: "/api/v1/shows/1/episodes", headers: basicHeader("svc", "battery staple")}), 200)
		if _, err := c.RevokePermissions(ctx, &gatehousev1.RevokePermissionsRequest{User: "svc", Codenames: []string{"add_episode"}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "revoked grant honoured", func() bool {
			return a.g.decide(req{method: "POST", path: "/api/v1/shows/1/episodes", headers: basicHeader("svc", "battery staple")}).status == 403
		})
	})
	t.Run("AT03 disabling through the API refuses the user", func(t *testing.T) {
		disabled := true
		if _, err := c.UpdateUser(ctx, &gatehousev1.UpdateUserRequest{Login: "svc", Disabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "disabled user refused", func() bool {
			return a.g.decide(req{method: "GET", path: "/api/v1/shows", headers: basicHeader("svc", "battery staple")}).status == 401
		})
	})
	t.Run("REST shapes", func(t *testing.T) {
		auth := map[string]string{"Authorization": "Bearer " + a.root}
		code, body := a.g.rest("POST", "/v1/admin/users", `{"login":"rest-user","email":"r@example.com"}`, auth)
		if code != 200 || !strings.Contains(body, `"login":"rest-user"`) {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("POST", "/v1/admin/users", `{"login":"rest-user"}`, auth)
		if code != 409 || jsonField(t, body, "name") != "ConflictError" {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("PUT", "/v1/admin/groups/Host/members/rest-user", "", auth)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("GET", "/v1/admin/groups/Host/grants", "", auth)
		if code != 200 || !strings.Contains(body, "view_show") {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("POST", "/v1/admin/groups/Host/grants:revoke", `{"codenames":["view_show"]}`, auth)
		if code != 200 || strings.Contains(body, "view_show") {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("DELETE", "/v1/admin/users/rest-user", "", auth)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		code, body = a.g.rest("GET", "/v1/admin/users/rest-user", "", auth)
		if code != 404 || jsonField(t, body, "name") != "NotFoundError" {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("AC01 AC02 AC07 clients", func(t *testing.T) {
		in := &gatehousev1.CreateClientRequest{ClientId: "D", Name: "dashboard", Type: "public", ResponseTypes: []string{"code"},
			RedirectUris:           []string{"https://x/oidc_callback.html", "https://x/oidc_callback_silentRenew.html"},
			PostLogoutRedirectUris: []string{"https://x", "https://x/"}}
		got, err := c.CreateClient(ctx, in)
		if err != nil || len(got.GetClient().GetRedirectUris()) != 2 || len(got.GetClient().GetPostLogoutRedirectUris()) != 2 || got.GetClientSecret() != "" {
			t.Fatalf("%v, %v", got, err)
		}
		_, err = c.CreateClient(ctx, in)
		wantCode(t, err, codes.AlreadyExists, "")
		conf, err := c.CreateClient(ctx, &gatehousev1.CreateClientRequest{Name: "battery", Type: "confidential", RedirectUris: []string{"https://b/"}})
		if err != nil || len(conf.GetClientSecret()) < 40 || conf.GetClient().GetClientId() == "" {
			t.Fatalf("AC04 generated values: %v, %v", conf, err)
		}
		for _, bad := range []string{"ftp://x/cb", "https://x/cb#frag", "/relative"} {
			_, err := c.CreateClient(ctx, &gatehousev1.CreateClientRequest{Name: "n", Type: "public", RedirectUris: []string{bad}})
			wantCode(t, err, codes.InvalidArgument, "")
		}
		if _, err := c.DeleteClient(ctx, &gatehousev1.DeleteClientRequest{ClientId: "D"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateClient(ctx, in); err != nil {
			t.Fatalf("create after delete: %v", err)
		}
	})
}

// TestATIssueToken: IssueToken mints a token that never carries more than
// its user holds; who may issue for whom is policy data (a custom role's
// resourceNames, "{self}"); revocation through the API is honoured.
func TestATIssueToken(t *testing.T) {
	a := newAdminGH(t)
	root := as(t, "Bearer "+a.root)
	c := a.admin
	for _, login := range []string{"svc-a", "svc-b"} {
		if _, err := c.CreateUser(root, &gatehousev1.CreateUserRequest{Login: login}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GrantPermissions(root, &gatehousev1.GrantPermissionsRequest{User: login, Codenames: []string{"view_show", "add_show"}}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("AT01 a subset narrows, more than the user holds is refused", func(t *testing.T) {
		_, err := c.IssueToken(root, &gatehousev1.IssueTokenRequest{User: "svc-a", Permissions: []string{"view_show", "delete_show"}})
		wantCode(t, err, codes.InvalidArgument, "")
		got, err := c.IssueToken(root, &gatehousev1.IssueTokenRequest{User: "svc-a", Name: "ci", Permissions: []string{"view_show"}, Ttl: durationpb.New(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.GetSecret()) < 43 || got.GetToken().GetExpiresAt() == nil || !got.GetToken().GetActive() {
			t.Fatalf("issued %v", got)
		}
		wantStatus(t, a.g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(got.GetSecret())}), 200)
		wantStatus(t, a.g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(got.GetSecret())}), 403)
		full, err := c.IssueToken(root, &gatehousev1.IssueTokenRequest{User: "svc-a"})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, a.g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(full.GetSecret())}), 200)
		list, err := c.ListTokens(root, &gatehousev1.ListTokensRequest{User: "svc-a"})
		if err != nil || len(list.GetTokens()) != 2 || list.GetTokens()[0].GetUser() != "svc-a" {
			t.Fatalf("list %v, %v", list, err)
		}
		for _, tok := range list.GetTokens() {
			if strings.Contains(tok.String(), got.GetSecret()) {
				t.Fatal("a listed token shows its secret")
			}
		}
	})
	t.Run("revocation through the API is honoured", func(t *testing.T) {
		got, err := c.IssueToken(root, &gatehousev1.IssueTokenRequest{User: "svc-b"})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, a.g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(got.GetSecret())}), 200)
		_, err = c.RevokeToken(root, &gatehousev1.RevokeTokenRequest{User: "svc-a", Id: got.GetToken().GetId()})
		wantCode(t, err, codes.NotFound, "") // not svc-a's token
		rev, err := c.RevokeToken(root, &gatehousev1.RevokeTokenRequest{User: "svc-b", Id: got.GetToken().GetId()})
		if err != nil || rev.GetToken().GetActive() || rev.GetToken().GetRevokedAt() == nil {
			t.Fatalf("revoke %v, %v", rev, err)
		}
		eventually(t, "revoked token refused", func() bool {
			return a.g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(got.GetSecret())}).status == 401
		})
	})
	t.Run("who may issue for whom is policy data", func(t *testing.T) {
		if _, err := c.CreateRole(root, &gatehousev1.CreateRoleRequest{Role: &gatehousev1.Role{Name: "issue-for-svc-a", Rules: []*gatehousev1.RoleRule{{
			ApiGroups: []string{"gatehouse"}, Resources: []string{"gatehouse.tokens"}, Verbs: []string{"create", "list"}, ResourceNames: []string{"svc-a"}}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateRole(root, &gatehousev1.CreateRoleRequest{Role: &gatehousev1.Role{Name: "own-tokens", Rules: []*gatehousev1.RoleRule{{
			ApiGroups: []string{"gatehouse"}, Resources: []string{"gatehouse.tokens"}, Verbs: []string{"*"}, ResourceNames: []string{"{self}"}}}}}); err != nil {
			t.Fatal(err)
		}
		for _, b := range []*gatehousev1.RoleBinding{
			{Name: "ci", RoleRef: "issue-for-svc-a", Subjects: []*gatehousev1.Subject{{Kind: "Group", Name: "ci"}}},
			{Name: "self", RoleRef: "own-tokens", Subjects: []*gatehousev1.Subject{{Kind: "User", Name: "svc-b"}}},
		} {
			if _, err := c.CreateRoleBinding(root, &gatehousev1.CreateRoleBindingRequest{Binding: b}); err != nil {
				t.Fatal(err)
			}
		}
		ci := as(t, "Bearer "+a.withGroups("ci"))
		eventually(t, "binding reaches the policy", func() bool {
			_, err := c.IssueToken(ci, &gatehousev1.IssueTokenRequest{User: "svc-a", Permissions: []string{"view_show"}})
			return err == nil
		})
		_, err := c.IssueToken(ci, &gatehousev1.IssueTokenRequest{User: "svc-b"})
		wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
		_, err = c.ListTokens(ci, &gatehousev1.ListTokensRequest{}) // every user's: needs an unrestricted rule
		wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
		_, err = c.RevokeToken(ci, &gatehousev1.RevokeTokenRequest{User: "svc-a", Id: "x"}) // no delete verb
		wantCode(t, err, codes.PermissionDenied, "PERMISSION_DENIED")

		// svc-b, authenticated by one of its own tokens, manages its own
		// tokens only (and through REST, /v1/tokens).
		own, err := c.IssueToken(root, &gatehousev1.IssueTokenRequest{User: "svc-b"})
		if err != nil {
			t.Fatal(err)
		}
		self := map[string]string{"Authorization": "Token " + own.GetSecret()}
		var code int
		var body string
		eventually(t, "self binding reaches the policy", func() bool {
			code, body = a.g.rest("POST", "/v1/tokens", `{"user":"svc-b","permissions":["view_show"],"ttl":"3600s"}`, self)
			return code == 200
		})
		if s, _ := jsonField(t, body, "secret").(string); len(s) < 43 {
			t.Fatalf("REST issue: %s", body)
		}
		code, body = a.g.rest("POST", "/v1/tokens", `{"user":"svc-a"}`, self)
		if code != 403 || jsonField(t, body, "reason") != "PERMISSION_DENIED" {
			t.Fatalf("issue for another user: %d %s", code, body)
		}
		code, body = a.g.rest("GET", "/v1/tokens?user=svc-b", "", self)
		if code != 200 || !strings.Contains(body, `"user":"svc-b"`) {
			t.Fatalf("list own: %d %s", code, body)
		}
		code, body = a.g.rest("DELETE", "/v1/tokens/"+own.GetToken().GetId()+"?user=svc-b", "", self)
		if code != 200 {
			t.Fatalf("revoke own: %d %s", code, body)
		}
	})
}

// TestRB10ControllerRoleRoutes: /api/v3/roles and /api/v3/rolebindings in
// the Controller's shapes and status codes, authorized as Controller routes
// (RB-05: sre reads, cannot create).
func TestRB10ControllerRoleRoutes(t *testing.T) {
	f := newFixture(t)
	admin := map[string]string{"Authorization": "Bearer " + f.withGroups("admin")}
	sre := map[string]string{"Authorization": "Bearer " + f.withGroups("sre")}
	role := `{"name":"%s","kind":"Role","rules":[{"apiGroups":[""],"resources":["microservices"],"verbs":["get"],"resourceNames":["abc"]}]}`
	binding := `{"name":"%s","kind":"RoleBinding","roleRef":{"kind":"Role","name":"reader"},"subjects":[{"kind":"User","name":"carol"}]}`
	sprintf := func(format, name string) string { return strings.Replace(format, "%s", name, 1) }
	tests := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		errName                  string // the Controller's error class, for errors
		contains                 string
	}{
		{"create", "POST", "/api/v3/roles", sprintf(role, "reader"), admin, 201, "", `"role":{"name":"reader","kind":"Role"`},
		{"RB10 duplicate role", "POST", "/api/v3/roles", sprintf(role, "reader"), admin, 409, "ConflictError", "Role 'reader' already exists"},
		{"RB10 system role name admin", "POST", "/api/v3/roles", sprintf(role, "admin"), admin, 400, "ValidationError", "'admin' is a system role"},
		{"RB10 system role name sre", "POST", "/api/v3/roles", sprintf(role, "sre"), admin, 400, "ValidationError", "system role"},
		{"RB10 system role name developer", "POST", "/api/v3/roles", sprintf(role, "developer"), admin, 400, "ValidationError", "system role"},
		{"RB10 system role name viewer", "POST", "/api/v3/roles", sprintf(role, "viewer"), admin, 400, "ValidationError", "system role"},
		{"RB10 system role name agent-admin", "POST", "/api/v3/roles", sprintf(role, "agent-admin"), admin, 400, "ValidationError", "system role"},
		{"RB10 system role name microservice", "POST", "/api/v3/roles", sprintf(role, "microservice"), admin, 400, "ValidationError", "system role"},
		{"RB10 updating a system role", "PATCH", "/api/v3/roles/viewer", `{"rules":[{"apiGroups":[""],"resources":["*"],"verbs":["*"]}]}`, admin, 400, "ValidationError", "Cannot update role 'viewer'"},
		{"RB10 renaming to a system role", "PATCH", "/api/v3/roles/reader", `{"name":"admin","rules":[{"apiGroups":[""],"resources":["*"],"verbs":["get"]}]}`, admin, 400, "ValidationError", "system role"},
		{"unknown field", "POST", "/api/v3/roles", `{"name":"x","rules":[],"extra":1}`, admin, 400, "ValidationError", "extra"},
		{"missing rules", "POST", "/api/v3/roles", `{"name":"x"}`, admin, 400, "ValidationError", "Required field 'rules' is missing"},
		{"bad verb", "POST", "/api/v3/roles", `{"name":"x","rules":[{"apiGroups":[""],"resources":["a"],"verbs":["fly"]}]}`, admin, 400, "ValidationError", "verb"},
		{"RB10 unknown role", "GET", "/api/v3/roles/nope", "", admin, 404, "NotFoundError", "Role 'nope' not found"},
		{"get", "GET", "/api/v3/roles/reader", "", admin, 200, "", `"resourceNames":["abc"]`},
		{"list", "GET", "/api/v3/roles", "", admin, 200, "", `{"roles":[{"name":"reader"`},
		{"update", "PATCH", "/api/v3/roles/reader", `{"rules":[{"apiGroups":[""],"resources":["microservices"],"verbs":["get","list"]}]}`, admin, 200, "", `"verbs":["get","list"]`},
		{"RB10 update unknown", "PATCH", "/api/v3/roles/nope", `{"rules":[{"apiGroups":[""],"resources":["a"],"verbs":["get"]}]}`, admin, 404, "NotFoundError", ""},
		{"RB05 sre lists roles", "GET", "/api/v3/roles", "", sre, 200, "", `"roles"`},
		{"RB05 sre cannot create roles", "POST", "/api/v3/roles", sprintf(role, "x"), sre, 403, "", "Authorization denied"},
		{"no credential", "GET", "/api/v3/roles", "", nil, 401, "", "No authentication information found"},

		{"create binding", "POST", "/api/v3/rolebindings", sprintf(binding, "carol"), admin, 201, "", `"roleRef":{"kind":"Role","name":"reader"}`},
		{"RB10 duplicate binding", "POST", "/api/v3/rolebindings", sprintf(binding, "carol"), admin, 409, "ConflictError", "RoleBinding 'carol' already exists"},
		{"binding without subjects", "POST", "/api/v3/rolebindings", `{"name":"b","roleRef":{"kind":"Role","name":"reader"}}`, admin, 400, "ValidationError", "Required field 'subjects' is missing"},
		{"binding with a bad subject kind", "POST", "/api/v3/rolebindings", `{"name":"b","roleRef":{"kind":"Role","name":"r"},"subjects":[{"kind":"Robot","name":"x"}]}`, admin, 400, "ValidationError", "kind"},
		{"get binding", "GET", "/api/v3/rolebindings/carol", "", admin, 200, "", `"subjects":[{"kind":"User","name":"carol"}]`},
		{"list bindings", "GET", "/api/v3/rolebindings", "", admin, 200, "", `{"bindings":[{"name":"carol"`},
		{"update binding", "PATCH", "/api/v3/rolebindings/carol", `{"roleRef":{"kind":"Role","name":"viewer"},"subjects":[{"kind":"Group","name":"ops"}]}`, admin, 200, "", `"name":"viewer"`},
		{"RB10 unknown binding", "GET", "/api/v3/rolebindings/nope", "", admin, 404, "NotFoundError", "RoleBinding 'nope' not found"},
		{"RB05 sre cannot create bindings", "POST", "/api/v3/rolebindings", sprintf(binding, "y"), sre, 403, "", "Authorization denied"},
		{"delete binding", "DELETE", "/api/v3/rolebindings/carol", "", admin, 204, "", ""},
		{"delete binding again", "DELETE", "/api/v3/rolebindings/carol", "", admin, 404, "NotFoundError", ""},
		{"delete role", "DELETE", "/api/v3/roles/reader", "", admin, 204, "", ""},
		{"RB10 delete unknown role", "DELETE", "/api/v3/roles/reader", "", admin, 404, "NotFoundError", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.g.rest(tt.method, tt.path, tt.body, tt.headers)
			if code != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("%s %s: %d %s, want %d containing %q", tt.method, tt.path, code, body, tt.status, tt.contains)
			}
			if tt.errName != "" && jsonField(t, body, "name") != tt.errName {
				t.Fatalf("error class %v, want %s: %s", jsonField(t, body, "name"), tt.errName, body)
			}
			if code == 204 && body != "" {
				t.Fatalf("204 with a body %q", body)
			}
		})
	}
}

// TestRB09RoleMadeThroughTheAPI: a role and binding created at
// /api/v3/roles and /api/v3/rolebindings reach the policy (RB-07, RB-09).
func TestRB09RoleMadeThroughTheAPI(t *testing.T) {
	f := newFixture(t)
	admin := map[string]string{"Authorization": "Bearer " + f.withGroups("admin")}
	for _, r := range []struct{ path, body string }{
		{"/api/v3/roles", `{"name":"abc-reader","rules":[{"apiGroups":[""],"resources":["microservices"],"verbs":["get"],"resourceNames":["abc"]}]}`},
		{"/api/v3/rolebindings", `{"name":"carol","roleRef":{"kind":"Role","name":"abc-reader"},"subjects":[{"kind":"User","name":"carol@example.com"}]}`},
	} {
		if code, body := f.g.rest("POST", r.path, r.body, admin); code != 201 {
			t.Fatalf("%s: %d %s", r.path, code, body)
		}
	}
	carol := f.token(func(c map[string]any) { c["preferred_username"] = "carol@example.com" })
	eventually(t, "binding honoured", func() bool {
		return f.g.decide(req{method: "GET", path: "/api/v3/microservices/abc", headers: bearer(carol)}).status == 200
	})
	wantStatus(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices/def", headers: bearer(carol)}), 403)
	other := f.token(func(c map[string]any) { c["preferred_username"] = "carol" })
	wantStatus(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices/abc", headers: bearer(other)}), 403)
}

// TestRB10AdminService: the same rules over gRPC and the gateway's
// /v1/admin/roles and /v1/admin/rolebindings.
func TestRB10AdminService(t *testing.T) {
	a := newAdminGH(t)
	ctx := as(t, "Bearer "+a.root)
	c := a.admin
	rule := []*gatehousev1.RoleRule{{ApiGroups: []string{""}, Resources: []string{"microservices"}, Verbs: []string{"get"}}}
	tests := []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"create", func() error {
			_, err := c.CreateRole(ctx, &gatehousev1.CreateRoleRequest{Role: &gatehousev1.Role{Name: "reader", Rules: rule}})
			return err
		}, codes.OK},
		{"duplicate", func() error {
			_, err := c.CreateRole(ctx, &gatehousev1.CreateRoleRequest{Role: &gatehousev1.Role{Name: "reader", Rules: rule}})
			return err
		}, codes.AlreadyExists},
		{"system role name", func() error {
			_, err := c.CreateRole(ctx, &gatehousev1.CreateRoleRequest{Role: &gatehousev1.Role{Name: "agent-admin", Rules: rule}})
			return err
		}, codes.InvalidArgument},
		{"update a system role", func() error {
			_, err := c.UpdateRole(ctx, &gatehousev1.UpdateRoleRequest{Name: "admin", Rules: rule})
			return err
		}, codes.InvalidArgument},
		{"unknown role", func() error { _, err := c.GetRole(ctx, &gatehousev1.GetRoleRequest{Name: "nope"}); return err }, codes.NotFound},
		{"binding", func() error {
			_, err := c.CreateRoleBinding(ctx, &gatehousev1.CreateRoleBindingRequest{Binding: &gatehousev1.RoleBinding{
				Name: "b", RoleRef: "reader", Subjects: []*gatehousev1.Subject{{Kind: "User", Name: "alice"}}}})
			return err
		}, codes.OK},
		{"duplicate binding", func() error {
			_, err := c.CreateRoleBinding(ctx, &gatehousev1.CreateRoleBindingRequest{Binding: &gatehousev1.RoleBinding{
				Name: "b", RoleRef: "reader", Subjects: []*gatehousev1.Subject{{Kind: "User", Name: "alice"}}}})
			return err
		}, codes.AlreadyExists},
		{"unknown binding", func() error {
			_, err := c.DeleteRoleBinding(ctx, &gatehousev1.DeleteRoleBindingRequest{Name: "nope"})
			return err
		}, codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.code, "") })
	}
	auth := map[string]string{"Authorization": "Bearer " + a.root}
	code, body := a.g.rest("POST", "/v1/admin/roles", `{"name":"viewer","rules":[{"apiGroups":[""],"resources":["*"],"verbs":["get"]}]}`, auth)
	if code != 400 || jsonField(t, body, "name") != "ValidationError" {
		t.Fatalf("REST system role: %d %s", code, body)
	}
	code, body = a.g.rest("GET", "/v1/admin/rolebindings", "", auth)
	if code != 200 || !strings.Contains(body, `"roleRef":"reader"`) {
		t.Fatalf("REST bindings: %d %s", code, body)
	}
}

// TestAT12IssuedSecretsStoredAsDigests: the secret IssueToken returns is
// found by its SHA-256 digest and appears nowhere in the SQLite file.
func TestAT12IssuedSecretsStoredAsDigests(t *testing.T) {
	a := newAdminGH(t)
	ctx := as(t, "Bearer "+a.root)
	if _, err := a.admin.CreateUser(ctx, &gatehousev1.CreateUserRequest{Login: "svc"}); err != nil {
		t.Fatal(err)
	}
	got, err := a.admin.IssueToken(ctx, &gatehousev1.IssueTokenRequest{User: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.g.app.Store().TokenByDigest(context.Background(), secret.Digest(got.GetSecret()))
	if err != nil || tok.ID != got.GetToken().GetId() {
		t.Fatalf("by digest: %+v, %v", tok, err)
	}
	dir := filepath.Dir(filepath.Join(a.g.dataDir, app.SQLiteFile))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && strings.Contains(string(b), got.GetSecret()) {
			t.Fatalf("%s holds the secret", e.Name())
		}
	}
}

// TestRB14AdminAPIOnTwoReplicas: writes through one replica's AdminService
// (a role and binding, a token issued and then revoked) are honoured by a
// second replica on the same PostgreSQL.
func TestRB14AdminAPIOnTwoReplicas(t *testing.T) {
	url := testenv.PostgresSchemaURL(t, "gh_admin_replicas")
	iss := testenv.NewIssuer(t)
	policy := adminPolicyDir(t)
	a := start(t, externalEnv(t, iss, "DATABASE_URL", url, "POLICY_DIR", policy), true)
	b := start(t, externalEnv(t, iss, "DATABASE_URL", url, "POLICY_DIR", policy), true)
	f := &fixture{iss: iss, g: a}
	root := f.withGroups("admin")
	adminA := gatehousev1.NewAdminServiceClient(a.conn)
	rctx := as(t, "Bearer "+root)

	dave := f.token(func(c map[string]any) { c["preferred_username"] = "dave" })
	wantStatus(t, b.decide(req{method: "GET", path: "/api/v1/shows", headers: bearer(dave)}), 403)
	if _, err := adminA.CreateRole(rctx, &gatehousev1.CreateRoleRequest{Role: &gatehousev1.Role{Name: "show-reader",
		Rules: []*gatehousev1.RoleRule{{ApiGroups: []string{""}, Resources: []string{"shows"}, Verbs: []string{"list"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := adminA.CreateRoleBinding(rctx, &gatehousev1.CreateRoleBindingRequest{Binding: &gatehousev1.RoleBinding{Name: "dave",
		RoleRef: "show-reader", Subjects: []*gatehousev1.Subject{{Kind: "User", Name: "dave"}}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b honours a binding made through a", func() bool {
		return b.decide(req{method: "GET", path: "/api/v1/shows", headers: bearer(dave)}).status == 200
	})

	if _, err := adminA.CreateUser(rctx, &gatehousev1.CreateUserRequest{Login: "svc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := adminA.GrantPermissions(rctx, &gatehousev1.GrantPermissionsRequest{User: "svc", Codenames: []string{"view_show"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := adminA.IssueToken(rctx, &gatehousev1.IssueTokenRequest{User: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, b.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(tok.GetSecret())}), 200)
	if _, err := adminA.RevokeToken(rctx, &gatehousev1.RevokeTokenRequest{User: "svc", Id: tok.GetToken().GetId()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b refuses a token revoked through a", func() bool {
		return b.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(tok.GetSecret())}).status == 401
	})
}

package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/policies"
	"github.com/gatehouse-authz/gatehouse/store"
)

// auraPolicyDir is the default policy with the small AURA-style catalog
// (Django codenames on /api/v1 routes) in place of the Controller's.
func auraPolicyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(policies.Default, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		b, err := fs.ReadFile(policies.Default, p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dir, p), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "policies", "testdata", "aura", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "gatehouse", "catalog", "data.yaml"), string(b))
	return dir
}

func tokenHeader(s string) map[string]string { return map[string]string{"authorization": "Token " + s} }

func basicHeader(user, pw string) map[string]string {
	return map[string]string{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))}
}

// newToken stores an API token for login and returns its secret.
func newToken(t *testing.T, st store.Store, login string, perms []string) (string, gatehouse.APIToken) {
	t.Helper()
	ctx := context.Background()
	u, err := st.GetUserByLogin(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	s, err := secret.RandomToken(32)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.CreateToken(ctx, gatehouse.APIToken{UserID: u.ID, Digest: secret.Digest(s), Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

func mustUser(t *testing.T, st store.Store, u gatehouse.User) gatehouse.User {
	t.Helper()
	u, err := st.CreateUser(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func detail(t *testing.T, o outcome) string {
	t.Helper()
	var b struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal([]byte(o.body), &b); err != nil {
		t.Fatalf("body %q: %v", o.body, err)
	}
	return b.Detail
}

// eventually polls cond for up to 10 s: a bounded loop, not a timing
// assertion (RB-14's "within a second" is the store's poll interval).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within 10 s", what)
}

func TestAPITokens(t *testing.T) {
	iss := testenv.NewIssuer(t)
	g := start(t, externalEnv(t, iss, "POLICY_DIR", auraPolicyDir(t)), true)
	st := g.app.Store()
	ctx := context.Background()
	u := mustUser(t, st, gatehouse.User{Login: "media_store"})
	if _, err := st.CreateGroup(ctx, "Host"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, "Host", u.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeGroup, Name: "Host"}, "view_show"); err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, "add_episode"); err != nil {
		t.Fatal(err)
	}
	full, _ := newToken(t, st, "media_store", nil)
	narrow, _ := newToken(t, st, "media_store", []string{"view_show"})

	t.Run("AT01 a token carries its user's permissions, direct and through groups", func(t *testing.T) {
		o := g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(full)})
		wantStatus(t, o, 200)
		if o.subject != "media_store" || o.upstream["x-gatehouse-identity-kind"] != "token" || o.groups != "Host" {
			t.Fatalf("upstream %v", o.upstream)
		}
		wantStatus(t, g.decide(req{method: "POST", path: "/api/v1/shows/7/episodes", headers: tokenHeader(full)}), 200)
	})
	t.Run("a token's subset narrows its permissions", func(t *testing.T) {
		wantStatus(t, g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(narrow)}), 200)
		wantStatus(t, g.decide(req{method: "POST", path: "/api/v1/shows/7/episodes", headers: tokenHeader(narrow)}), 403)
	})
	t.Run("AT07 permission missing: 403 with the DRF body", func(t *testing.T) {
		o := g.decide(req{method: "DELETE", path: "/api/v1/shows/7", headers: tokenHeader(full)})
		wantReason(t, o, 403, "PERMISSION_DENIED")
		if d := detail(t, o); d != "You do not have permission to perform this action." {
			t.Fatalf("detail %q", d)
		}
	})
	t.Run("AT02 header errors", func(t *testing.T) {
		tests := []struct{ header, detail string }{
			{"Token", "Invalid token header. No credentials provided."},
			{"Token a b", "Invalid token header. Token string should not contain spaces."},
			{"Token not-a-known-token", "Invalid token."},
		}
		for _, tt := range tests {
			o := g.decide(req{method: "GET", path: "/api/v1/shows", headers: map[string]string{"authorization": tt.header}})
			wantStatus(t, o, 401)
			if d := detail(t, o); d != tt.detail || o.client["www-authenticate"] != "Token" {
				t.Fatalf("%q: detail %q, www-authenticate %q", tt.header, d, o.client["www-authenticate"])
			}
		}
	})
	t.Run("AT04 the keyword is case-insensitive", func(t *testing.T) {
		o := g.decide(req{method: "GET", path: "/api/v1/shows", headers: map[string]string{"authorization": "token " + full}})
		wantStatus(t, o, 200)
	})
	t.Run("AT03 an inactive user's token is refused, promptly", func(t *testing.T) {
		other := mustUser(t, st, gatehouse.User{Login: "leaver"})
		if err := st.Grant(ctx, gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: other.ID}, "view_show"); err != nil {
			t.Fatal(err)
		}
		s, _ := newToken(t, st, "leaver", nil)
		wantStatus(t, g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(s)}), 200) // now cached
		if _, err := st.UpdateUser(ctx, other.ID, func(u *gatehouse.User) error { u.Disabled = true; return nil }); err != nil {
			t.Fatal(err)
		}
		eventually(t, "disabled user refused", func() bool {
			return g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(s)}).status == 401
		})
		if d := detail(t, g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(s)})); d != "User inactive or deleted." {
			t.Fatalf("detail %q", d)
		}
	})
	t.Run("revocation is honoured promptly", func(t *testing.T) {
		s, tok := newToken(t, st, "media_store", nil)
		wantStatus(t, g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(s)}), 200)
		if err := st.RevokeToken(ctx, tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		eventually(t, "revoked token refused", func() bool {
			return g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(s)}).status == 401
		})
	})
	t.Run("AT12 only digests are stored", func(t *testing.T) {
		dir := filepath.Dir(filepath.Join(g.dataDir, app.SQLiteFile))
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			if bytes.Contains(b, []byte(full)) || bytes.Contains(b, []byte(narrow)) {
				t.Fatalf("%s holds a token secret", e.Name())
			}
		}
	})
	t.Run("RB15 a store outage with nothing cached denies with 503", func(t *testing.T) {
		s, _ := newToken(t, st, "media_store", nil) // never used: not cached
		st.Close()
		o := g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(s)})
		wantReason(t, o, 503, "STORE_UNAVAILABLE")
	})
}

func TestAT05Basic(t *testing.T) {
	iss := testenv.NewIssuer(t)
	g := start(t, externalEnv(t, iss, "POLICY_DIR", auraPolicyDir(t)), true)
	st := g.app.Store()
	hash, err := password.Hash("correct horse battery", password.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, st, gatehouse.User{Login: "steering", PasswordHash: hash})
	if err := st.Grant(context.Background(), gatehouse.Grantee{Kind: gatehouse.GranteeUser, Name: u.ID}, "view_show"); err != nil {
		t.Fatal(err)
	}
	o := g.decide(req{method: "GET", path: "/api/v1/shows", headers: basicHeader("steering", "correct horse battery")})
	wantStatus(t, o, 200)
	if o.upstream["x-gatehouse-identity-kind"] != "basic" || o.subject != "steering" {
		t.Fatalf("upstream %v", o.upstream)
	}
	for _, tt := range []struct {
		name    string
		headers map[string]string
		detail  string
	}{
		{"wrong password", basicHeader("steering", "wrong"), "Invalid username/password."},
		{"unknown user", basicHeader("nobody", "correct horse battery"), "Invalid username/password."},
		{"malformed base64", map[string]string{"authorization": "Basic %%%"}, "Invalid basic header. Credentials not correctly base64 encoded."},
	} {
		o := g.decide(req{method: "GET", path: "/api/v1/shows", headers: tt.headers})
		wantStatus(t, o, 401)
		if d := detail(t, o); d != tt.detail || o.client["www-authenticate"] != `Basic realm="api"` {
			t.Fatalf("%s: detail %q, www-authenticate %q", tt.name, d, o.client["www-authenticate"])
		}
	}
}

func TestAuthTokensEnv(t *testing.T) {
	const s1 = "media-store-secret-0123456789"
	iss := testenv.NewIssuer(t)
	dataDir := t.TempDir()
	policyDir := auraPolicyDir(t)
	env := func(tokens string) map[string]string {
		e := externalEnv(t, iss, "POLICY_DIR", policyDir, "AUTH_TOKENS", tokens)
		e["DATA_DIR"] = dataDir
		return e
	}
	line := "media_store:" + s1 + ":add_show&change_show&view_episode"
	t.Run("AT08 a line makes the user, its exact permissions and its token", func(t *testing.T) {
		g := start(t, env("# services\n"+line+"\n"), true)
		o := g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(s1)})
		wantStatus(t, o, 200)
		wantStatus(t, g.decide(req{method: "GET", path: "/api/v1/shows", headers: tokenHeader(s1)}), 403)
		g.stop()
	})
	t.Run("AT11 a restart with the same lines changes nothing", func(t *testing.T) {
		g := start(t, env(line), true)
		us, _ := g.app.Store().ListUsers(context.Background())
		ts, _ := g.app.Store().ListTokens(context.Background(), "")
		if len(us) != 1 || len(ts) != 1 {
			t.Fatalf("%d users, %d tokens after a restart", len(us), len(ts))
		}
		wantStatus(t, g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(s1)}), 200)
		g.stop()
	})
	t.Run("AT11 a removed line's token stops working", func(t *testing.T) {
		g := start(t, env(""), true)
		wantStatus(t, g.decide(req{method: "POST", path: "/api/v1/shows", headers: tokenHeader(s1)}), 401)
		g.stop()
	})
	for _, tt := range []struct{ name, value, want string }{
		{"AT09 a duplicate secret", line + "\nengine:" + s1 + ":view_show", "AUTH_TOKENS line 2"},
		{"AT10 a malformed line", line + "\nengine:" + s1 + "-other", "AUTH_TOKENS line 2"},
		{"AT10 an unknown codename", "media_store:" + s1 + ":fly_show", "AUTH_TOKENS line 1"},
	} {
		t.Run(tt.name+" stops start-up", func(t *testing.T) {
			e := env(tt.value)
			e["GRPC_ADDR"], e["HTTP_ADDR"] = "127.0.0.1:0", "127.0.0.1:0"
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := e[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			_, err = app.New(context.Background(), cfg, discardLogger())
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), s1) {
				t.Fatalf("error %v, want %q and no secret", err, tt.want)
			}
		})
	}
}

func TestRoleBindings(t *testing.T) {
	f := newFixture(t)
	st := f.g.app.Store()
	ctx := context.Background()
	alice := f.token(func(c map[string]any) {
		delete(c, "preferred_username")
		c["email"] = "alice@example.com"
	})
	aliceByName := f.token(func(c map[string]any) { c["preferred_username"] = "alice" })
	platform := f.withGroups("Platform-Admins")
	carol := f.token(func(c map[string]any) { c["preferred_username"] = "carol" })

	wantStatus(t, f.g.decide(req{method: "POST", path: "/api/v3/microservices", headers: bearer(alice)}), 403)
	if _, err := st.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "alice-dev", RoleRef: "developer",
		Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectUser, Name: "alice@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "platform", RoleRef: "sre",
		Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectGroup, Name: "platform-admins"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRole(ctx, gatehouse.Role{Name: "abc-reader", Rules: []gatehouse.RoleRule{
		{Resources: []string{"microservices"}, Verbs: []string{"get"}, ResourceNames: []string{"abc"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "carol-abc", RoleRef: "abc-reader",
		Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectUser, Name: "carol"}}}); err != nil {
		t.Fatal(err)
	}
	t.Run("RB14 a change is honoured without restart", func(t *testing.T) {
		eventually(t, "binding honoured", func() bool {
			return f.g.decide(req{method: "POST", path: "/api/v3/microservices", headers: bearer(alice)}).status == 200
		})
	})
	t.Run("RB07 a User binding matches the subject exactly", func(t *testing.T) {
		wantStatus(t, f.g.decide(req{method: "POST", path: "/api/v3/microservices", headers: bearer(aliceByName)}), 403)
	})
	t.Run("RB08 a Group binding matches the lower-cased group", func(t *testing.T) {
		// Bindings land asynchronously (RB-14): wait for this one as well.
		eventually(t, "group binding honoured", func() bool {
			return f.g.decide(req{method: "PATCH", path: "/api/v3/iofog/f1", headers: bearer(platform)}).status == 200
		})
	})
	t.Run("RB09 resourceNames limit the rule to instances", func(t *testing.T) {
		eventually(t, "carol's binding honoured", func() bool {
			return f.g.decide(req{method: "GET", path: "/api/v3/microservices/abc", headers: bearer(carol)}).status == 200
		})
		wantStatus(t, f.g.decide(req{method: "GET", path: "/api/v3/microservices/def", headers: bearer(carol)}), 403)
	})
	t.Run("RB10 system role names are refused, duplicates conflict", func(t *testing.T) {
		for _, name := range []string{"admin", "sre", "developer", "viewer", "agent-admin", "microservice"} {
			if _, err := st.CreateRole(ctx, gatehouse.Role{Name: name}); !errors.Is(err, gatehouse.ErrConflict) {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if _, err := st.CreateRole(ctx, gatehouse.Role{Name: "abc-reader"}); !errors.Is(err, gatehouse.ErrAlreadyExists) {
			t.Fatalf("duplicate role: %v", err)
		}
		if _, err := st.CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "platform", RoleRef: "viewer"}); !errors.Is(err, gatehouse.ErrAlreadyExists) {
			t.Fatalf("duplicate binding: %v", err)
		}
	})
	t.Run("removing a binding takes the rights away", func(t *testing.T) {
		if err := st.DeleteRoleBinding(ctx, "alice-dev"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "binding removal honoured", func() bool {
			return f.g.decide(req{method: "POST", path: "/api/v3/microservices", headers: bearer(alice)}).status == 403
		})
	})
}

// TestRB14ReplicasOnPostgres runs two Gatehouse processes on one PostgreSQL
// schema: a binding made and a token revoked through one are honoured by the
// other.
func TestRB14ReplicasOnPostgres(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresSchemaURL(t, "gh_replicas")
	iss := testenv.NewIssuer(t)
	a := start(t, externalEnv(t, iss, "DATABASE_URL", url), true)
	b := start(t, externalEnv(t, iss, "DATABASE_URL", url), true)
	f := &fixture{iss: iss, g: b}
	dave := f.token(func(c map[string]any) { c["preferred_username"] = "dave" })
	wantStatus(t, b.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(dave)}), 403)
	if _, err := a.app.Store().CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "dave", RoleRef: "viewer",
		Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectUser, Name: "dave"}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b honours a binding made on a", func() bool {
		return b.decide(req{method: "GET", path: "/api/v3/application", headers: bearer(dave)}).status == 200
	})

	u := mustUser(t, a.app.Store(), gatehouse.User{Login: "svc"})
	if _, err := a.app.Store().CreateRoleBinding(ctx, gatehouse.RoleBinding{Name: "svc", RoleRef: "viewer",
		Subjects: []gatehouse.Subject{{Kind: gatehouse.SubjectUser, Name: "svc"}}}); err != nil {
		t.Fatal(err)
	}
	s, tok := newToken(t, a.app.Store(), u.Login, nil)
	eventually(t, "replica b accepts the token", func() bool {
		return b.decide(req{method: "GET", path: "/api/v3/application", headers: tokenHeader(s)}).status == 200
	})
	if err := a.app.Store().RevokeToken(ctx, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b refuses the token revoked on a", func() bool {
		return b.decide(req{method: "GET", path: "/api/v3/application", headers: tokenHeader(s)}).status == 401
	})
}

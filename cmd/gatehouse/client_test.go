package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/password"
)

// storedClient reads a client back from the store the CLI wrote to.
func storedClient(t *testing.T, dir, id string) (gatehouse.Client, error) {
	t.Helper()
	st, err := app.OpenStore(context.Background(), config.Storage{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.GetClient(context.Background(), id)
}

type cliStep struct {
	name           string
	args           []string
	code           int
	stdout, stderr string
}

func runSteps(t *testing.T, vars map[string]string, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		code, out, errs := runWith(t, vars, s.args...)
		if code != s.code || !strings.Contains(out, s.stdout) || !strings.Contains(errs, s.stderr) {
			t.Fatalf("%s: code %d stdout %q stderr %q", s.name, code, out, errs)
		}
	}
}

var createWeb = []string{"client", "create", "Web", "confidential", "--client-id", "web", "--client-secret", "s3cret-s3cret",
	"-r", "code", "-u", "https://app.example/cb", "-u", "https://app.example/cb2", "-p", "https://app.example/bye", "-p", "https://app.example/"}

func TestAC01CreateStoresEveryURI(t *testing.T) {
	dir := t.TempDir()
	runSteps(t, map[string]string{"DATA_DIR": dir}, []cliStep{{"create", createWeb, 0, "", "created confidential client web"}})
	c, err := storedClient(t, dir, "web")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Web" || c.Public ||
		!slices.Equal(c.ResponseTypes, []string{"code"}) ||
		!slices.Equal(c.RedirectURIs, []string{"https://app.example/cb", "https://app.example/cb2"}) ||
		!slices.Equal(c.PostLogoutRedirectURIs, []string{"https://app.example/bye", "https://app.example/"}) {
		t.Fatalf("stored %+v", c)
	}
	if ok, err := password.Verify(c.SecretHash, "s3cret-s3cret"); !ok || err != nil {
		t.Fatalf("secret hash %q does not verify: %v", c.SecretHash, err)
	}
}

func TestAC02DuplicateClientIDChangesNothing(t *testing.T) {
	dir := t.TempDir()
	again := slices.Clone(createWeb)
	again[2] = "Other" // a different name must not overwrite the first client
	runSteps(t, map[string]string{"DATA_DIR": dir}, []cliStep{
		{"create", createWeb, 0, "", ""},
		{"duplicate", again, exitFailure, "", `client id "web" already exists`},
	})
	c, err := storedClient(t, dir, "web")
	if err != nil || c.Name != "Web" || len(c.RedirectURIs) != 2 {
		t.Fatalf("stored %+v, %v", c, err)
	}
}

func TestAC04GeneratedIDAndSecretPrintedOnceStoredHashed(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runWith(t, map[string]string{"DATA_DIR": dir}, "client", "create", "Gen", "confidential", "-u", "https://gen.example/cb")
	if code != 0 || !strings.Contains(errs, "shown once") {
		t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
	}
	vals := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		vals[k] = v
	}
	id, sec := vals["client_id"], vals["client_secret"]
	if len(id) < 20 || len(sec) < 43 {
		t.Fatalf("generated id %q secret %q", id, sec)
	}
	c, err := storedClient(t, dir, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretHash == sec || !strings.HasPrefix(c.SecretHash, "$argon2id$") {
		t.Fatalf("secret stored as %q", c.SecretHash)
	}
	if ok, err := password.Verify(c.SecretHash, sec); !ok || err != nil {
		t.Fatalf("printed secret does not verify: %v", err)
	}
	if !slices.Equal(c.ResponseTypes, []string{"code"}) {
		t.Fatalf("default response types %v", c.ResponseTypes)
	}

	// A public client gets a generated id but no secret, and may not be given one.
	code, out, _ = runWith(t, map[string]string{"DATA_DIR": dir}, "client", "create", "SPA", "public", "-u", "https://spa.example/cb")
	if code != 0 || !strings.Contains(out, "client_id=") || strings.Contains(out, "client_secret") {
		t.Fatalf("public: code %d stdout %q", code, out)
	}
	pub, err := storedClient(t, dir, strings.TrimPrefix(strings.TrimSpace(out), "client_id="))
	if err != nil || !pub.Public || pub.SecretHash != "" {
		t.Fatalf("public stored %+v, %v", pub, err)
	}
}

func TestAC07DeleteFreesTheClientID(t *testing.T) {
	dir := t.TempDir()
	runSteps(t, map[string]string{"DATA_DIR": dir}, []cliStep{
		{"create", createWeb, 0, "", ""},
		{"list", []string{"client", "list"}, 0, "https://app.example/cb,https://app.example/cb2", ""},
		{"delete", []string{"client", "delete", "web"}, 0, "", ""},
		{"delete unknown", []string{"client", "delete", "web"}, exitFailure, "", `client "web" not found`},
		{"create again", createWeb, 0, "", ""},
	})
	if _, err := storedClient(t, dir, "web"); err != nil {
		t.Fatal(err)
	}
}

func TestClientUsageErrors(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"DATA_DIR": dir}
	create := func(extra ...string) []string {
		return append([]string{"client", "create", "X", "public", "--client-id", "x"}, extra...)
	}
	runSteps(t, vars, []cliStep{
		{"help", []string{"client", "--help"}, 0, "client create NAME", ""},
		{"create help", []string{"client", "create", "--help"}, 0, "-u redirect URI", ""},
		{"delete help", []string{"client", "delete", "--help"}, 0, "client delete ID", ""},
		{"no command", []string{"client"}, exitUsage, "", "missing command"},
		{"no positionals", []string{"client", "create", "-u", "https://a.example/"}, exitUsage, "", "NAME"},
		{"bad type", []string{"client", "create", "X", "secret", "-u", "https://a.example/"}, exitUsage, "", "public or confidential"},
		{"no redirect", create(), exitUsage, "", "-u/--redirect-uri"},
		{"public with secret", create("--client-secret", "s", "-u", "https://a.example/"), exitUsage, "", "--client-secret"},
		{"http refused", create("-u", "http://localhost:3000/cb"), exitUsage, "", "AUTH_INSECURE_ALLOW_HTTP"},
		{"relative", create("-u", "/cb"), exitUsage, "", "absolute"},
		{"fragment", create("-u", "https://a.example/cb#x"), exitUsage, "", "fragment"},
		{"bad logout", create("-u", "https://a.example/", "-p", "ftp://a.example/"), exitUsage, "", "-p/--post-logout-redirect-uri"},
		{"bad response type", create("-u", "https://a.example/", "-r", "code device"), exitUsage, "", "-r/--response-type"},
		{"none alone", create("-u", "https://a.example/", "-r", "none code"), exitUsage, "", "none"},
		{"stray positional", create("-u", "https://a.example/", "extra"), exitUsage, "", "extra"},
		{"delete needs an id", []string{"client", "delete"}, exitUsage, "", "ID"},
		{"nothing was stored", []string{"client", "list"}, 0, "ID", ""},
	})
	if _, err := storedClient(t, dir, "x"); err == nil {
		t.Fatal("a refused create stored the client")
	}
	vars["AUTH_INSECURE_ALLOW_HTTP"] = "true"
	runSteps(t, vars, []cliStep{{"http allowed for development", create("-r", "code", "-r", "id_token token", "-u", "http://localhost:3000/cb"), 0, "", ""}})
	c, err := storedClient(t, dir, "x")
	if err != nil || !slices.Equal(c.ResponseTypes, []string{"code", "id_token token"}) {
		t.Fatalf("stored %+v, %v", c, err)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/store"
)

const clientCreateSynopsis = "client create NAME public|confidential [--client-id ID] [--client-secret S] [-r TYPE]... -u URI... [-p URI]..."

func clientCommands() []subcommand {
	return []subcommand{
		{"create", "client create NAME public|confidential [flags]", "register an OIDC client; flags: --client-id ID, --client-secret S, -r response type..., -u redirect URI... (required), -p post-logout redirect URI...; a generated id or secret is printed once", clientCreate},
		{"delete", "client delete ID...", "remove OIDC clients", clientDelete},
		{"list", "client list", "list OIDC clients (never their secrets)", clientList},
	}
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func clientCreate(ctx context.Context, env environment, st store.Store, args []string) error {
	fs := newFlags(env, "client create", clientCreateSynopsis)
	id := fs.String("client-id", "", "client id; generated (and printed) when empty")
	sec := fs.String("client-secret", "", "secret of a confidential client; generated (and printed) when empty")
	var types, redirects, logouts stringList
	// Short and long names share one list, so -u a --redirect-uri b gives both.
	for _, f := range []struct {
		short, long, usage string
		list               *stringList
	}{
		{"r", "response-type", "response type, e.g. code or \"code id_token\" (repeatable; default code)", &types},
		{"u", "redirect-uri", "redirect URI (repeatable; at least one)", &redirects},
		{"p", "post-logout-redirect-uri", "post-logout redirect URI (repeatable)", &logouts},
	} {
		fs.Var(f.list, f.short, f.usage)
		fs.Var(f.list, f.long, "same as -"+f.short)
	}
	// flag stops at the first non-flag, so the two positionals are taken first.
	if len(args) < 2 || strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[1], "-") {
		return fmt.Errorf("%w: %s", errUsage, clientCreateSynopsis)
	}
	name, kind := args[0], args[1]
	if err := parse(fs, args[2:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected %q (NAME and TYPE come first, then flags)", errUsage, fs.Arg(0))
	}
	if kind != "public" && kind != "confidential" {
		return fmt.Errorf("%w: TYPE must be public or confidential, got %q", errUsage, kind)
	}
	c := gatehouse.Client{ClientID: *id, Name: name, Public: kind == "public"}
	if c.Public && *sec != "" {
		return fmt.Errorf("%w: --client-secret: a public client has no secret (it uses PKCE)", errUsage)
	}
	if strings.ContainsAny(c.ClientID, " \t\r\n") {
		return fmt.Errorf("%w: --client-id must not contain whitespace", errUsage)
	}
	var err error
	if c.ResponseTypes, err = gatehouse.NormalizeResponseTypes(types); err != nil {
		return fmt.Errorf("%w: -r/--response-type %v", errUsage, err)
	}
	if len(redirects) == 0 {
		return fmt.Errorf("%w: -u/--redirect-uri: at least one redirect URI is required", errUsage)
	}
	allowHTTP := insecureHTTP(env)
	for _, f := range []struct {
		flag string
		uris []string
	}{{"-u/--redirect-uri", redirects}, {"-p/--post-logout-redirect-uri", logouts}} {
		for _, u := range f.uris {
			if err := gatehouse.CheckRedirectURI(u, allowHTTP); err != nil {
				return fmt.Errorf("%w: %s %q: %v", errUsage, f.flag, u, err)
			}
		}
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = redirects, logouts

	genID, genSecret := c.ClientID == "", !c.Public && *sec == ""
	if genID {
		if c.ClientID, err = secret.RandomToken(16); err != nil {
			return err
		}
	}
	if genSecret {
		if *sec, err = secret.RandomToken(32); err != nil {
			return err
		}
	}
	if !c.Public {
		// Only the hash is stored: a leaked store must not yield client secrets.
		if c.SecretHash, err = password.Hash(*sec, password.DefaultParams()); err != nil {
			return err
		}
	}
	if _, err := st.CreateClient(ctx, c); err != nil {
		if errors.Is(err, gatehouse.ErrAlreadyExists) {
			return fmt.Errorf("client id %q already exists", c.ClientID)
		}
		return err
	}
	fmt.Fprintf(env.stderr, "created %s client %s (%s)\n", kind, c.ClientID, name)
	if genID || genSecret {
		fmt.Fprintln(env.stderr, "generated values, shown once:")
	}
	if genID {
		fmt.Fprintf(env.stdout, "client_id=%s\n", c.ClientID)
	}
	if genSecret {
		fmt.Fprintf(env.stdout, "client_secret=%s\n", *sec)
	}
	return nil
}

// insecureHTTP reads AUTH_INSECURE_ALLOW_HTTP with the values config accepts.
func insecureHTTP(env environment) bool {
	v, _ := env.lookup("AUTH_INSECURE_ALLOW_HTTP")
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

func clientDelete(ctx context.Context, env environment, st store.Store, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: client delete ID...", errUsage)
	}
	for _, id := range args {
		if err := st.DeleteClient(ctx, id); err != nil {
			if errors.Is(err, gatehouse.ErrNotFound) {
				return fmt.Errorf("client %q not found", id)
			}
			return err
		}
	}
	return nil
}

func clientList(ctx context.Context, env environment, st store.Store, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: client list", errUsage)
	}
	cs, err := st.ListClients(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tTYPE\tREDIRECT URIS")
	for _, c := range cs {
		kind := "confidential"
		if c.Public {
			kind = "public"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.ClientID, c.Name, kind, strings.Join(c.RedirectURIs, ","))
	}
	return w.Flush()
}

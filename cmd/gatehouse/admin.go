package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/password"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
	"github.com/gatehouse-authz/gatehouse/store"
)

// subcommand is one verb of a noun command (user create, group add, …).
type subcommand struct {
	name, synopsis, help string
	run                  func(ctx context.Context, env environment, st store.Store, args []string) error
}

// runNoun dispatches to a subcommand with the configured store opened.
func runNoun(ctx context.Context, env environment, noun string, subs []subcommand, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(env.stdout, "Usage: gatehouse %s <command>\n\nCommands:\n", noun)
		for _, s := range subs {
			fmt.Fprintf(env.stdout, "  %-48s %s\n", s.synopsis, s.help)
		}
		if len(args) == 0 {
			return fmt.Errorf("%w: missing command", errUsage)
		}
		return nil
	}
	for _, s := range subs {
		if s.name != args[0] {
			continue
		}
		for _, a := range args[1:] {
			if a == "-h" || a == "--help" {
				fmt.Fprintf(env.stdout, "Usage: gatehouse %s\n\n%s\n", s.synopsis, s.help)
				return nil
			}
		}
		sc, err := config.LoadStorage(env.lookup)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		st, err := app.OpenStore(ctx, sc)
		if err != nil {
			return err
		}
		defer st.Close()
		return s.run(ctx, env, st, args[1:])
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func runMigrate(ctx context.Context, env environment, args []string) error {
	fs := newFlags(env, "migrate", "migrate\n\nApplies the store's migrations (the server also does at start).")
	if err := parse(fs, args); err != nil {
		return err
	}
	sc, err := config.LoadStorage(env.lookup)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	st, err := app.OpenStore(ctx, sc)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "store migrated (change version %d)\n", v)
	return nil
}

func userCommands() []subcommand {
	return []subcommand{
		{"create", "user create LOGIN [--email E] [--password-stdin]", "create a local user (a password read from stdin enables Basic auth)", userCreate},
		{"passwd", "user passwd LOGIN", "set a user's password, read from stdin", userPasswd},
		{"disable", "user disable LOGIN", "refuse every credential of the user", func(ctx context.Context, env environment, st store.Store, args []string) error {
			return setDisabled(ctx, st, args, true)
		}},
		{"enable", "user enable LOGIN", "accept the user's credentials again", func(ctx context.Context, env environment, st store.Store, args []string) error {
			return setDisabled(ctx, st, args, false)
		}},
		{"delete", "user delete LOGIN", "delete the user with its tokens, memberships and grants", userDelete},
		{"grant", "user grant LOGIN CODENAME...", "grant permission codenames to the user", func(ctx context.Context, env environment, st store.Store, args []string) error {
			return grant(ctx, st, args, gatehouse.GranteeUser)
		}},
		{"list", "user list", "list users", userList},
	}
}

func groupCommands() []subcommand {
	return []subcommand{
		{"create", "group create NAME", "create a group", func(ctx context.Context, env environment, st store.Store, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: group create NAME", errUsage)
			}
			_, err := st.CreateGroup(ctx, args[0])
			return err
		}},
		{"delete", "group delete NAME", "delete a group with its memberships and grants", func(ctx context.Context, env environment, st store.Store, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: group delete NAME", errUsage)
			}
			return st.DeleteGroup(ctx, args[0])
		}},
		{"add", "group add NAME LOGIN...", "add users to a group", func(ctx context.Context, env environment, st store.Store, args []string) error {
			return members(ctx, st, args, st.AddMember)
		}},
		{"remove", "group remove NAME LOGIN...", "remove users from a group", func(ctx context.Context, env environment, st store.Store, args []string) error {
			return members(ctx, st, args, st.RemoveMember)
		}},
		{"grant", "group grant NAME CODENAME...", "grant permission codenames to the group's members", func(ctx context.Context, env environment, st store.Store, args []string) error {
			return grant(ctx, st, args, gatehouse.GranteeGroup)
		}},
		{"list", "group list", "list groups", func(ctx context.Context, env environment, st store.Store, args []string) error {
			gs, err := st.ListGroups(ctx)
			if err != nil {
				return err
			}
			for _, g := range gs {
				fmt.Fprintln(env.stdout, g.Name)
			}
			return nil
		}},
	}
}

func tokenStoreCommands() []subcommand {
	return []subcommand{
		{"create", "token create LOGIN [--permissions a&b] [--ttl 720h] [--name N]", "make an API token; the secret is printed once", tokenCreate},
		{"revoke", "token revoke ID...", "revoke API tokens (every replica honours it within a second)", func(ctx context.Context, env environment, st store.Store, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("%w: token revoke ID...", errUsage)
			}
			for _, id := range args {
				if err := st.RevokeToken(ctx, id, time.Now()); err != nil {
					return fmt.Errorf("revoke %s: %w", id, err)
				}
			}
			return nil
		}},
		{"list", "token list [LOGIN]", "list API tokens (never their secrets)", tokenList},
	}
}

func userCreate(ctx context.Context, env environment, st store.Store, args []string) error {
	fs := newFlags(env, "user create", "user create LOGIN [--email E] [--password-stdin]")
	email := fs.String("email", "", "email address")
	pwStdin := fs.Bool("password-stdin", false, "read a password from standard input")
	login, err := oneArg(fs, args, "LOGIN")
	if err != nil {
		return err
	}
	u := gatehouse.User{Login: login, Email: *email}
	if *pwStdin {
		if u.PasswordHash, err = readPasswordHash(env); err != nil {
			return err
		}
	}
	u, err = st.CreateUser(ctx, u)
	if errors.Is(err, gatehouse.ErrAlreadyExists) {
		return fmt.Errorf("user %q already exists", login)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created user %s (id %s)\n", u.Login, u.ID)
	return nil
}

func userPasswd(ctx context.Context, env environment, st store.Store, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: user passwd LOGIN (password on stdin)", errUsage)
	}
	u, err := st.GetUserByLogin(ctx, args[0])
	if err != nil {
		return fmt.Errorf("user %q: %w", args[0], err)
	}
	hash, err := readPasswordHash(env)
	if err != nil {
		return err
	}
	_, err = st.UpdateUser(ctx, u.ID, func(u *gatehouse.User) error { u.PasswordHash = hash; return nil })
	return err
}

// readPasswordHash reads one line from stdin and hashes it: passwords never
// pass through argv, where ps and shell history would show them.
func readPasswordHash(env environment) (string, error) {
	if env.stdin == nil {
		return "", errors.New("no standard input to read the password from")
	}
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return "", errors.New("the password must have at least 8 characters")
	}
	return password.Hash(pw, password.DefaultParams())
}

func setDisabled(ctx context.Context, st store.Store, args []string, disabled bool) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: one LOGIN", errUsage)
	}
	u, err := st.GetUserByLogin(ctx, args[0])
	if err != nil {
		return fmt.Errorf("user %q: %w", args[0], err)
	}
	_, err = st.UpdateUser(ctx, u.ID, func(u *gatehouse.User) error { u.Disabled = disabled; return nil })
	return err
}

func userDelete(ctx context.Context, env environment, st store.Store, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: user delete LOGIN", errUsage)
	}
	u, err := st.GetUserByLogin(ctx, args[0])
	if err != nil {
		return fmt.Errorf("user %q: %w", args[0], err)
	}
	return st.DeleteUser(ctx, u.ID)
}

func userList(ctx context.Context, env environment, st store.Store, args []string) error {
	us, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "LOGIN\tID\tEMAIL\tPASSWORD\tDISABLED")
	for _, u := range us {
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%v\n", u.Login, u.ID, u.Email, u.PasswordHash != "", u.Disabled)
	}
	return w.Flush()
}

func grant(ctx context.Context, st store.Store, args []string, kind string) error {
	if len(args) < 2 {
		return fmt.Errorf("%w: NAME CODENAME...", errUsage)
	}
	name := args[0]
	if kind == gatehouse.GranteeUser {
		u, err := st.GetUserByLogin(ctx, name)
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		name = u.ID
	}
	for _, c := range args[1:] {
		if err := st.Grant(ctx, gatehouse.Grantee{Kind: kind, Name: name}, c); err != nil {
			return fmt.Errorf("grant %s: %w", c, err)
		}
	}
	return nil
}

func members(ctx context.Context, st store.Store, args []string, op func(context.Context, string, string) error) error {
	if len(args) < 2 {
		return fmt.Errorf("%w: NAME LOGIN...", errUsage)
	}
	for _, login := range args[1:] {
		u, err := st.GetUserByLogin(ctx, login)
		if err != nil {
			return fmt.Errorf("user %q: %w", login, err)
		}
		if err := op(ctx, args[0], u.ID); err != nil {
			return fmt.Errorf("%s: %w", login, err)
		}
	}
	return nil
}

func tokenCreate(ctx context.Context, env environment, st store.Store, args []string) error {
	fs := newFlags(env, "token create", "token create LOGIN [--permissions a&b] [--ttl 720h] [--name N]")
	perms := fs.String("permissions", "", "a subset of the user's permissions, joined by &")
	ttl := fs.Duration("ttl", 0, "lifetime; 0 means no expiry")
	name := fs.String("name", "", "a label for listings")
	login, err := oneArg(fs, args, "LOGIN")
	if err != nil {
		return err
	}
	if *ttl < 0 {
		return fmt.Errorf("%w: --ttl must not be negative", errUsage)
	}
	u, err := st.GetUserByLogin(ctx, login)
	if err != nil {
		return fmt.Errorf("user %q: %w", login, err)
	}
	t := gatehouse.APIToken{UserID: u.ID, Name: *name, Source: "api"}
	if *perms != "" {
		held, err := st.Permissions(ctx, u.ID)
		if err != nil {
			return err
		}
		t.Permissions = []string{}
		for _, p := range strings.Split(*perms, "&") {
			if !slices.Contains(held, p) {
				return fmt.Errorf("%s does not hold %q: a token never carries more than its user", login, p)
			}
			t.Permissions = append(t.Permissions, p)
		}
	}
	if *ttl > 0 {
		t.ExpiresAt = time.Now().Add(*ttl)
	}
	sec, err := secret.RandomToken(32)
	if err != nil {
		return err
	}
	t.Digest = secret.Digest(sec)
	t, err = st.CreateToken(ctx, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "token %s for %s; the secret below is shown once:\n", t.ID, login)
	fmt.Fprintln(env.stdout, sec)
	return nil
}

func tokenList(ctx context.Context, env environment, st store.Store, args []string) error {
	userID := ""
	if len(args) == 1 {
		u, err := st.GetUserByLogin(ctx, args[0])
		if err != nil {
			return fmt.Errorf("user %q: %w", args[0], err)
		}
		userID = u.ID
	} else if len(args) > 1 {
		return fmt.Errorf("%w: token list [LOGIN]", errUsage)
	}
	ts, err := st.ListTokens(ctx, userID)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSER\tNAME\tSOURCE\tEXPIRES\tREVOKED\tLAST USED")
	for _, t := range ts {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserID, t.Name, t.Source, when(t.ExpiresAt), when(t.RevokedAt), when(t.LastUsedAt))
	}
	return w.Flush()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

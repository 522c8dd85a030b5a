// Command gatehouse runs and administers Gatehouse.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes: 1 for a failure, 2 for a usage error.
const (
	exitFailure = 1
	exitUsage   = 2
)

// errUsage marks an error the user can fix by reading the help.
var errUsage = errors.New("usage error")

// command is one `gatehouse` subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env environment, args []string) error
}

// environment is what a command may touch, passed in so tests can run
// commands in-process.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
}

func commands() []command {
	return []command{
		{"serve", "run the Gatehouse server", runServe},
		{"token", "API tokens (create, revoke, list) and dev access tokens (mint)", runToken},
		{"user", "local users: create, passwd, disable, enable, delete, grant, list", func(ctx context.Context, env environment, args []string) error {
			return runNoun(ctx, env, "user", userCommands(), args)
		}},
		{"group", "groups: create, delete, add, remove, grant, list", func(ctx context.Context, env environment, args []string) error {
			return runNoun(ctx, env, "group", groupCommands(), args)
		}},
		{"client", "OIDC clients: create, delete, list", func(ctx context.Context, env environment, args []string) error {
			return runNoun(ctx, env, "client", clientCommands(), args)
		}},
		{"migrate", "apply the store's migrations", runMigrate},
		{"agent", "agent (fog) credentials: provision-key, list, delete", func(ctx context.Context, env environment, args []string) error {
			return runNoun(ctx, env, "agent", agentCommands(), args)
		}},
		{"config", "check: validate the configuration and print the effective one, secrets masked", runConfig},
		{"healthcheck", "probe the local server's /healthz (or /readyz); exit 0 when healthy", runHealthcheck},
		{"peer", "cluster peers: print a peer token, or send a signed peer request (curl)", runPeer},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, environment{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, lookup: os.LookupEnv}, os.Args[1:]))
}

func run(ctx context.Context, env environment, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			switch {
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintln(env.stderr, "gatehouse "+c.name+":", err)
				return exitUsage
			default:
				fmt.Fprintln(env.stderr, "gatehouse "+c.name+":", err)
				return exitFailure
			}
		}
	}
	fmt.Fprintf(env.stderr, "gatehouse: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Gatehouse: a central authorization decision service.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: gatehouse <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `gatehouse <command> --help` for the command's flags; `gatehouse serve --help` lists every environment variable.")
}

// newFlags returns a flag set that reports usage errors as errUsage.
func newFlags(env environment, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gatehouse %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, mapping failures to errUsage and --help to flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// oneArg parses flags around one positional argument (before or after the
// flags) and returns it.
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	var pos string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if pos == "" && fs.NArg() > 0 {
		pos = fs.Arg(0)
		if fs.NArg() > 1 {
			return "", fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(1))
		}
	} else if fs.NArg() > 0 {
		return "", fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	if pos == "" {
		return "", fmt.Errorf("%w: %s is required", errUsage, what)
	}
	return pos, nil
}

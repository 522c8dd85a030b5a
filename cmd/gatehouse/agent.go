package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-authz/gatehouse/provision"
	"github.com/gatehouse-authz/gatehouse/store"
)

func agentCommands() []subcommand {
	return []subcommand{
		{"provision-key", "agent provision-key AGENT [--ttl 20m]", "make a single-use provisioning key for an agent (by UUID or name; created if unknown); printed once", agentProvisionKey},
		{"list", "agent list", "list agents (never their keys)", agentList},
		{"delete", "agent delete AGENT", "delete an agent (by UUID or name) with its key; its tokens stop working", agentDelete},
	}
}

func agentProvisionKey(ctx context.Context, env environment, st store.Store, args []string) error {
	fs := newFlags(env, "agent provision-key", "agent provision-key AGENT [--ttl 20m]")
	ttl := fs.Duration("ttl", provision.DefaultKeyTTL, "how long the key stays usable")
	ref, err := oneArg(fs, args, "AGENT (a UUID or a name)")
	if err != nil {
		return err
	}
	if *ttl <= 0 {
		return fmt.Errorf("%w: --ttl must be positive", errUsage)
	}
	is, err := provision.IssueKey(ctx, st, ref, *ttl, time.Now())
	if err != nil {
		return err
	}
	// The key alone on stdout, for scripts; the rest on stderr.
	fmt.Fprintln(env.stdout, is.Key)
	fmt.Fprintf(env.stderr, "provisioning key for agent %s (uuid %s), single use, expires %s; it is not shown again\n",
		is.Agent.Name, is.Agent.ID, is.ExpiresAt.Format(time.RFC3339))
	return nil
}

func agentList(ctx context.Context, env environment, st store.Store, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("%w: agent list takes no arguments", errUsage)
	}
	as, err := st.ListAgents(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tUUID\tTYPE\tPROVISIONED\tLAST ACTIVE")
	for _, a := range as {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", a.Name, a.ID, a.ArchType, when(a.ProvisionedAt), when(a.LastActiveAt))
	}
	return w.Flush()
}

func agentDelete(ctx context.Context, env environment, st store.Store, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: agent delete AGENT", errUsage)
	}
	a, err := provision.FindAgent(ctx, st, args[0])
	if err != nil {
		return fmt.Errorf("agent %q: %w", args[0], err)
	}
	return st.DeleteAgent(ctx, a.ID)
}

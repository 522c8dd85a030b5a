package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/gatehouse-authz/gatehouse/config"
)

// withConfigFile layers a --config file under the environment.
func withConfigFile(lookup func(string) (string, bool), path string) (func(string) (string, bool), error) {
	if path == "" {
		return lookup, nil
	}
	return config.FileLookup(path, lookup)
}

func runConfig(ctx context.Context, env environment, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.stdout, "Usage: gatehouse config check [--config FILE]")
			return nil
		}
		return fmt.Errorf("%w: usage: gatehouse config check [--config FILE]", errUsage)
	}
	fs := newFlags(env, "config check", "config check [--config FILE]")
	configFile := fs.String("config", "", "YAML file of settings named like the environment variables; the environment wins")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	lookup, err := withConfigFile(env.lookup, *configFile)
	if err != nil {
		return err
	}
	if _, err := config.Load(lookup); err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "# Effective configuration (secrets masked)")
	for _, s := range config.Effective(lookup) {
		v := s.Value
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(tw, "%s=%s\t# %s\n", s.Name, v, s.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "configuration OK")
	return nil
}

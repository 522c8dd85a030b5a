package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/internal/gctune"
	"github.com/gatehouse-authz/gatehouse/internal/logbuf"
)

func runServe(ctx context.Context, env environment, args []string) error {
	fs := newFlags(env, "serve", "serve [--banner]\n\nConfiguration comes from environment variables:")
	banner := fs.Bool("banner", false, "print where Gatehouse listens and how to call it (make run)")
	configFile := fs.String("config", "", "YAML file of settings named like the environment variables; the environment wins")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: gatehouse serve [--banner] [--config FILE]")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output())
		printVars(fs.Output())
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	lookup, err := withConfigFile(env.lookup, *configFile)
	if err != nil {
		return err
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if *banner {
		if err := devAdmin(cfg); err != nil {
			return err
		}
	}
	// Lines (one per decision) are batched; warnings and errors are written
	// at once, and whatever waits is written when serve returns.
	logOut := logbuf.New(env.stderr, app.LogFlushInterval, app.LogBufferBytes)
	defer logOut.Close()
	log := slog.New(logbuf.Handler(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: cfg.LogLevel}), logOut))
	log.Info("garbage collector", "settings", gctune.Apply(env.lookup).String())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	gctune.Settle()
	log.Info("listening", "grpc", a.GRPCAddr(), "http", a.HTTPAddr(), "mode", cfg.Mode)
	if *banner {
		printBanner(env.stdout, cfg, a)
	}
	return a.Run(ctx)
}

// printVars lists every environment variable with its default.
func printVars(w io.Writer) {
	fmt.Fprintln(w, "Environment variables:")
	for _, v := range config.Vars {
		def := v.Default
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(w, "  %s (default %s)\n      %s\n", v.Name, def, strings.ReplaceAll(v.Help, "`", ""))
	}
}

func printBanner(w io.Writer, cfg *config.Config, a *app.App) {
	grpcAddr := reachable(a.GRPCAddr())
	httpAddr := reachable(a.HTTPAddr())
	fmt.Fprintf(w, `
Gatehouse is running (%s mode).
  gRPC  %s   envoy.service.auth.v3.Authorization, gatehouse.v1.AuthService, health, reflection
  HTTP  http://%s   POST /v1/check, /oidc/.well-known/openid-configuration, /healthz, /readyz, /metrics

Try it (grpcurl: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4):
  TOKEN=$(./bin/gatehouse token mint --sub alice --groups admin)
  grpcurl -plaintext -d '{"attributes":{"request":{"http":{"method":"GET","path":"/api/v3/microservices","headers":{"authorization":"Bearer '"$TOKEN"'"}}}}}' %s envoy.service.auth.v3.Authorization/Check
  curl -s http://%s/v1/check -d '{"method":"GET","path":"/api/v3/microservices"}'

`, cfg.Mode, grpcAddr, httpAddr, grpcAddr, httpAddr)
	printDevLogin(w, cfg, a, httpAddr)
}

// reachable turns a listen address into one a local client can dial (the
// banner's examples, the healthcheck's probe): a wildcard host becomes
// 127.0.0.1, which a dual-stack wildcard answers too and which needs no
// name resolution (the runtime image may have no hosts file); a named host
// is kept, since only it answers.
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// varDefault is the default of an environment variable of config.Vars.
func varDefault(name string) string {
	for _, v := range config.Vars {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

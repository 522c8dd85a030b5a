package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealthcheck probes the local server's /healthz (or /readyz with
// --ready) and fails unless it answers 200. It is the container image's
// HEALTHCHECK: the runtime image has no shell and no curl.
func runHealthcheck(ctx context.Context, env environment, args []string) error {
	fs := newFlags(env, "healthcheck", "healthcheck [--ready] [--url URL] [--timeout D]")
	ready := fs.Bool("ready", false, "probe /readyz (can decide) instead of /healthz (process alive)")
	target := fs.String("url", "", "URL to probe (default: http://127.0.0.1:<port of HTTP_ADDR>/healthz)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	u := *target
	if u == "" {
		addr, ok := env.lookup("HTTP_ADDR")
		if !ok || addr == "" {
			addr = varDefault("HTTP_ADDR")
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return fmt.Errorf("HTTP_ADDR: must be host:port or :port, got %q", addr)
		}
		path := "/healthz"
		if *ready {
			path = "/readyz"
		}
		u = "http://" + reachable(addr) + path
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: --url: %v", errUsage, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %d: %s", u, resp.StatusCode, body)
	}
	fmt.Fprintf(env.stdout, "ok %s\n", u)
	return nil
}

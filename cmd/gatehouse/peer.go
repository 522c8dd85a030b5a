package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/authn/peer"
)

// runPeer signs cluster-peer requests with PEER_SECRET and HOST_ID
// (docs/peer-auth.md).
func runPeer(ctx context.Context, env environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.stdout, `Usage: gatehouse peer <command>

Commands:
  token [--method M --url URL|--target T] [--data-file F]   print a peer token (bound to the request when one is named)
  curl --url URL [--method M] [--data-file F] [-H k:v]...   send a signed peer request and print the response body

Both read PEER_SECRET (the first secret signs) and HOST_ID (default: the system host name).
`)
		if len(args) == 0 {
			return fmt.Errorf("%w: missing command", errUsage)
		}
		return nil
	}
	switch args[0] {
	case "token":
		return peerToken(env, args[1:])
	case "curl":
		return peerCurl(ctx, env, args[1:])
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func peerSigner(env environment, ttl time.Duration) (*peer.Signer, error) {
	raw, _ := env.lookup("PEER_SECRET")
	secrets, err := peer.ParseSecrets(raw)
	if err != nil {
		return nil, fmt.Errorf("PEER_SECRET: %w", err)
	}
	if len(secrets) == 0 {
		return nil, errors.New("PEER_SECRET: not set")
	}
	host, _ := env.lookup("HOST_ID")
	s, err := peer.NewSigner(secrets[0], strings.TrimSpace(host))
	if err != nil {
		return nil, fmt.Errorf("HOST_ID: %w", err)
	}
	s.TTL = ttl
	return s, nil
}

func readData(env environment, name string) ([]byte, error) {
	switch name {
	case "":
		return nil, nil
	case "-":
		if env.stdin == nil {
			return nil, nil
		}
		return io.ReadAll(env.stdin)
	}
	return os.ReadFile(name)
}

func peerToken(env environment, args []string) error {
	fs := newFlags(env, "peer token", "peer token [--method M --url URL|--target T] [--data-file F] [--ttl D]\n\nPrints a fresh peer token. With --method and --url or --target it binds that request\n(htm, htp, hbs: docs/peer-auth.md).")
	method := fs.String("method", "", "HTTP method of the request to bind")
	rawURL := fs.String("url", "", "URL of the request to bind (its path and query are signed)")
	target := fs.String("target", "", "path with query of the request to bind, instead of --url")
	dataFile := fs.String("data-file", "", "body of the request to bind (- for stdin)")
	ttl := fs.Duration("ttl", peer.DefaultTTL, "token lifetime")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	s, err := peerSigner(env, *ttl)
	if err != nil {
		return err
	}
	t := *target
	if *rawURL != "" {
		u, err := url.Parse(*rawURL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%w: --url must be an absolute URL", errUsage)
		}
		t = u.RequestURI()
	}
	var tok string
	switch {
	case *method == "" && t == "" && *dataFile == "":
		tok, err = s.Token()
	case *method == "" || t == "":
		return fmt.Errorf("%w: binding a request needs --method and --url or --target", errUsage)
	default:
		body, rerr := readData(env, *dataFile)
		if rerr != nil {
			return rerr
		}
		tok, err = s.SignRequest(strings.ToUpper(*method), t, body)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, tok)
	return nil
}

// headerFlags collects repeated -H "name: value" flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

var _ flag.Value = (*headerFlags)(nil)

func peerCurl(ctx context.Context, env environment, args []string) error {
	fs := newFlags(env, "peer curl", "peer curl --url URL [--method M] [--data-file F] [-H 'k: v']... [--unbound]\n\nSends one request with \"Peer: true\" and a fresh token bound to it, prints the response\nbody, and fails on a status outside 2xx.")
	rawURL := fs.String("url", "", "request URL (required)")
	method := fs.String("method", "", "HTTP method (default POST with --data-file, else GET)")
	dataFile := fs.String("data-file", "", "request body (- for stdin)")
	unbound := fs.Bool("unbound", false, "send a token that binds no request (HORAO's format)")
	ttl := fs.Duration("ttl", peer.DefaultTTL, "token lifetime")
	timeout := fs.Duration("timeout", 30*time.Second, "request timeout")
	var headers headerFlags
	fs.Var(&headers, "H", "extra header `name: value` (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rawURL == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: --url is required", errUsage)
	}
	s, err := peerSigner(env, *ttl)
	if err != nil {
		return err
	}
	body, err := readData(env, *dataFile)
	if err != nil {
		return err
	}
	m := strings.ToUpper(*method)
	if m == "" {
		m = http.MethodGet
		if *dataFile != "" {
			m = http.MethodPost
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, m, *rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("%w: -H %q is not name: value", errUsage, h)
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	// Redirects are not followed: each hop would get a fresh token, and a
	// token handed to another host could be replayed to a real peer.
	client := &http.Client{Transport: &peer.Transport{Signer: s, SignRequests: !*unbound},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(env.stdout, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

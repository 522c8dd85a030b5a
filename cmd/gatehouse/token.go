package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
	"github.com/gatehouse-authz/gatehouse/token"
)

func runToken(ctx context.Context, env environment, args []string) error {
	if len(args) > 0 && args[0] == "mint" {
		return runTokenMint(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(env.stdout, "  %-48s %s\n", "token mint --sub S [--groups a,b] [--ttl 15m]", "mint a dev access token from the embedded issuer")
	}
	return runNoun(ctx, env, "token", tokenStoreCommands(), args)
}

// runTokenMint signs an access token with the key the server uses (the one
// in DATA_DIR), so a developer can try requests without an IdP.
func runTokenMint(ctx context.Context, env environment, args []string) error {
	fs := newFlags(env, "token mint", "token mint --sub SUBJECT [--groups a,b] [--ttl 15m] [--email E] [--aud AUD]")
	sub := fs.String("sub", "", "subject (sub and preferred_username claims); required")
	groups := fs.String("groups", "", "comma-separated groups claim, e.g. admin or viewer,developer")
	ttl := fs.Duration("ttl", 15*time.Minute, "lifetime")
	email := fs.String("email", "", "email claim")
	aud := fs.String("aud", "", "audience (default: the first of OIDC_AUDIENCES)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *sub == "" {
		return fmt.Errorf("%w: --sub is required", errUsage)
	}
	if *ttl <= 0 {
		return fmt.Errorf("%w: --ttl must be positive", errUsage)
	}
	lookup := env.lookup
	_, hasURL := lookup("CONTROLLER_PUBLIC_URL")
	_, hasAlias := lookup("PUBLIC_URL")
	if !hasURL && !hasAlias {
		// Nothing configured: mint for the server `make run` starts.
		fmt.Fprintln(env.stderr, "gatehouse token: no CONTROLLER_PUBLIC_URL; minting for make run's dev server (http://localhost:8080, DATA_DIR ./data)")
		lookup = func(k string) (string, bool) {
			switch k {
			case "CONTROLLER_PUBLIC_URL":
				return "http://localhost:8080", true
			case "AUTH_INSECURE_ALLOW_HTTP":
				return "true", true
			}
			return env.lookup(k)
		}
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.Mode != config.ModeEmbedded {
		return fmt.Errorf("AUTH_MODE=%s: tokens are minted by the embedded issuer only", cfg.Mode)
	}
	// The embedded issuer's current key, from the store (sealed with
	// AUTH_ENCRYPTION_KEY), as the server signs.
	st, err := app.OpenStore(ctx, config.Storage{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL})
	if err != nil {
		return err
	}
	defer st.Close()
	ring, _, err := app.OpenKeyRing(ctx, cfg, st)
	if err != nil {
		return err
	}
	signer := ring.Signer()
	audience := *aud
	if audience == "" {
		audience = cfg.Audiences[0]
	}
	var gs []string
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	tok, err := signer.MintAccess(token.AccessClaims{
		Issuer: cfg.EmbeddedIssuer(), Audience: audience, Subject: *sub, Email: *email, Groups: gs, TTL: *ttl,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, tok)
	return nil
}

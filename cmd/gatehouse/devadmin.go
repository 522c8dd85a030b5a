package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/internal/app"
)

// devAdminFile keeps make run's dev admin password in DATA_DIR.
const devAdminFile = "dev-admin-password"

// devAdmin gives make run (serve --banner, embedded mode, no bootstrap
// admin configured) a bootstrap admin "admin" whose random password is
// generated once and kept in DATA_DIR, so it survives restarts.
func devAdmin(cfg *config.Config) error {
	e := &cfg.Embedded
	if cfg.Mode != config.ModeEmbedded || e.BootstrapUsername != "" {
		return nil
	}
	path := filepath.Join(cfg.DataDir, devAdminFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return err
		}
		b = []byte(randomPassword())
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	e.BootstrapUsername, e.BootstrapPassword = "admin", strings.TrimSpace(string(b))
	return nil
}

// randomPassword is 20 characters from a policy-satisfying alphabet,
// starting with one of each required class.
func randomPassword() string {
	const (
		upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower = "abcdefghijkmnpqrstuvwxyz"
		digit = "23456789"
	)
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	out := []byte{upper[int(b[0])%len(upper)], lower[int(b[1])%len(lower)], digit[int(b[2])%len(digit)]}
	all := upper + lower + digit
	for _, x := range b[3:] {
		out = append(out, all[int(x)%len(all)])
	}
	return string(out)
}

// printDevLogin prints the embedded issuer's part of the banner.
func printDevLogin(w io.Writer, cfg *config.Config, a *app.App, httpAddr string) {
	if cfg.Mode != config.ModeEmbedded {
		return
	}
	e := cfg.Embedded
	fmt.Fprintf(w, `Embedded issuer:
  discovery  %s/.well-known/openid-configuration
  dev admin  %s / %s   (password kept in %s)
  CLI login  curl -s http://%s/api/v3/user/login -H 'Content-Type: application/json' -d '{"email":"%s","password":"%s","totp":""}'
  OAuth      curl -s -u %s:%s http://%s/oidc/token -d grant_type=password -d username=%s -d password=%s -d scope=openid
  Browser    %s/api/v3/user/oauth/authorize signs in on the login page and lands at %s/login#accessToken=…

`, cfg.EmbeddedIssuer(), e.BootstrapUsername, e.BootstrapPassword, filepath.Join(cfg.DataDir, devAdminFile),
		httpAddr, e.BootstrapUsername, e.BootstrapPassword,
		cfg.ClientID, a.BuiltinClientSecret(), httpAddr, e.BootstrapUsername, e.BootstrapPassword, cfg.PublicURL, cfg.ConsoleURL)
}

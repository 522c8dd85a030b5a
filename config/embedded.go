package config

import (
	"encoding/base64"
	"errors"
	"strconv"
	"time"
)

// Embedded is the embedded issuer's configuration (AUTH_MODE=embedded).
type Embedded struct {
	// EncryptionKey seals signing keys and TOTP secrets at rest; nil means
	// generate one into DATA_DIR (SQLite only).
	EncryptionKey []byte
	// InteractionURL is where browsers log in; empty means Gatehouse's own
	// login page. The interaction id is appended as ?interaction=<uid>.
	InteractionURL string
	ReuseInterval  time.Duration
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	InteractionTTL time.Duration
	GrantTTL       time.Duration
	SessionTTL     time.Duration
	IDTokenTTL     time.Duration
	// RotateEvery is the scheduled key rotation interval (0: off).
	RotateEvery time.Duration
	// Bootstrap admin (OIDC_BOOTSTRAP_ADMIN_*).
	BootstrapUsername string
	BootstrapPassword string
	BootstrapLog      bool
}

// embedded reads the embedded issuer's variables (read in both modes, so a
// bad value is reported whatever the mode).
func (p *parser) embedded(c *Config) Embedded {
	e := Embedded{
		InteractionURL:    p.str("AUTH_INTERACTION_URL", ""),
		ReuseInterval:     p.seconds("AUTH_REFRESH_REUSE_INTERVAL_SECONDS", 10, true),
		RotateEvery:       p.seconds("AUTH_JWKS_ROTATION_INTERVAL_SECONDS", 0, true),
		AccessTTL:         p.seconds("AUTH_ACCESS_TOKEN_TTL_SECONDS", 900, false),
		RefreshTTL:        p.seconds("AUTH_REFRESH_TOKEN_TTL_SECONDS", 3600, false),
		BootstrapUsername: p.str("OIDC_BOOTSTRAP_ADMIN_USERNAME", ""),
		BootstrapPassword: p.str("OIDC_BOOTSTRAP_ADMIN_PASSWORD", ""),
		BootstrapLog:      p.boolean("AUTH_INSECURE_ALLOW_BOOTSTRAP_LOG", false),
	}
	// CF-12: each TTL defaults to the one before it in the chain.
	e.InteractionTTL = p.seconds("AUTH_OIDC_INTERACTION_TTL_SECONDS", 600, false)
	e.GrantTTL = p.seconds("AUTH_OIDC_GRANT_TTL_SECONDS", int(e.InteractionTTL/time.Second), false)
	e.SessionTTL = p.seconds("AUTH_OIDC_SESSION_TTL_SECONDS", int(e.RefreshTTL/time.Second), false)
	e.IDTokenTTL = p.seconds("AUTH_OIDC_ID_TOKEN_TTL_SECONDS", int(e.AccessTTL/time.Second), false)
	if e.InteractionURL != "" {
		p.checkURL("AUTH_INTERACTION_URL", e.InteractionURL, c.InsecureAllowHTTP)
	}
	if raw := p.str("AUTH_ENCRYPTION_KEY", ""); raw != "" {
		key, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(raw)
		}
		if err != nil || len(key) != 32 {
			// Never echo the value.
			p.errs = append(p.errs, errors.New("AUTH_ENCRYPTION_KEY: must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)"))
		} else {
			e.EncryptionKey = key
		}
	}
	if c.Mode == ModeEmbedded && c.DatabaseURL != "" && e.EncryptionKey == nil {
		p.fail("AUTH_ENCRYPTION_KEY", "is required with DATABASE_URL in embedded mode: every replica must unseal the same signing keys")
	}
	if (e.BootstrapUsername == "") != (e.BootstrapPassword == "") {
		p.fail("OIDC_BOOTSTRAP_ADMIN_USERNAME", "and OIDC_BOOTSTRAP_ADMIN_PASSWORD must be set together")
	}
	return e
}

// seconds reads a whole number of seconds: positive, or zero too when
// zeroOK. Fractions are floored, as the Controller does.
func (p *parser) seconds(name string, def int, zeroOK bool) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return time.Duration(def) * time.Second
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || (f < 1 && !zeroOK) || f > 1e9 {
		if zeroOK {
			p.fail(name, "must be a non-negative number of seconds, got %q", v)
		} else {
			p.fail(name, "must be a positive number, got %q", v)
		}
		return time.Duration(def) * time.Second
	}
	return time.Duration(int64(f)) * time.Second
}

package config

import (
	"net/netip"
	"strings"
	"testing"
)

// fuzzSecretMarker is put into every Secret variable: no error may echo it.
const fuzzSecretMarker = "Zq7SECRETmarker9x"

// FuzzLoad feeds fuzzed values to the variables with a grammar (durations,
// booleans, integers and ratios, comma lists, IP/CIDR lists, URLs, listen
// addresses, header names, log levels) next to Secret variables holding a
// marker. Load must never panic; every line of an error names a variable
// and none contains the marker; a configuration it accepts keeps its
// invariants. Seeds: testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, mode, duration, boolean, list, proxies, rawURL, number, addr, word, secret string) {
		env := map[string]string{
			"AUTH_MODE":                    mode,
			"OIDC_ISSUER_URL":              rawURL,
			"CONTROLLER_PUBLIC_URL":        rawURL,
			"OIDC_CLIENT_ID":               word,
			"OIDC_AUDIENCES":               list,
			"OIDC_EXTRA_ISSUERS":           rawURL,
			"FORWARD_AUTH_TRUSTED_PROXIES": proxies,
			"OIDC_CLIENT_SECRET":           secret + fuzzSecretMarker + secret,
			"DATABASE_URL":                 secret + fuzzSecretMarker,
			"AUTH_TOKENS":                  "u:" + fuzzSecretMarker + secret + ":view_x",
			"IDENTITY_CACHE_SIZE":          number,
			"DECISION_CACHE_SIZE":          number,
			"OTEL_TRACES_SAMPLER_ARG":      number,
			"LOG_LEVEL":                    word,
			"HEADER_SUBJECT":               word,
			"GRPC_ADDR":                    addr,
			"PPROF_ADDR":                   addr,
			"OAUTH_ROLE_URI":               word,
			"ADMINISTRATOR_ROLE":           list,
		}
		for _, name := range []string{"POLICY_EVAL_TIMEOUT", "IDENTITY_CACHE_TTL", "JWT_LEEWAY", "JWKS_REFRESH_INTERVAL",
			"JWKS_UNKNOWN_KID_INTERVAL", "JWKS_MAX_STALENESS", "SHUTDOWN_TIMEOUT", "AGENT_JWT_MAX_LIFETIME"} {
			env[name] = duration
		}
		for _, name := range []string{"AUTH_LOGIN_ENABLED", "AUTH_INSECURE_ALLOW_HTTP", "LOG_DECISIONS", "OTEL_EXPORTER_OTLP_INSECURE"} {
			env[name] = boolean
		}
		cfg, err := Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			checkLoadError(t, err.Error(), mode, duration, boolean, list, proxies, rawURL, number, addr, word)
			return
		}
		checkConfig(t, cfg)
	})
}

// checkLoadError: each line is "NAME[, NAME…]: message" with known names,
// and the Secret marker appears nowhere unless a non-secret value the
// error may echo held it.
func checkLoadError(t *testing.T, msg string, echoable ...string) {
	t.Helper()
	known := map[string]bool{"PUBLIC_URL": true}
	for _, v := range Vars {
		known[v.Name] = true
	}
	for _, line := range strings.Split(msg, "\n") {
		names, _, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("error line %q names no variable", line)
		}
		for _, n := range strings.Split(names, ", ") {
			if !known[n] {
				t.Fatalf("error line %q names %q, not a variable", line, n)
			}
		}
	}
	for _, v := range echoable {
		if strings.Contains(v, fuzzSecretMarker) {
			return
		}
	}
	if strings.Contains(msg, fuzzSecretMarker) {
		t.Fatalf("error echoes a secret value: %s", msg)
	}
}

func checkConfig(t *testing.T, c *Config) {
	t.Helper()
	for name, d := range map[string]int64{
		"POLICY_EVAL_TIMEOUT": int64(c.PolicyEvalTimeout), "IDENTITY_CACHE_TTL": int64(c.IdentityCacheTTL),
		"JWKS_REFRESH_INTERVAL": int64(c.JWKSRefresh), "JWKS_UNKNOWN_KID_INTERVAL": int64(c.JWKSUnknownKID),
		"JWKS_MAX_STALENESS": int64(c.JWKSMaxStaleness), "SHUTDOWN_TIMEOUT": int64(c.ShutdownTimeout),
		"AGENT_JWT_MAX_LIFETIME": int64(c.AgentJWTMaxLifetime),
	} {
		if d <= 0 {
			t.Fatalf("%s accepted as %d", name, d)
		}
	}
	if c.JWTLeeway < 0 || c.IdentityCacheSize <= 0 || c.DecisionCacheSize < 0 ||
		c.Ops.TraceSampleRatio < 0 || c.Ops.TraceSampleRatio > 1 {
		t.Fatalf("out-of-range value accepted: %+v", c)
	}
	if c.Mode != ModeEmbedded && c.Mode != ModeExternal {
		t.Fatalf("mode %q", c.Mode)
	}
	if len(c.Audiences) == 0 {
		t.Fatal("no audience accepted")
	}
	for _, l := range [][]string{c.Audiences, c.ExtraIssuers} {
		for _, s := range l {
			if s == "" || s != strings.TrimSpace(s) || strings.Contains(s, ",") {
				t.Fatalf("list item %q", s)
			}
		}
	}
	for _, u := range append([]string{c.PublicURL, c.IssuerURL}, c.ExtraIssuers...) {
		if strings.HasSuffix(u, "/") {
			t.Fatalf("URL %q keeps a trailing slash", u)
		}
	}
	for _, p := range c.Ops.ForwardAuthTrustedProxies {
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
			t.Fatalf("trusted proxy prefix %v", p)
		}
		if p.Contains(netip.Addr{}) {
			t.Fatalf("prefix %v contains the zero address", p)
		}
	}
	for _, h := range c.Headers.All() {
		if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, " :\r\n\t,") {
			t.Fatalf("header name %q", h)
		}
	}
}

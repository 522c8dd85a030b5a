package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Auth modes.
const (
	ModeEmbedded = "embedded"
	ModeExternal = "external"
)

// Config is Gatehouse's validated configuration.
type Config struct {
	Mode string
	// PublicURL has no trailing slash. The embedded issuer is PublicURL+"/oidc".
	PublicURL          string
	IssuerURL          string
	ClientID           string
	ClientSecret       string
	DatabaseURL        string
	AuthTokens         string
	Audiences          []string
	ExtraIssuers       []string
	LoginEnabled       bool
	InsecureAllowHTTP  bool
	RoleClaim          string
	AdministratorRole  string
	GRPCAddr, HTTPAddr string
	DataDir            string
	PolicyDir          string
	PolicyEvalTimeout  time.Duration
	IdentityCacheSize  int
	DecisionCacheSize  int
	IdentityCacheTTL   time.Duration
	JWTLeeway          time.Duration
	JWKSRefresh        time.Duration
	JWKSUnknownKID     time.Duration
	JWKSMaxStaleness   time.Duration
	Headers            HeaderNames
	LogLevel           slog.Level
	LogDecisions       bool
	ShutdownTimeout    time.Duration
	// AgentJWTMaxLifetime bounds an agent token's exp - iat (and exp - now).
	AgentJWTMaxLifetime time.Duration
	// ControllerNamespace is the namespace agent provisioning answers with.
	ControllerNamespace string
	// Ops: forward-auth proxies, tracing, pprof, decision log (ops.go).
	Ops Operations
	// Peer is cluster-peer authentication (config/peer.go).
	Peer Peer

	// Login doors (issue 5: external mode, BFF, rate limits).
	// ConsoleURL has no trailing slash; it defaults to PublicURL.
	ConsoleURL    string
	TrustProxy    bool
	RateLimit     RateLimit
	SessionStore  string // SessionMemory or SessionDatabase
	SessionTTL    time.Duration
	SessionSecret string // empty: generated once and kept in the store
	OAuthScopes   []string
	// Warnings are start-up warnings (removed variables still set); the
	// caller logs them.
	Warnings []string
	// Embedded is the embedded issuer's part (config/embedded.go).
	Embedded Embedded
}

// RateLimit configures the per-IP limit on the auth routes.
type RateLimit struct {
	Enabled     bool
	MaxRequests int
	Window      time.Duration
}

// BFF session store types.
const (
	SessionMemory   = "memory"
	SessionDatabase = "database"
)

// DefaultOAuthScopes is the scope string the BFF requests (the Controller's).
const DefaultOAuthScopes = "openid profile email groups offline_access"

// removedVars are the Controller's Keycloak-era variables: not read, but
// warned about when set.
var removedVars = []struct{ name, use string }{
	{"KC_URL", "OIDC_ISSUER_URL"},
	{"KC_REALM", "OIDC_ISSUER_URL"},
	{"KC_CLIENT_ID", "OIDC_CLIENT_ID"},
	{"KC_CLIENT_SECRET", "OIDC_CLIENT_SECRET"},
	{"OIDC_VIEWER_CLIENT_ID", "OIDC_CONSOLE_CLIENT_ID"},
}

// HeaderNames are the lower-case names of the identity headers.
type HeaderNames struct {
	Subject, Groups, Kind, DecisionID string
}

// All returns the names in a fixed order.
func (h HeaderNames) All() []string {
	return []string{h.Subject, h.Groups, h.Kind, h.DecisionID}
}

// EmbeddedIssuer is the issuer URL of Gatehouse's own OIDC issuer.
func (c *Config) EmbeddedIssuer() string { return c.PublicURL + "/oidc" }

// Load reads the configuration through lookup (os.LookupEnv in production).
// Every problem found is reported, each naming its variable.
func Load(lookup func(string) (string, bool)) (*Config, error) {
	p := parser{lookup: lookup}
	c := &Config{
		Mode:              p.oneOf("AUTH_MODE", ModeEmbedded, ModeEmbedded, ModeExternal),
		LoginEnabled:      p.boolean("AUTH_LOGIN_ENABLED", true),
		InsecureAllowHTTP: p.boolean("AUTH_INSECURE_ALLOW_HTTP", false),
		IssuerURL:         strings.TrimSuffix(p.str("OIDC_ISSUER_URL", ""), "/"),
		ClientSecret:      p.str("OIDC_CLIENT_SECRET", ""),
		DatabaseURL:       p.str("DATABASE_URL", ""),
		AuthTokens:        p.str("AUTH_TOKENS", ""),
		RoleClaim:         p.str("OAUTH_ROLE_URI", ""),
		AdministratorRole: p.str("ADMINISTRATOR_ROLE", "administrator"),
		GRPCAddr:          p.addr("GRPC_ADDR", ":9191"),
		HTTPAddr:          p.addr("HTTP_ADDR", ":8080"),
		DataDir:           p.str("DATA_DIR", "./data"),
		PolicyDir:         p.str("POLICY_DIR", ""),
		PolicyEvalTimeout: p.duration("POLICY_EVAL_TIMEOUT", 100*time.Millisecond),
		IdentityCacheSize: p.positiveInt("IDENTITY_CACHE_SIZE", 10000),
		DecisionCacheSize: p.nonNegativeInt("DECISION_CACHE_SIZE", 10000),
		IdentityCacheTTL:  p.duration("IDENTITY_CACHE_TTL", 5*time.Minute),
		JWTLeeway:         p.nonNegativeDuration("JWT_LEEWAY", 30*time.Second),
		JWKSRefresh:       p.duration("JWKS_REFRESH_INTERVAL", 15*time.Minute),
		JWKSUnknownKID:    p.duration("JWKS_UNKNOWN_KID_INTERVAL", 10*time.Second),
		JWKSMaxStaleness:  p.duration("JWKS_MAX_STALENESS", 24*time.Hour),
		Headers: HeaderNames{
			Subject:    p.header("HEADER_SUBJECT", "x-gatehouse-subject"),
			Groups:     p.header("HEADER_GROUPS", "x-gatehouse-groups"),
			Kind:       p.header("HEADER_IDENTITY_KIND", "x-gatehouse-identity-kind"),
			DecisionID: p.header("HEADER_DECISION_ID", "x-gatehouse-decision-id"),
		},
		LogLevel:        p.logLevel("LOG_LEVEL"),
		LogDecisions:    p.boolean("LOG_DECISIONS", true),
		ShutdownTimeout: p.duration("SHUTDOWN_TIMEOUT", 10*time.Second),
	}
	c.Ops = p.operations()

	c.AgentJWTMaxLifetime = p.duration("AGENT_JWT_MAX_LIFETIME", 10*time.Minute)
	c.ControllerNamespace = p.str("CONTROLLER_NAMESPACE", "datasance")

	publicName := "CONTROLLER_PUBLIC_URL"
	public, ok := lookup(publicName)
	if !ok || public == "" {
		publicName = "PUBLIC_URL"
		public, _ = lookup(publicName)
	}
	c.PublicURL = strings.TrimSuffix(public, "/")
	if c.PublicURL != "" {
		p.checkURL(publicName, c.PublicURL, c.InsecureAllowHTTP)
	}

	defaultClient := ""
	if c.Mode == ModeEmbedded {
		defaultClient = "controller"
	}
	c.ClientID = p.str("OIDC_CLIENT_ID", defaultClient)
	c.Audiences = p.list("OIDC_AUDIENCES")
	if len(c.Audiences) == 0 && c.ClientID != "" {
		c.Audiences = []string{c.ClientID}
	}
	c.ExtraIssuers = p.list("OIDC_EXTRA_ISSUERS")
	for i, u := range c.ExtraIssuers {
		c.ExtraIssuers[i] = strings.TrimSuffix(u, "/")
		p.checkURL("OIDC_EXTRA_ISSUERS", c.ExtraIssuers[i], c.InsecureAllowHTTP)
	}

	switch c.Mode {
	case ModeEmbedded:
		if c.PublicURL == "" {
			p.fail("CONTROLLER_PUBLIC_URL", "is required in embedded mode (Gatehouse's issuer is {CONTROLLER_PUBLIC_URL}/oidc); PUBLIC_URL is accepted too")
		}
	case ModeExternal:
		var missing []string
		if c.IssuerURL == "" {
			missing = append(missing, "OIDC_ISSUER_URL")
		}
		if c.ClientID == "" {
			missing = append(missing, "OIDC_CLIENT_ID")
		}
		if c.LoginEnabled && c.ClientSecret == "" {
			missing = append(missing, "OIDC_CLIENT_SECRET")
		}
		if len(missing) > 0 {
			p.errs = append(p.errs, fmt.Errorf("%s: required in external mode (set AUTH_LOGIN_ENABLED=false for a decision-only deployment without a client secret)", strings.Join(missing, ", ")))
		}
		if c.IssuerURL != "" {
			p.checkURL("OIDC_ISSUER_URL", c.IssuerURL, c.InsecureAllowHTTP)
		}
	}
	if len(c.Audiences) == 0 {
		p.fail("OIDC_AUDIENCES", "is empty and OIDC_CLIENT_ID is not set: no audience would be accepted")
	}
	if c.RoleClaim != "" && c.AdministratorRole == "" {
		p.fail("ADMINISTRATOR_ROLE", "must not be empty when OAUTH_ROLE_URI is set")
	}
	if u := c.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		// Never echo the value: it may hold a password.
		p.errs = append(p.errs, errors.New("DATABASE_URL: must be empty (SQLite in DATA_DIR) or a postgres:// or postgresql:// URL"))
	}
	c.Peer = p.peer()
	p.loginDoors(c)
	c.Embedded = p.embedded(c)
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// loginDoors reads the variables of the login doors: console URL, proxy
// trust, rate limits and the BFF session store.
func (p *parser) loginDoors(c *Config) {
	c.ConsoleURL = strings.TrimSuffix(p.str("CONSOLE_URL", ""), "/")
	if c.ConsoleURL != "" {
		p.checkURL("CONSOLE_URL", c.ConsoleURL, c.InsecureAllowHTTP)
	} else {
		c.ConsoleURL = c.PublicURL
	}
	c.TrustProxy = p.boolean("TRUST_PROXY", false)
	c.RateLimit = RateLimit{
		Enabled:     p.boolean("AUTH_RATE_LIMIT_ENABLED", true),
		MaxRequests: p.positiveInt("AUTH_RATE_LIMIT_MAX_REQUESTS", 60),
		Window:      time.Duration(p.positiveInt("AUTH_RATE_LIMIT_WINDOW_MS", 60000)) * time.Millisecond,
	}
	def := SessionMemory
	if c.DatabaseURL != "" {
		def = SessionDatabase
	}
	c.SessionStore = p.oneOf("AUTH_SESSION_STORE_TYPE", def, SessionMemory, SessionDatabase)
	c.SessionTTL = time.Duration(p.positiveInt("AUTH_SESSION_STORE_TTL_MS", 600000)) * time.Millisecond
	c.SessionSecret = p.str("AUTH_SESSION_SECRET", "")
	if c.SessionSecret != "" && len(c.SessionSecret) < 16 {
		p.errs = append(p.errs, errors.New("AUTH_SESSION_SECRET: must be at least 16 characters (unset: generated once and kept in the store)"))
	}
	c.OAuthScopes = strings.Fields(p.str("AUTH_OAUTH_SCOPES", DefaultOAuthScopes))
	for _, r := range removedVars {
		if v, ok := p.lookup(r.name); ok && v != "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s is set but no longer read (removed in Controller v3.8); use %s", r.name, r.use))
		}
	}
}

type parser struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (p *parser) fail(name, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (p *parser) str(name, def string) string {
	if v, ok := p.lookup(name); ok && v != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v := p.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, "invalid value %q: must be %s", v, strings.Join(allowed, " or "))
	return def
}

// boolean accepts true/false/1/0/yes/no in any case; anything else is an error.
func (p *parser) boolean(name string, def bool) bool {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	p.fail(name, "invalid boolean %q: use true or false", v)
	return def
}

func (p *parser) positiveInt(name string, def int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		p.fail(name, "must be a positive integer, got %q", v)
		return def
	}
	return n
}

func (p *parser) nonNegativeInt(name string, def int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.fail(name, "must be a non-negative integer, got %q", v)
		return def
	}
	return n
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	d := p.nonNegativeDuration(name, def)
	if d == 0 {
		p.fail(name, "must be a positive duration")
		return def
	}
	return d
}

func (p *parser) nonNegativeDuration(name string, def time.Duration) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.fail(name, "must be a duration such as 30s or 5m, got %q", v)
		return def
	}
	return d
}

func (p *parser) list(name string) []string {
	var out []string
	for _, item := range strings.Split(p.str(name, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (p *parser) addr(name, def string) string {
	v := p.str(name, def)
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		p.fail(name, "must be host:port or :port, got %q", v)
		return def
	}
	return v
}

// header validates an HTTP header name (RFC 9110 token) and lower-cases it.
func (p *parser) header(name, def string) string {
	v := strings.ToLower(p.str(name, def))
	if v == "" || strings.HasPrefix(v, ":") || strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	}) >= 0 {
		p.fail(name, "must be a valid HTTP header name, got %q", v)
		return def
	}
	return v
}

func (p *parser) logLevel(name string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(p.str(name, "info"))); err != nil {
		p.fail(name, "must be debug, info, warn or error")
		return slog.LevelInfo
	}
	return l
}

// checkURL requires an absolute http(s) URL, https unless insecure HTTP is
// allowed. Secrets never pass through here, so echoing the value is safe.
func (p *parser) checkURL(name, raw string, allowHTTP bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		p.fail(name, "must be an absolute http(s) URL, got %q", raw)
		return
	}
	if u.Scheme == "http" && !allowHTTP {
		p.fail(name, "must use https (set AUTH_INSECURE_ALLOW_HTTP=true for development), got %q", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		p.fail(name, "must not carry a query or fragment, got %q", raw)
	}
}

// Storage is the part of the configuration the store commands need.
type Storage struct {
	DataDir     string
	DatabaseURL string
}

// LoadStorage reads DATA_DIR and DATABASE_URL alone, so store commands run
// without the server's whole configuration.
func LoadStorage(lookup func(string) (string, bool)) (Storage, error) {
	p := parser{lookup: lookup}
	s := Storage{DataDir: p.str("DATA_DIR", "./data"), DatabaseURL: p.str("DATABASE_URL", "")}
	if u := s.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return s, errors.New("DATABASE_URL: must be empty (SQLite in DATA_DIR) or a postgres:// or postgresql:// URL")
	}
	return s, nil
}

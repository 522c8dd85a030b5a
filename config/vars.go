package config

// Var documents one environment variable.
type Var struct {
	Name    string
	Default string // as shown to operators; "" means empty
	Help    string
	Secret  bool // never echoed in errors or effective-config output
}

// Vars is every variable Gatehouse reads, in the order operators see them.
var Vars = []Var{
	{Name: "AUTH_MODE", Default: "embedded", Help: "`embedded` (Gatehouse is the OIDC issuer) or `external` (an IdP issues tokens)"},
	{Name: "CONTROLLER_PUBLIC_URL", Help: "URL clients use to reach Gatehouse; the embedded issuer is `{URL}/oidc`. `PUBLIC_URL` is accepted too. Required in embedded mode"},
	{Name: "OIDC_ISSUER_URL", Help: "external mode: the IdP's issuer URL (discovery at `/.well-known/openid-configuration`)"},
	{Name: "OIDC_CLIENT_ID", Default: "controller (embedded)", Help: "OAuth client id; required in external mode"},
	{Name: "OIDC_CLIENT_SECRET", Help: "external mode: client secret, required unless `AUTH_LOGIN_ENABLED=false`", Secret: true},
	{Name: "OIDC_AUDIENCES", Default: "OIDC_CLIENT_ID", Help: "comma list of accepted `aud` values for access tokens"},
	{Name: "OIDC_EXTRA_ISSUERS", Help: "comma list of more trusted issuer URLs (discovery each; same audience rules)"},
	{Name: "AUTH_LOGIN_ENABLED", Default: "true", Help: "`false`: a decision-only deployment; external mode then needs no client secret"},
	{Name: "AUTH_INSECURE_ALLOW_HTTP", Default: "false", Help: "allow `http:` issuer, public and console URLs (development only)"},
	{Name: "OAUTH_ROLE_URI", Help: "HORAO role claim name; when set, a claim holding exactly `ADMINISTRATOR_ROLE` adds the group `admin`"},
	{Name: "ADMINISTRATOR_ROLE", Default: "administrator", Help: "role value that makes a user an administrator through `OAUTH_ROLE_URI`"},
	{Name: "GRPC_ADDR", Default: ":9191", Help: "gRPC listen address (ext_authz, gatehouse.v1, health, reflection)"},
	{Name: "HTTP_ADDR", Default: ":8080", Help: "HTTP listen address (REST facade, `/oidc`, `/healthz`, `/readyz`, `/metrics`)"},
	{Name: "DATA_DIR", Default: "./data", Help: "local state: signing keys, SQLite file, generated secrets"},
	{Name: "DATABASE_URL", Help: "empty: the SQLite file `DATA_DIR/gatehouse.db` (one replica); `postgres://…`: PostgreSQL (any number of replicas)", Secret: true},
	{Name: "AUTH_TOKENS", Help: "API tokens made at start, one `user:secret:perm1&perm2` per line; the user is created if missing and holds exactly those permissions; removed lines stop working", Secret: true},
	{Name: "POLICY_DIR", Help: "directory replacing the embedded Rego policy and data; reloaded on change"},
	{Name: "POLICY_EVAL_TIMEOUT", Default: "100ms", Help: "deadline of one policy evaluation; exceeding it denies with 503"},
	{Name: "IDENTITY_CACHE_SIZE", Default: "10000", Help: "verified identities kept (LRU), keyed by token digest"},
	{Name: "DECISION_CACHE_SIZE", Default: "10000", Help: "decisions kept (LRU) per policy snapshot, for policies that declare `data.gatehouse.decision_cache`; 0 disables"},
	{Name: "IDENTITY_CACHE_TTL", Default: "5m", Help: "longest time a verified identity is cached (never past the token's `exp`)"},
	{Name: "JWT_LEEWAY", Default: "30s", Help: "clock skew allowed on `exp` and `nbf`"},
	{Name: "JWKS_REFRESH_INTERVAL", Default: "15m", Help: "background JWKS refresh (a `Cache-Control: max-age` is honoured, clamped to [5m, 24h])"},
	{Name: "JWKS_UNKNOWN_KID_INTERVAL", Default: "10s", Help: "at most one JWKS fetch per issuer per interval caused by unknown `kid`s"},
	{Name: "JWKS_MAX_STALENESS", Default: "24h", Help: "cached keys keep serving this long after the last successful refresh"},
	{Name: "HEADER_SUBJECT", Default: "x-gatehouse-subject", Help: "upstream header carrying the subject (client-sent copies are removed)"},
	{Name: "HEADER_GROUPS", Default: "x-gatehouse-groups", Help: "upstream header carrying the comma-joined groups"},
	{Name: "HEADER_IDENTITY_KIND", Default: "x-gatehouse-identity-kind", Help: "upstream header carrying the identity kind"},
	{Name: "HEADER_DECISION_ID", Default: "x-gatehouse-decision-id", Help: "header carrying the decision id, upstream and to the client"},
	{Name: "LOG_LEVEL", Default: "info", Help: "`debug`, `info`, `warn` or `error`"},
	{Name: "LOG_DECISIONS", Default: "true", Help: "write one log line per decision"},
	{Name: "SHUTDOWN_TIMEOUT", Default: "10s", Help: "how long SIGTERM waits for in-flight requests"},
	{Name: "CONSOLE_URL", Default: "CONTROLLER_PUBLIC_URL", Help: "console origin: the only CORS origin allowed (with credentials) and where the OAuth BFF delivers tokens (`{CONSOLE_URL}/login#…`)"},
	{Name: "TRUST_PROXY", Default: "false", Help: "`true`: the client IP, scheme and host come from one proxy hop of `X-Forwarded-For`/`-Proto`/`-Host`; `false`: forwarded headers are ignored"},
	{Name: "AUTH_RATE_LIMIT_ENABLED", Default: "true", Help: "per-IP sliding-window limit on login, OAuth and MFA/password routes (shared by replicas on PostgreSQL)"},
	{Name: "AUTH_RATE_LIMIT_MAX_REQUESTS", Default: "60", Help: "requests per window per client IP; more get 429 with `Retry-After`"},
	{Name: "AUTH_RATE_LIMIT_WINDOW_MS", Default: "60000", Help: "rate-limit window in milliseconds"},
	{Name: "AUTH_SESSION_STORE_TYPE", Default: "memory (SQLite), database (PostgreSQL)", Help: "where OAuth BFF sessions live: `memory` (one replica) or `database` (any replica may take the callback)"},
	{Name: "AUTH_SESSION_STORE_TTL_MS", Default: "600000", Help: "lifetime of an OAuth BFF session (authorize to callback) and of its cookie"},
	{Name: "AUTH_SESSION_SECRET", Help: "key signing the BFF session cookie (at least 16 characters); unset: 32 random bytes generated once and kept in the store (shared by replicas)", Secret: true},
	{Name: "AUTH_OAUTH_SCOPES", Default: "openid profile email groups offline_access", Help: "scopes the OAuth BFF requests from the IdP (space-separated)"},
}

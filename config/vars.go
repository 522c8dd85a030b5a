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
	{Name: "AUTH_ENCRYPTION_KEY", Default: "generated into DATA_DIR", Help: "base64 32-byte key sealing the embedded issuer's signing keys and TOTP secrets at rest; required (and shared by every replica) with `DATABASE_URL`", Secret: true},
	{Name: "AUTH_INTERACTION_URL", Default: "Gatehouse's own login page", Help: "where the embedded issuer sends browsers to log in (`?interaction=<uid>` appended); `{CONSOLE_URL}/login/oauth` lets a console drive the interaction API"},
	{Name: "AUTH_REFRESH_REUSE_INTERVAL_SECONDS", Default: "10", Help: "a rotated refresh token presented again by the same client within this interval gets a fresh pair in the same family (concurrent tabs); later reuse revokes the family"},
	{Name: "AUTH_JWKS_ROTATION_INTERVAL_SECONDS", Default: "0", Help: "embedded issuer: rotate the signing key when it is older than this (0: only through `POST /api/v3/auth/jwks/rotate`)"},
	{Name: "AUTH_ACCESS_TOKEN_TTL_SECONDS", Default: "900", Help: "embedded issuer: access token lifetime"},
	{Name: "AUTH_REFRESH_TOKEN_TTL_SECONDS", Default: "3600", Help: "embedded issuer: refresh token lifetime"},
	{Name: "AUTH_OIDC_INTERACTION_TTL_SECONDS", Default: "600", Help: "embedded issuer: how long a login interaction stays open"},
	{Name: "AUTH_OIDC_GRANT_TTL_SECONDS", Default: "AUTH_OIDC_INTERACTION_TTL_SECONDS", Help: "embedded issuer: grant record lifetime"},
	{Name: "AUTH_OIDC_SESSION_TTL_SECONDS", Default: "AUTH_REFRESH_TOKEN_TTL_SECONDS", Help: "embedded issuer: session lifetime (a refresh token family never outlives it)"},
	{Name: "AUTH_OIDC_ID_TOKEN_TTL_SECONDS", Default: "AUTH_ACCESS_TOKEN_TTL_SECONDS", Help: "embedded issuer: ID token lifetime"},
	{Name: "OIDC_BOOTSTRAP_ADMIN_USERNAME", Help: "embedded mode: login of the bootstrap admin, created (or replaced when the pair changes) at start"},
	{Name: "OIDC_BOOTSTRAP_ADMIN_PASSWORD", Help: "embedded mode: the bootstrap admin's password (must pass the password policy)", Secret: true},
	{Name: "AUTH_INSECURE_ALLOW_BOOTSTRAP_LOG", Default: "false", Help: "log the bootstrap admin's credentials once, when it is created (development only)"},
	{Name: "SHUTDOWN_TIMEOUT", Default: "10s", Help: "how long SIGTERM waits for in-flight requests"},
}

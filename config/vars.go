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
	{Name: "AGENT_JWT_MAX_LIFETIME", Default: "10m", Help: "longest lifetime (`exp` - `iat`, and `exp` - now) of an agent (fog) JWT; longer ones are refused"},
	{Name: "CONTROLLER_NAMESPACE", Default: "datasance", Help: "namespace returned to agents by `POST /api/v3/agent/provision`"},
	{Name: "FORWARD_AUTH_TRUSTED_PROXIES", Help: "comma list of proxy IPs or CIDRs allowed to call the HTTP forward-auth door (`/ext_authz/…` for Envoy's HTTP ext_authz, `/forward-auth` for nginx, Traefik, Caddy); empty turns the door off"},
	{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Help: "OTLP/gRPC collector (`host:port` or `https://host:port`); when set, every decision is a span (trace context taken from the request headers)"},
	{Name: "OTEL_EXPORTER_OTLP_INSECURE", Default: "false", Help: "send spans to the collector without TLS"},
	{Name: "OTEL_SERVICE_NAME", Default: "gatehouse", Help: "`service.name` of the spans"},
	{Name: "OTEL_TRACES_SAMPLER_ARG", Default: "1", Help: "fraction of decisions traced when no parent decides (0 to 1)"},
	{Name: "PPROF_ADDR", Help: "listen address of `net/http/pprof` on its own listener (keep it on loopback); empty: off"},
	{Name: "PEER_SECRET", Help: "cluster peers' shared HS256 secret, at least 32 bytes; several comma-separated for rotation (the first signs, all verify). Set with `PEERS`, or neither", Secret: true},
	{Name: "PEERS", Help: "accepted peer origins, comma list of `host-or-ip-or-cidr` or `host-or-ip=peer-id`; the token's `peer` claim must equal the id (or the host/IP when none is given). Host names are resolved and refreshed; never a substring match"},
	{Name: "PEER_STRICT", Default: "true", Help: "`true`/`1`: peer requests must come from a `PEERS` origin; `false`/`0`: any source (other values stop start-up)"},
	{Name: "HOST_ID", Default: "system host name", Help: "this host's peer identity: the `peer` claim of tokens it signs; no peer may claim it"},
	{Name: "PEER_TOKEN_MAX_LIFETIME", Default: "5m", Help: "longest accepted peer token lifetime (`exp` - `iat`); ids (`jti`) are remembered until expiry"},
	{Name: "PEER_REQUIRE_SIGNED_REQUESTS", Default: "false", Help: "`true`: peer tokens must bind the request (`htm`, `htp`, `hbs`; docs/peer-auth.md)"},
	{Name: "PEER_DNS_REFRESH", Default: "30s", Help: "how often host names in `PEERS` are resolved again"},
	{Name: "PEER_ROUTES", Default: "/synchronize,/api/v3/synchronize", Help: "paths peers may `POST` to (replaces the default list)"},
	{Name: "PEER_INSECURE_ACCEPT_REPLAYABLE_TOKENS", Default: "false", Help: "`true`: also accept HORAO's own tokens without `iat`, `exp` and `jti`, which never expire and can be replayed (origin and identity still checked); only while migrating senders"},
	{Name: "DECISION_LOG_FILE", Help: "append the decision log (JSON lines, credentials masked) to this file, or `stdout`, instead of the process log on stderr"},
}

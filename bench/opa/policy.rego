# Gatehouse's default decision, restated for the OPA-Envoy plugin: the peer in
# the ext_authz load benchmark (docs/benchmarks.md, "Load: ext_authz over gRPC").
#
# It is what a team would write by hand for OPA-Envoy, kept equivalent to
# policies/*.rego for the requests the benchmark and bench/parity_test.go send:
#   - a Bearer token is verified with io.jwt.decode_verify (RS256 against the
#     same public JWKS; iss, aud and exp checked; no clock leeway, where
#     Gatehouse allows 30 s);
#   - groups come from the `groups` claim, lower-cased;
#   - the route table below is the subset of Gatehouse's catalog
#     (policies/gatehouse/catalog/data.yaml) the benchmark uses, matched the
#     same way (a literal segment beats a parameter; query and a trailing "/"
#     ignored); every other path is "not in catalog";
#   - role rules are Gatehouse's own system roles document, loaded as
#     data.gatehouse.roles (policies/gatehouse/roles/data.yaml);
#   - the order of outcomes is Gatehouse's: public → bad or missing
#     credential 401 → authenticated-only → unknown route 403 → RBAC.
#
# Run-time data: data.gatehouse_bench.config = {issuer, audience, jwks}.
package gatehouse.bench.envoy

config := data.gatehouse_bench.config

system_roles := data.gatehouse.roles.system

http_request := input.attributes.request.http

# ---- Credential -----------------------------------------------------------

has_credential if http_request.headers.authorization

bearer := token if {
	[scheme, token] := split(trim_space(http_request.headers.authorization), " ")
	lower(scheme) == "bearer"
}

claims := payload if {
	[valid, _, payload] := io.jwt.decode_verify(bearer, {
		"cert": config.jwks,
		"iss": config.issuer,
		"aud": config.audience,
	})
	valid
	object.get(payload, "token_use", "") != "refresh"
}

authenticated if claims

# ID-01: the first non-empty of preferred_username, username, email, sub.
default subject := ""

subject := [v |
	some k in ["preferred_username", "username", "email", "sub"]
	v := claims[k]
	is_string(v)
	v != ""
][0]

default groups := []

groups := [lower(g) | some g in claims.groups; is_string(g)]

# ---- Route ----------------------------------------------------------------

# "*" is one parameter segment (":uuid" in the catalog).
routes := [
	{"path": ["api", "v3", "microservices"], "resource": "microservices", "methods": {"GET": "list", "POST": "create"}},
	{"path": ["api", "v3", "microservices", "*"], "resource": "microservices", "methods": {"GET": "get", "PATCH": "patch", "DELETE": "delete"}},
	{"path": ["api", "v3", "microservices", "system"], "resource": "systemMicroservices", "methods": {"GET": "list"}},
	{"path": ["api", "v3", "iofog-list"], "resource": "fogs", "methods": {"GET": "list"}},
	{"path": ["api", "v3", "iofog"], "resource": "fogs", "methods": {"POST": "create"}},
	{"path": ["api", "v3", "iofog", "*"], "resource": "fogs", "methods": {"GET": "get", "PATCH": "patch", "DELETE": "delete"}},
	{"path": ["api", "v3", "roles"], "resource": "roles", "methods": {"GET": "list", "POST": "create"}},
	{"path": ["api", "v3", "router"], "resource": "router", "methods": {"GET": "get", "PUT": "update"}},
	{"path": ["api", "v3", "user", "profile"], "marker": "authenticated", "methods": {"GET": "authenticated"}},
	{"path": ["api", "v3", "status"], "marker": "public", "methods": {"GET": "public"}},
]

method := upper(http_request.method)

# The plugin's parsed_path, without the empty segment a trailing "/" leaves.
segments := array.slice(input.parsed_path, 0, count(input.parsed_path) - 1) if {
	input.parsed_path[count(input.parsed_path) - 1] == ""
} else := input.parsed_path

verb_of(r) := r.methods[method]

verb_of(r) := r.methods.GET if {
	method == "HEAD"
	not r.methods.HEAD
}

segment_matches(pattern, _) if pattern == "*"

segment_matches(pattern, seg) if pattern == seg

# A literal segment nearer the root weighs more than all later ones, which is
# the order Gatehouse's trie tries them in.
candidates contains [score, i] if {
	some i, r in routes
	count(r.path) == count(segments)
	every j, p in r.path {
		segment_matches(p, segments[j])
	}
	verb_of(r)
	n := count(r.path)
	score := sum([w | some j, p in r.path; p != "*"; w := bits.lsh(1, (n - 1) - j)])
}

best := max({s | some [s, _] in candidates})

route := routes[i] if {
	some [s, i] in candidates
	s == best
}

verb := verb_of(route)

# ---- RBAC -----------------------------------------------------------------

# RB-01: a group named like a system role holds it. (No bindings or custom
# roles exist in the benchmark; none of the system roles uses resourceNames
# and every benchmark resource is in apiGroup "".)
held_roles contains g if {
	some g in groups
	system_roles[g]
}

rbac_allow if {
	some name in held_roles
	some rule in system_roles[name].rules
	glob_in(object.get(rule, "apiGroups", [""]), "")
	glob_in(rule.resources, route.resource)
	glob_in(rule.verbs, verb)
}

glob_in(patterns, v) if {
	some p in patterns
	glob_match(p, v)
}

glob_match(p, _) if p == "*"

glob_match(p, v) if p == v

glob_match(p, v) if {
	endswith(p, "*")
	startswith(v, trim_suffix(p, "*"))
}

# ---- Decision -------------------------------------------------------------

result := allow if {
	route.marker == "public"
} else := deny(401, "CREDENTIAL_REJECTED") if {
	has_credential
	not authenticated
} else := deny(401, "NO_CREDENTIAL") if {
	not authenticated
} else := allow if {
	route.marker == "authenticated"
} else := deny(403, "ROUTE_NOT_IN_CATALOG") if {
	not route.resource
} else := allow if {
	rbac_allow
} else := deny(403, "PERMISSION_DENIED")

identity_headers := ["x-gatehouse-subject", "x-gatehouse-groups", "x-gatehouse-identity-kind"]

# Like Gatehouse: the upstream gets the identity headers, and client copies
# are dropped.
allow := {
	"allowed": true,
	"headers": {
		"x-gatehouse-subject": subject,
		"x-gatehouse-groups": concat(",", groups),
		"x-gatehouse-identity-kind": kind,
	},
	"request_headers_to_remove": identity_headers,
}

kind := "user" if authenticated

else := "anonymous"

deny(status, reason) := {
	"allowed": false,
	"http_status": status,
	"headers": {"content-type": "application/json"},
	"body": json.marshal({"status": status, "reason": reason}),
}

# The decision (DESIGN.md "Decision semantics"): data.gatehouse.authz.decision
# = {allow, status, reason, headers, subject, groups}.
package gatehouse.authz

import data.gatehouse.identity
import data.gatehouse.rbac

default route_kinds := []

route_kinds := input.route.credentials if is_array(input.route.credentials)

# A route that names credential kinds accepts only those; every other route
# accepts every kind except agent tokens.
kind_accepted if {
	count(route_kinds) > 0
	input.identity.kind in route_kinds
}

kind_accepted if {
	count(route_kinds) == 0
	input.identity.kind != "agent"
}

authenticated if {
	input.identity.authenticated == true
}

decision := respond(true, 200, "PUBLIC_ROUTE") if {
	input.route.marker == "public"
} else := respond(false, 401, "NO_CREDENTIAL") if {
	not authenticated
} else := respond(false, 401, "CREDENTIAL_KIND_NOT_ACCEPTED") if {
	not kind_accepted
} else := respond(false, 403, "PERMISSION_DENIED") if {
	# PR-12: a cluster peer acts only on the routes that accept peers, not
	# even on the caller's-own-account routes.
	input.identity.kind == "peer"
	not "peer" in route_kinds
} else := respond(true, 200, "AUTHENTICATED") if {
	input.route.marker == "authenticated"
} else := respond(false, 403, "PASSWORD_CHANGE_REQUIRED") if {
	# RB-17: an embedded-issuer token of a user who must change the
	# password reaches only the authenticated routes (profile,
	# change-password). Once the stored flag is cleared the claim arrives
	# false (RB-18, issuer.PasswordGate).
	input.identity.claims.password_change_required == true
} else := respond(false, 403, "ROUTE_NOT_IN_CATALOG") if {
	input.route.resource == ""
} else := respond(true, 200, "PERMITTED") if {
	rbac.allow
} else := respond(false, 403, "PERMISSION_DENIED")

respond(allow, status, reason) := {
	"allow": allow,
	"status": status,
	"reason": reason,
	"headers": {},
	"subject": identity.subject,
	"groups": identity.groups,
}

package gatehouse.authz_test

import data.gatehouse.authz

anon := {"kind": "anonymous", "authenticated": false, "subject": "", "groups": [], "permissions": [], "claims": null}

jwt(groups) := {"kind": "user", "authenticated": true, "subject": "", "groups": [], "permissions": [],
	"claims": {"sub": "u1", "preferred_username": "alice", "groups": groups}}

agent := {"kind": "agent", "authenticated": true, "subject": "fog-1", "groups": [], "permissions": [], "claims": null}

route(resource, verb) := {"resource": resource, "verb": verb, "name": "", "marker": "", "credentials": []}

marker(m) := {"resource": "", "verb": "", "name": "", "marker": m, "credentials": []}

agent_route := {"resource": "agent", "verb": "get", "name": "", "marker": "", "credentials": ["agent"]}

nowhere := {"resource": "", "verb": "", "name": "", "marker": "", "credentials": []}

test_rb16_public_route_for_anyone if {
	d := authz.decision with input as {"identity": anon, "route": marker("public")}
	d.allow
	d.status == 200
	d.reason == "PUBLIC_ROUTE"
}

test_no_credential_is_401 if {
	d := authz.decision with input as {"identity": anon, "route": route("microservices", "list")}
	not d.allow
	d.status == 401
	d.reason == "NO_CREDENTIAL"
}

test_rb13_unknown_route_anonymous_is_401 if {
	d := authz.decision with input as {"identity": anon, "route": nowhere}
	d.status == 401
}

test_rb13_unknown_route_is_403_even_for_admin if {
	d := authz.decision with input as {"identity": jwt(["admin"]), "route": nowhere}
	d.status == 403
	d.reason == "ROUTE_NOT_IN_CATALOG"
}

test_authenticated_marker_needs_no_permission if {
	d := authz.decision with input as {"identity": jwt([]), "route": marker("authenticated")}
	d.allow
	d.reason == "AUTHENTICATED"
	d.subject == "alice"
}

test_tv08_agent_routes_refuse_user_tokens if {
	d := authz.decision with input as {"identity": jwt(["admin"]), "route": agent_route}
	d.status == 401
	d.reason == "CREDENTIAL_KIND_NOT_ACCEPTED"
}

test_agent_tokens_refused_elsewhere if {
	d := authz.decision with input as {"identity": agent, "route": route("microservices", "list")}
	d.status == 401
	d.reason == "CREDENTIAL_KIND_NOT_ACCEPTED"
}

test_agent_on_agent_route if {
	d := authz.decision with input as {"identity": agent, "route": agent_route}
	d.allow
	d.reason == "PERMITTED"
	d.subject == "fog-1"
}

test_permitted_carries_identity if {
	d := authz.decision with input as {"identity": jwt(["Viewer"]), "route": route("applications", "list")}
	d.allow
	d.status == 200
	d.reason == "PERMITTED"
	d.groups == ["viewer"]
	d.headers == {}
}

test_rb06_not_permitted_is_403 if {
	d := authz.decision with input as {"identity": jwt([]), "route": route("applications", "list")}
	not d.allow
	d.status == 403
	d.reason == "PERMISSION_DENIED"
}

# Cluster peers (PR-12, PR-14).
peer := {"kind": "peer", "authenticated": true, "subject": "node-b", "groups": [], "permissions": ["peer:write"], "claims": null}

peer_route := {"resource": "peerSync", "verb": "create", "name": "", "marker": "", "credentials": ["peer"]}

test_pr01_peer_on_synchronize if {
	d := authz.decision with input as {"identity": peer, "route": peer_route}
	d.allow
	d.reason == "PERMITTED"
	d.subject == "node-b"
}

test_pr12_peer_refused_on_user_routes if {
	d := authz.decision with input as {"identity": peer, "route": route("microservices", "list")}
	not d.allow
	d.status == 403
}

test_pr12_peer_refused_on_own_account_routes if {
	d := authz.decision with input as {"identity": peer, "route": marker("authenticated")}
	not d.allow
	d.status == 403
}

test_pr12_peer_refused_on_agent_routes if {
	d := authz.decision with input as {"identity": peer, "route": agent_route}
	not d.allow
	d.status == 401
}

test_pr12_users_refused_on_peer_routes if {
	d := authz.decision with input as {"identity": jwt(["admin"]), "route": peer_route}
	not d.allow
	d.reason == "CREDENTIAL_KIND_NOT_ACCEPTED"
}

test_pr08_no_credential_on_peer_route if {
	d := authz.decision with input as {"identity": anon, "route": peer_route}
	d.status == 401
	d.reason == "NO_CREDENTIAL"
}

pcr := {"kind": "user", "authenticated": true, "subject": "", "groups": [], "permissions": [],
	"claims": {"sub": "u1", "preferred_username": "alice", "groups": ["admin"], "password_change_required": true}}

test_rb17_password_change_required_is_403_on_rbac_routes if {
	d := authz.decision with input as {"identity": pcr, "route": route("microservices", "list")}
	not d.allow
	d.status == 403
	d.reason == "PASSWORD_CHANGE_REQUIRED"
}

test_rb17_password_change_required_keeps_authenticated_routes if {
	d := authz.decision with input as {"identity": pcr, "route": marker("authenticated")}
	d.allow
}

package gatehouse.rbac_test

import data.gatehouse.rbac

# JWT identities carry claims; the other kinds carry their subject and groups.
req(kind, subject, groups, resource, verb, name) := {
	"identity": ident(kind, subject, groups),
	"route": {"resource": resource, "verb": verb, "name": name, "marker": "", "credentials": []},
}

ident(kind, subject, groups) := {"kind": kind, "authenticated": true, "subject": "", "groups": [], "permissions": [],
	"claims": {"preferred_username": subject, "sub": "id-1", "groups": groups}} if kind == "user"
else := {"kind": kind, "authenticated": true, "subject": subject, "groups": groups, "permissions": [], "claims": null}

svc(groups, resource, verb) := req("token", "svc", groups, resource, verb, "")

test_rb01_admin_everything if {
	rbac.allow with input as svc(["admin"], "authAdmin", "patch")
	rbac.allow with input as svc(["admin"], "anything", "whatever")
}

test_rb02_viewer_reads_only if {
	rbac.allow with input as svc(["viewer"], "applications", "list")
	not rbac.allow with input as svc(["viewer"], "applications", "create")
}

test_rb03_viewer_knowledge if {
	rbac.allow with input as svc(["viewer"], "knowledge", "get")
	rbac.allow with input as svc(["viewer"], "knowledge", "list")
	not rbac.allow with input as svc(["viewer"], "knowledge", "create")
	not rbac.allow with input as svc(["viewer"], "knowledge", "patch")
	not rbac.allow with input as svc(["viewer"], "knowledge", "delete")
}

test_rb03_viewer_no_exec_logs_tunnels_events if {
	not rbac.allow with input as svc(["viewer"], "execSessions", "get")
	not rbac.allow with input as svc(["viewer"], "logs", "get")
	not rbac.allow with input as svc(["viewer"], "tunnels", "get")
	not rbac.allow with input as svc(["viewer"], "events", "list")
}

test_rb04_developer if {
	rbac.allow with input as svc(["developer"], "microservices", "create")
	not rbac.allow with input as svc(["developer"], "fogs", "patch")
	rbac.allow with input as svc(["developer"], "fogs", "get")
}

test_rb05_sre if {
	not rbac.allow with input as svc(["sre"], "roles", "create")
	not rbac.allow with input as svc(["sre"], "roleBindings", "create")
	rbac.allow with input as svc(["sre"], "roles", "list")
	rbac.allow with input as svc(["sre"], "events", "create")
	rbac.allow with input as svc(["sre"], "tunnels", "create")
	not rbac.allow with input as svc(["sre"], "authAdmin", "create")
}

test_rb06_no_role_denied if {
	not rbac.allow with input as svc([], "microservices", "list")
	not rbac.allow with input as svc(["Admin"], "microservices", "list")
}

test_agent_admin_is_another_api_group if {
	not rbac.allow with input as svc(["agent-admin"], "microservices", "list")
}

test_empty_resource_never_allowed if {
	not rbac.allow with input as svc(["admin"], "", "get")
}

bindings := {
	"dev-alice": {"subjects": [{"kind": "User", "name": "alice@example.com"}], "roleRef": {"kind": "Role", "name": "developer"}},
	"platform": {"subjects": [{"kind": "Group", "name": "platform-admins"}], "roleRef": {"kind": "Role", "name": "sre"}},
	"abc-only": {"subjects": [{"kind": "User", "name": "carol"}], "roleRef": {"kind": "Role", "name": "abc-reader"}},
	"globs": {"subjects": [{"kind": "User", "name": "dan"}], "roleRef": {"kind": "Role", "name": "nats-reader"}},
}

custom := {
	"abc-reader": {"rules": [{"apiGroups": [""], "resources": ["microservices"], "verbs": ["get"], "resourceNames": ["abc"]}]},
	"nats-reader": {"rules": [{"apiGroups": [""], "resources": ["nats*"], "verbs": ["get", "list"]}]},
}

test_rb07_user_binding_exact_subject if {
	rbac.allow with input as req("user", "alice@example.com", [], "microservices", "create", "")
		with data.gatehouse.bindings as bindings
	not rbac.allow with input as req("user", "alice", [], "microservices", "create", "")
		with data.gatehouse.bindings as bindings
	not rbac.allow with input as req("user", "Alice@example.com", [], "microservices", "create", "")
		with data.gatehouse.bindings as bindings
}

test_rb08_group_binding if {
	rbac.allow with input as req("user", "x", ["platform-admins"], "fogs", "patch", "")
		with data.gatehouse.bindings as bindings
	not rbac.allow with input as req("user", "x", ["platform"], "fogs", "patch", "")
		with data.gatehouse.bindings as bindings
}

test_rb09_resource_names if {
	rbac.allow with input as req("user", "carol", [], "microservices", "get", "abc")
		with data.gatehouse.bindings as bindings
		with data.gatehouse.roles.custom as custom
	not rbac.allow with input as req("user", "carol", [], "microservices", "get", "def")
		with data.gatehouse.bindings as bindings
		with data.gatehouse.roles.custom as custom
	not rbac.allow with input as req("user", "carol", [], "microservices", "list", "")
		with data.gatehouse.bindings as bindings
		with data.gatehouse.roles.custom as custom
}

test_prefix_globs if {
	rbac.allow with input as req("user", "dan", [], "natsHub", "get", "")
		with data.gatehouse.bindings as bindings
		with data.gatehouse.roles.custom as custom
	not rbac.allow with input as req("user", "dan", [], "microservices", "get", "")
		with data.gatehouse.bindings as bindings
		with data.gatehouse.roles.custom as custom
}

test_custom_role_cannot_shadow_a_system_role if {
	not rbac.allow with input as svc(["viewer"], "applications", "create")
		with data.gatehouse.roles.custom as {"viewer": {"rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]}}
}

test_binding_to_system_role if {
	rbac.allow with input as req("user", "erin", [], "applications", "list", "")
		with data.gatehouse.bindings as {"b": {"subjects": [{"kind": "User", "name": "erin"}], "roleRef": {"kind": "Role", "name": "viewer"}}}
}

test_codename_permissions if {
	inp := {
		"identity": {"kind": "token", "authenticated": true, "subject": "svc", "groups": [], "permissions": ["view_show"], "claims": null},
		"route": {"resource": "shows", "verb": "list", "name": "", "marker": "", "credentials": []},
	}
	cat := {"resources": {"shows": {"permissions": {"list": "view_show", "create": "add_show"}}}}
	rbac.allow with input as inp with data.gatehouse.catalog as cat
	not rbac.allow with input as object.union(inp, {"route": {"resource": "shows", "verb": "create", "name": "", "marker": "", "credentials": []}})
		with data.gatehouse.catalog as cat
}

test_agents_only_on_agent_resources if {
	rbac.allow with input as req("agent", "fog-1", [], "agent", "get", "")
	not rbac.allow with input as req("agent", "fog-1", [], "microservices", "get", "")
}

# Cluster peers (PR-12, PR-14).
peer_in(perms, verb) := {
	"identity": {"kind": "peer", "subject": "node-b", "groups": [], "permissions": perms, "claims": null},
	"route": {"resource": "peerSync", "verb": verb, "name": "", "marker": "", "credentials": ["peer"]},
}

test_pr12_peer_write_allows_synchronize if {
	rbac.allow with input as peer_in(["peer:write"], "create")
}

test_pr14_peer_read_does_not_write if {
	not rbac.allow with input as peer_in(["peer:read"], "create")
	not rbac.allow with input as peer_in(["peer:read"], "delete")
	rbac.allow with input as peer_in(["peer:read"], "get")
}

test_pr14_read_only_role_does_not_write if {
	rbac.allow with input as svc(["viewer"], "microservices", "list")
	not rbac.allow with input as svc(["viewer"], "microservices", "create")
	not rbac.allow with input as svc(["viewer"], "microservices", "delete")
}

test_pr12_peer_without_permission if {
	not rbac.allow with input as peer_in([], "create")
}

test_pr12_peer_ignores_bindings if {
	inp := object.union(peer_in(["peer:write"], "list"), {"route": {"resource": "microservices", "verb": "list", "name": "", "marker": "", "credentials": []}})
	not rbac.allow with input as inp
		with data.gatehouse.bindings as [{"roleRef": {"name": "admin"}, "subjects": [{"kind": "User", "name": "node-b"}]}]
}

test_pr12_peer_resources_only if {
	not rbac.allow with input as object.union(peer_in(["peer:write"], "list"), {"route": {"resource": "microservices", "verb": "list", "name": "", "marker": "", "credentials": []}})
}

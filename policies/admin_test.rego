# Gatehouse's own resources (gatehouse.* in apiGroup "gatehouse"): the admin
# API's calls, decided as POST <gRPC full method>, and who may issue tokens
# for whom (resourceNames, "{self}").
package gatehouse.admin_test

import data.gatehouse.authz
import data.gatehouse.rbac

call(kind, subject, groups, resource, verb, name) := {
	"identity": {"kind": kind, "authenticated": true, "subject": subject, "groups": groups, "permissions": [], "claims": null},
	"route": {"resource": resource, "verb": verb, "name": name, "marker": "", "credentials": []},
}

admin_resources := ["gatehouse.users", "gatehouse.groups", "gatehouse.grants", "gatehouse.tokens", "gatehouse.agents",
	"gatehouse.clients", "gatehouse.roles", "gatehouse.roleBindings"]

test_admin_role_holds_gatehouse_resources if {
	every r in admin_resources {
		every v in ["create", "get", "list", "update", "delete"] {
			rbac.allow with input as call("token", "ops", ["admin"], r, v, "")
		}
	}
}

test_other_system_roles_do_not if {
	every g in ["sre", "developer", "viewer", "agent-admin", "microservice"] {
		every r in admin_resources {
			not rbac.allow with input as call("token", "ops", [g], r, "list", "")
		}
	}
}

test_no_role_is_403_and_anonymous_401 if {
	d := authz.decision with input as call("token", "ops", [], "gatehouse.users", "create", "")
	d.status == 403
	d.reason == "PERMISSION_DENIED"
	a := authz.decision with input as {"identity": {"kind": "anonymous", "authenticated": false}, "route": {"resource": "gatehouse.users", "verb": "create", "name": "", "marker": ""}}
	a.status == 401
}

# A custom role with "*" on the Controller's group does not reach Gatehouse's own.
test_controller_wildcard_does_not_reach_gatehouse if {
	custom := {"everything": {"rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]}}
	bindings := {"b": {"subjects": [{"kind": "User", "name": "erin"}], "roleRef": {"kind": "Role", "name": "everything"}}}
	rbac.allow with input as call("token", "erin", [], "microservices", "create", "")
		with data.gatehouse.roles.custom as custom
		with data.gatehouse.bindings as bindings
	not rbac.allow with input as call("token", "erin", [], "gatehouse.users", "create", "")
		with data.gatehouse.roles.custom as custom
		with data.gatehouse.bindings as bindings
}

token_roles := {
	"issue-for-svc-a": {"rules": [{"apiGroups": ["gatehouse"], "resources": ["gatehouse.tokens"], "verbs": ["create", "list", "delete"], "resourceNames": ["svc-a"]}]},
	"own-tokens": {"rules": [{"apiGroups": ["gatehouse"], "resources": ["gatehouse.tokens"], "verbs": ["*"], "resourceNames": ["{self}"]}]},
}

token_bindings := {
	"ci": {"subjects": [{"kind": "Group", "name": "ci"}], "roleRef": {"kind": "Role", "name": "issue-for-svc-a"}},
	"self": {"subjects": [{"kind": "Group", "name": "staff"}], "roleRef": {"kind": "Role", "name": "own-tokens"}},
}

test_issue_tokens_for_named_users_only if {
	rbac.allow with input as call("token", "bot", ["ci"], "gatehouse.tokens", "create", "svc-a")
		with data.gatehouse.roles.custom as token_roles
		with data.gatehouse.bindings as token_bindings
	not rbac.allow with input as call("token", "bot", ["ci"], "gatehouse.tokens", "create", "svc-b")
		with data.gatehouse.roles.custom as token_roles
		with data.gatehouse.bindings as token_bindings
	# A call naming no user (every user's tokens) needs an unrestricted rule.
	not rbac.allow with input as call("token", "bot", ["ci"], "gatehouse.tokens", "list", "")
		with data.gatehouse.roles.custom as token_roles
		with data.gatehouse.bindings as token_bindings
}

test_self_names_the_caller if {
	rbac.allow with input as call("basic", "alice", ["staff"], "gatehouse.tokens", "create", "alice")
		with data.gatehouse.roles.custom as token_roles
		with data.gatehouse.bindings as token_bindings
	not rbac.allow with input as call("basic", "alice", ["staff"], "gatehouse.tokens", "create", "bob")
		with data.gatehouse.roles.custom as token_roles
		with data.gatehouse.bindings as token_bindings
	# The marker is never an instance name of its own.
	not rbac.allow with input as call("basic", "alice", ["staff"], "gatehouse.tokens", "create", "{self}")
		with data.gatehouse.roles.custom as token_roles
		with data.gatehouse.bindings as token_bindings
	not rbac.allow with input as call("basic", "", ["staff"], "gatehouse.tokens", "create", "")
		with data.gatehouse.roles.custom as token_roles
		with data.gatehouse.bindings as token_bindings
}

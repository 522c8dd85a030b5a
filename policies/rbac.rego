# The Controller's RBAC model (seed-systems §1.4, checklist 4.4).
#
# An identity holds (1) every system role named by one of its groups, with no
# binding needed, and (2) every role a binding gives to its subject or one of
# its groups. A held role's rule grants the route's verb on its resource.
# Identities whose store grants permission codenames (API tokens, local users)
# are also allowed when the route's resource maps the verb to a codename they
# hold. Everything else is denied.
package gatehouse.rbac

import data.gatehouse.identity

default system_roles := {}

system_roles := data.gatehouse.roles.system

default custom_roles := {}

custom_roles := data.gatehouse.roles.custom

default bindings := {}

bindings := data.gatehouse.bindings

# A system role's name can never be taken by a custom role; if one slips in,
# the system role wins.
role_rules(name) := system_roles[name].rules if {
	system_roles[name]
} else := custom_roles[name].rules

held_roles contains g if {
	some g in identity.groups
	system_roles[g]
}

held_roles contains b.roleRef.name if {
	some b in bindings
	some s in b.subjects
	bound(s)
}

# Subjects compare exactly and case-sensitively (RB-07, RB-08).
bound(s) if {
	s.kind == "User"
	s.name == identity.subject
}

bound(s) if {
	s.kind == "Group"
	s.name in identity.groups
}

default resource_def := {}

resource_def := data.gatehouse.catalog.resources[input.route.resource]

api_group := object.get(resource_def, "apiGroup", "")

allow if {
	input.route.resource != ""
	input.identity.kind != "peer" # peers hold the peer permission only (PR-12)
	some name in held_roles
	some rule in role_rules(name)
	rule_allows(rule, api_group, input.route.resource, input.route.verb, input.route.name)
}

# Codename permissions (Django-style catalogs: view_show, add_show, …).
allow if {
	codename := resource_def.permissions[input.route.verb]
	codename in input.identity.permissions
}

# An agent token is authorized for the routes that accept agent tokens only;
# the agent's own scope (its node) is the Controller's to check.
allow if {
	input.identity.kind == "agent"
	"agent" in object.get(resource_def, "credentials", [])
}

# HORAO's peer permissions (PR-12, PR-14): a cluster peer is allowed on the
# resources that accept peer credentials; peer:write allows every verb there,
# peer:read only get and list (HORAO let readers write).
allow if {
	input.identity.kind == "peer"
	"peer" in object.get(resource_def, "credentials", [])
	peer_permits(input.route.verb)
}

peer_permits(_) if "peer:write" in input.identity.permissions

peer_permits(verb) if {
	verb in {"get", "list"}
	"peer:read" in input.identity.permissions
}

rule_allows(rule, group, resource, verb, name) if {
	glob_in(object.get(rule, "apiGroups", [""]), group)
	glob_in(rule.resources, resource)
	glob_in(rule.verbs, verb)
	names_allow(object.get(rule, "resourceNames", []), name)
}

# Membership tests run as builtins; only prefix globs are walked.
glob_in(patterns, v) if v in patterns

glob_in(patterns, _) if "*" in patterns

glob_in(patterns, v) if {
	some p in patterns
	endswith(p, "*")
	p != "*"
	startswith(v, trim_suffix(p, "*"))
}

names_allow(names, _) if count(names) == 0

names_allow(names, name) if {
	name != ""
	name != self_name
	name in names
}

# "{self}" in resourceNames names the caller's own subject: it matches the
# instance equal to it, never an instance literally named "{self}".
self_name := "{self}"

names_allow(names, name) if {
	self_name in names
	name != ""
	name == identity.subject
}

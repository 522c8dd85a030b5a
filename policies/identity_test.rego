package gatehouse.identity_test

import data.gatehouse.identity

cfg := {"client_id": "gatehouse", "role_claim": "", "administrator_role": "administrator"}

user(claims) := {"identity": {"kind": "user", "authenticated": true, "claims": claims}}

test_id01_preferred_username_first if {
	identity.subject == "alice" with input as user({"preferred_username": "alice", "username": "u", "email": "e@x.io", "sub": "s"})
		with data.gatehouse.config as cfg
}

test_id01_empty_values_are_skipped if {
	identity.subject == "e@x.io" with input as user({"preferred_username": "", "username": "", "email": "e@x.io", "sub": "s"})
		with data.gatehouse.config as cfg
}

test_id01_sub_last if {
	identity.subject == "s" with input as user({"sub": "s"}) with data.gatehouse.config as cfg
}

test_id01_non_string_skipped if {
	identity.subject == "s" with input as user({"preferred_username": 7, "sub": "s"}) with data.gatehouse.config as cfg
}

test_id02_client_roles_first if {
	identity.groups == ["viewer"] with input as user({
		"resource_access": {"gatehouse": {"roles": ["Viewer"]}},
		"roles": ["admin"], "groups": ["admin"],
	})
		with data.gatehouse.config as cfg
}

test_id02_roles_then_groups if {
	identity.groups == ["sre", "dev"] with input as user({"roles": ["SRE", "Dev"], "groups": ["admin"]})
		with data.gatehouse.config as cfg
	identity.groups == ["developer"] with input as user({"roles": [], "groups": ["Developer"]})
		with data.gatehouse.config as cfg
}

test_id02_ascii_only_lowercase if {
	identity.groups == ["Équipe-admin"] with input as user({"groups": ["ÉQUIPE-ADMIN"]})
		with data.gatehouse.config as cfg
}

test_id03_other_clients_ignored if {
	identity.groups == [] with input as user({"resource_access": {"other": {"roles": ["admin"]}}})
		with data.gatehouse.config as cfg
}

test_id04_non_array_and_namespaced_ignored if {
	identity.groups == [] with input as user({"groups": "admin", "https://x.example/groups": ["admin"]})
		with data.gatehouse.config as cfg
	identity.groups == [] with input as user({"resource_access": "admin"}) with data.gatehouse.config as cfg
}

test_id04_non_string_elements_dropped if {
	identity.groups == ["a"] with input as user({"groups": ["A", 3, {"x": 1}]}) with data.gatehouse.config as cfg
}

test_id05_full_path_group_kept if {
	identity.groups == ["/admin"] with input as user({"groups": ["/admin"]}) with data.gatehouse.config as cfg
}

horao := object.union(cfg, {"role_claim": "https://claims.example/role"})

test_id06_role_claim_adds_admin if {
	identity.groups == ["ops", "admin"] with input as user({"groups": ["ops"], "https://claims.example/role": ["user", "administrator"]})
		with data.gatehouse.config as horao
	identity.groups == ["admin"] with input as user({"https://claims.example/role": "administrator"})
		with data.gatehouse.config as horao
}

test_id06_admin_not_added_twice if {
	identity.groups == ["admin"] with input as user({"groups": ["admin"], "https://claims.example/role": "administrator"})
		with data.gatehouse.config as horao
}

test_id07_exact_match_only if {
	identity.groups == [] with input as user({"https://claims.example/role": "not-administrator"})
		with data.gatehouse.config as horao
	identity.groups == [] with input as user({"https://claims.example/role": ["administrators"]})
		with data.gatehouse.config as horao
}

test_id08_role_claim_off_unless_configured if {
	identity.groups == [] with input as user({"role": "administrator"}) with data.gatehouse.config as cfg
}

test_id08_custom_administrator_role if {
	identity.groups == ["admin"] with input as user({"role": ["ops-admin"]})
		with data.gatehouse.config as {"client_id": "x", "role_claim": "role", "administrator_role": "ops-admin"}
}

test_other_kinds_keep_their_own_identity if {
	inp := {"identity": {"kind": "token", "authenticated": true, "subject": "svc", "groups": ["Robots"], "claims": null}}
	identity.subject == "svc" with input as inp with data.gatehouse.config as cfg
	identity.groups == ["Robots"] with input as inp with data.gatehouse.config as cfg
}

test_anonymous_is_empty if {
	inp := {"identity": {"kind": "anonymous", "authenticated": false, "subject": "", "groups": [], "claims": null}}
	identity.subject == "" with input as inp
	identity.groups == [] with input as inp
}

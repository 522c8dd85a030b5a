# Claims → subject and groups (checklist 4.3, DESIGN.md "Group mapping").
#
# JWT identities (kind "user") carry claims; every other kind already has the
# subject and groups its own store gave it.
package gatehouse.identity

default config := {}

config := data.gatehouse.config

default claims := {}

claims := input.identity.claims if is_object(input.identity.claims)

is_user if input.identity.kind == "user"

# ID-01: the first non-empty of preferred_username, username, email, sub.
subject := user_subject if is_user
else := object.get(input.identity, "subject", "")

subject_candidates := [v |
	some k in ["preferred_username", "username", "email", "sub"]
	v := claims[k]
	is_string(v)
	v != ""
]

user_subject := subject_candidates[0] if count(subject_candidates) > 0
else := ""

# ID-02: resource_access[client_id].roles, else roles, else groups; ID-03:
# other clients' entries are ignored; ID-04: a claim that is not an array of
# strings (Entra's overage string, say) contributes nothing, and namespaced
# claims are never read.
default client_roles := []

client_roles := strings_in(claims.resource_access[config.client_id].roles)

default top_roles := []

top_roles := strings_in(claims.roles)

default top_groups := []

top_groups := strings_in(claims.groups)

strings_in(v) := [s | some s in v; is_string(s)] if is_array(v)

claim_groups := client_roles if count(client_roles) > 0
else := top_roles if count(top_roles) > 0
else := top_groups

# ID-05: lower-cased, nothing else ("/admin" stays "/admin"); only A–Z change.
mapped_groups := [lower_ascii(g) | some g in claim_groups]

# Cheap cases first: most groups are lower case already, most others ASCII.
lower_ascii(s) := s if {
	lower(s) == s
} else := lower(s) if {
	regex.match(`^[\x00-\x7f]*$`, s)
} else := strings.replace_n(ascii_upper_to_lower, s)

ascii_upper_to_lower := {
	"A": "a", "B": "b", "C": "c", "D": "d", "E": "e", "F": "f", "G": "g",
	"H": "h", "I": "i", "J": "j", "K": "k", "L": "l", "M": "m", "N": "n",
	"O": "o", "P": "p", "Q": "q", "R": "r", "S": "s", "T": "t", "U": "u",
	"V": "v", "W": "w", "X": "x", "Y": "y", "Z": "z",
}

# ID-06, ID-07: HORAO's role claim, only when OAUTH_ROLE_URI names it. The
# claim must hold the administrator role exactly, as a string or an element.
role_claim := object.get(config, "role_claim", "")

administrator_role := object.get(config, "administrator_role", "administrator")

horao_admin if {
	role_claim != ""
	claims[role_claim] == administrator_role
}

horao_admin if {
	role_claim != ""
	is_array(claims[role_claim])
	some v in claims[role_claim]
	v == administrator_role
}

user_groups := array.concat(mapped_groups, ["admin"]) if {
	horao_admin
	not "admin" in mapped_groups
} else := mapped_groups

groups := user_groups if is_user
else := own_groups

default own_groups := []

own_groups := input.identity.groups if is_array(input.identity.groups)

-- Agent ("fog") credentials and the generic single-use table.

CREATE TABLE agents (
	id             TEXT    NOT NULL PRIMARY KEY,
	name           TEXT    NOT NULL UNIQUE,
	arch_type      INTEGER NOT NULL DEFAULT 0,
	public_key     BLOB    CHECK (public_key IS NULL OR length(public_key) = 32), -- Ed25519
	provisioned_at INTEGER,
	last_active_at INTEGER,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
) STRICT;

-- Single-use keys, stored as SHA-256 digests; one per agent at most.
CREATE TABLE agent_provisioning_keys (
	digest     BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
	agent_id   TEXT    NOT NULL UNIQUE REFERENCES agents (id) ON DELETE CASCADE,
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX agent_provisioning_keys_expires ON agent_provisioning_keys (expires_at);

-- ClaimOnce: (namespace, id) pairs remembered until expires_at.
CREATE TABLE single_use_claims (
	namespace  TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (namespace, id)
) STRICT;
CREATE INDEX single_use_claims_expires ON single_use_claims (expires_at);

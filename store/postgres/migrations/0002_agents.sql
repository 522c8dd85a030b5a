-- Agent ("fog") credentials and the generic single-use table.

CREATE TABLE agents (
	id             text COLLATE "C" PRIMARY KEY,
	name           text COLLATE "C" NOT NULL UNIQUE,
	arch_type      integer     NOT NULL DEFAULT 0,
	public_key     bytea       CHECK (public_key IS NULL OR length(public_key) = 32), -- Ed25519
	provisioned_at timestamptz,
	last_active_at timestamptz,
	created_at     timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL
);

-- Single-use keys, stored as SHA-256 digests; one per agent at most.
CREATE TABLE agent_provisioning_keys (
	digest     bytea PRIMARY KEY CHECK (length(digest) = 32),
	agent_id   text COLLATE "C" NOT NULL UNIQUE REFERENCES agents (id) ON DELETE CASCADE,
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX agent_provisioning_keys_expires ON agent_provisioning_keys (expires_at);

-- ClaimOnce: (namespace, id) pairs remembered until expires_at.
CREATE TABLE single_use_claims (
	namespace  text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (namespace, id)
);
CREATE INDEX single_use_claims_expires ON single_use_claims (expires_at);

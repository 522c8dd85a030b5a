-- Embedded issuer: signing keys, refresh token families, and the issuer's
-- other state as opaque records (codes, interactions, MFA, reset tokens).

CREATE TABLE signing_keys (
	kid        text COLLATE "C" PRIMARY KEY,
	alg        text        NOT NULL,
	sealed     bytea       NOT NULL,
	public_jwk text        NOT NULL,
	created_at timestamptz NOT NULL,
	retired_at timestamptz
);

CREATE TABLE refresh_tokens (
	digest     bytea PRIMARY KEY CHECK (length(digest) = 32),
	family_id  text        NOT NULL,
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id  text        NOT NULL,
	scope      text        NOT NULL,
	session_id text        NOT NULL,
	auth_time  timestamptz,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE issuer_records (
	kind       text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	user_id    text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
	data       bytea       NOT NULL,
	expires_at timestamptz,
	PRIMARY KEY (kind, id)
);
CREATE INDEX issuer_records_user ON issuer_records (user_id);

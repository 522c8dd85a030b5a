-- Embedded issuer: signing keys, refresh token families, and the issuer's
-- other state as opaque records (codes, interactions, MFA, reset tokens).

CREATE TABLE signing_keys (
	kid        TEXT    NOT NULL PRIMARY KEY,
	alg        TEXT    NOT NULL,
	sealed     BLOB    NOT NULL,
	public_jwk TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	retired_at INTEGER
) STRICT;

CREATE TABLE refresh_tokens (
	digest     BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
	family_id  TEXT    NOT NULL,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id  TEXT    NOT NULL,
	scope      TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	auth_time  INTEGER,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	revoked_at INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE issuer_records (
	kind       TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
	data       BLOB    NOT NULL,
	expires_at INTEGER,
	PRIMARY KEY (kind, id)
) STRICT;
CREATE INDEX issuer_records_user ON issuer_records (user_id);

-- Gatehouse schema, SQLite. Times are INTEGER microseconds since the Unix
-- epoch in UTC, NULL for "never". Lists are JSON text. Text compares with
-- the default BINARY collation, so ORDER BY is byte order as in PostgreSQL's
-- "C" collation.

CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	login         TEXT    NOT NULL UNIQUE,
	email         TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE groups (
	name       TEXT    NOT NULL PRIMARY KEY,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
	group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (group_name, user_id)
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

-- Grants are split by grantee kind so that foreign keys cascade deletes.
CREATE TABLE user_grants (
	user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	codename TEXT NOT NULL,
	PRIMARY KEY (user_id, codename)
) STRICT;

CREATE TABLE group_grants (
	group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
	codename   TEXT NOT NULL,
	PRIMARY KEY (group_name, codename)
) STRICT;

CREATE TABLE api_tokens (
	id           TEXT    NOT NULL PRIMARY KEY,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	digest       BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
	permissions  TEXT,   -- JSON array; NULL: the user's own permissions
	source       TEXT    NOT NULL,
	expires_at   INTEGER,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at, id);
CREATE INDEX api_tokens_created ON api_tokens (created_at, id);

CREATE TABLE roles (
	name       TEXT    NOT NULL PRIMARY KEY,
	rules      TEXT    NOT NULL, -- JSON array of RoleRule
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE role_bindings (
	name       TEXT    NOT NULL PRIMARY KEY,
	subjects   TEXT    NOT NULL, -- JSON array of Subject
	role_ref   TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
	client_id                 TEXT    NOT NULL PRIMARY KEY,
	name                      TEXT    NOT NULL,
	public                    INTEGER NOT NULL,
	secret_hash               TEXT    NOT NULL,
	response_types            TEXT    NOT NULL, -- JSON arrays
	redirect_uris             TEXT    NOT NULL,
	post_logout_redirect_uris TEXT    NOT NULL,
	created_at                INTEGER NOT NULL
) STRICT;

-- One row: bumped in the transaction of every write (Store.Version).
CREATE TABLE store_version (
	id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
) STRICT;
INSERT INTO store_version (id, version) VALUES (1, 0);

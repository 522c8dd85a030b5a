-- Gatehouse schema, PostgreSQL. Keys and names use the "C" collation so that
-- ORDER BY is byte order whatever the database's locale (and the same as
-- the SQLite backend). Lists are jsonb.

CREATE TABLE users (
	id            text COLLATE "C" PRIMARY KEY,
	login         text COLLATE "C" NOT NULL UNIQUE,
	email         text        NOT NULL DEFAULT '',
	password_hash text        NOT NULL DEFAULT '',
	disabled      boolean     NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);

CREATE TABLE groups (
	name       text COLLATE "C" PRIMARY KEY,
	created_at timestamptz NOT NULL
);

CREATE TABLE memberships (
	group_name text COLLATE "C" NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (group_name, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Grants are split by grantee kind so that foreign keys cascade deletes.
CREATE TABLE user_grants (
	user_id  text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	codename text COLLATE "C" NOT NULL,
	PRIMARY KEY (user_id, codename)
);

CREATE TABLE group_grants (
	group_name text COLLATE "C" NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
	codename   text COLLATE "C" NOT NULL,
	PRIMARY KEY (group_name, codename)
);

CREATE TABLE api_tokens (
	id           text COLLATE "C" PRIMARY KEY,
	user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         text        NOT NULL,
	digest       bytea       NOT NULL UNIQUE CHECK (length(digest) = 32),
	permissions  jsonb,      -- NULL: the user's own permissions
	source       text        NOT NULL,
	expires_at   timestamptz,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz,
	revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at, id);
CREATE INDEX api_tokens_created ON api_tokens (created_at, id);

CREATE TABLE roles (
	name       text COLLATE "C" PRIMARY KEY,
	rules      jsonb       NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE role_bindings (
	name       text COLLATE "C" PRIMARY KEY,
	subjects   jsonb       NOT NULL,
	role_ref   text        NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE clients (
	client_id                 text COLLATE "C" PRIMARY KEY,
	name                      text        NOT NULL,
	public                    boolean     NOT NULL,
	secret_hash               text        NOT NULL,
	response_types            jsonb       NOT NULL,
	redirect_uris             jsonb       NOT NULL,
	post_logout_redirect_uris jsonb       NOT NULL,
	created_at                timestamptz NOT NULL
);

-- One row: bumped in the transaction of every write (Store.Version).
CREATE TABLE store_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint  NOT NULL
);
INSERT INTO store_version (id, version) VALUES (1, 0);

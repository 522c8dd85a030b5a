-- Login doors' shared state (issue 5): OAuth BFF sessions, sliding-window
-- rate-limit logs and generated secrets. Writes here do not bump
-- store_version.

CREATE TABLE auth_sessions (
	id         text COLLATE "C" PRIMARY KEY,
	data       bytea       NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

CREATE TABLE rate_hits (
	key text COLLATE "C" NOT NULL,
	at  timestamptz      NOT NULL
);
CREATE INDEX rate_hits_key_at ON rate_hits (key, at);
CREATE INDEX rate_hits_at ON rate_hits (at);

CREATE TABLE auth_secrets (
	name       text COLLATE "C" PRIMARY KEY,
	value      bytea       NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

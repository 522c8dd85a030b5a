-- Login doors' shared state (issue 5): OAuth BFF sessions, sliding-window
-- rate-limit logs and generated secrets. Times are Unix microseconds.
-- Writes here do not bump store_version.

CREATE TABLE auth_sessions (
	id         TEXT    NOT NULL PRIMARY KEY,
	data       BLOB    NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

CREATE TABLE rate_hits (
	key TEXT    NOT NULL,
	at  INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_hits_key_at ON rate_hits (key, at);
CREATE INDEX rate_hits_at ON rate_hits (at);

CREATE TABLE auth_secrets (
	name       TEXT    NOT NULL PRIMARY KEY,
	value      BLOB    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

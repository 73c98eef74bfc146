-- Accounts: users, sessions with rotating refresh tokens, API keys, audit log.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,
    -- Lower-cased email: uniqueness and lookups ignore case.
    email_key     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'admin')),
    -- NULL: no password yet (created by an admin, by email or by intake).
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- Bumped to end every session at once (password change, deactivation, sign out everywhere).
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    last_login_at TEXT
) STRICT;
CREATE INDEX users_role_active ON users (role, active);
CREATE INDEX users_name ON users (name COLLATE NOCASE);
CREATE INDEX users_created_at ON users (created_at);

-- A session is one sign-in: the family of its rotating refresh tokens.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    -- The user's token_version this session belongs to.
    token_version INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoked_reason TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Refresh tokens, stored only as SHA-256 hashes. A spent token presented
-- again revokes its whole session (theft detection).
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    spent_at   TEXT
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'admin')),
    -- First characters of the key, shown to tell keys apart.
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

CREATE TABLE audit_log (
    id                INTEGER PRIMARY KEY,
    at                TEXT NOT NULL,
    actor_user_id     INTEGER REFERENCES users (id),
    actor_api_key_id  INTEGER REFERENCES api_keys (id),
    action            TEXT NOT NULL,
    target_type       TEXT,
    target_id         INTEGER,
    ticket_id         INTEGER,
    -- JSON object with the change (never secrets).
    details           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
) STRICT;
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_ticket ON audit_log (ticket_id, id) WHERE ticket_id IS NOT NULL;

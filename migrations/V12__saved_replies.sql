-- Saved replies: shared ones (owner NULL, managed by admins) and each
-- agent's own; and the signature an agent's public replies end with.
CREATE TABLE saved_replies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    owner_id   INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX saved_replies_owner ON saved_replies (owner_id, title);

ALTER TABLE users ADD COLUMN signature TEXT;

-- How the requester rated the help on a ticket (one rating a ticket; a
-- second replaces the first), with the agent assigned when they rated.
CREATE TABLE ratings (
    ticket_id  INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    score      TEXT NOT NULL CHECK (score IN ('good', 'okay', 'bad')),
    comment    TEXT,
    agent_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX ratings_created ON ratings (created_at);

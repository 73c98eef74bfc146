-- Domain events for live updates, written in the transaction of the change
-- (so a rolled-back change emits nothing) and published after it commits.
-- The id is the SSE event id; the newest rows serve Last-Event-ID resumes.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    ticket_id    INTEGER,
    -- JSON for agents and admins.
    data         TEXT NOT NULL,
    -- JSON for the ticket's requester; NULL when the event is for agents only.
    public_data  TEXT,
    created_at   TEXT NOT NULL
) STRICT;

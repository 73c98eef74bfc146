-- Tickets and their conversations, full-text search, assignment state, portal links.

-- Which request caused an audit entry.
ALTER TABLE audit_log ADD COLUMN request_id TEXT;

CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,
    subject           TEXT NOT NULL,
    -- 1 open, 2 in_progress, 3 pending, 4 resolved, 5 closed (lifecycle order, for sorting).
    status            INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),
    -- 1 low, 2 medium, 3 high, 4 urgent.
    priority          INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    category          TEXT,
    type              TEXT,
    channel           TEXT NOT NULL CHECK (channel IN ('web', 'email', 'chat', 'phone', 'api', 'portal')),
    -- JSON array of the tags, for display; ticket_tags is the searchable copy.
    tags              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    requester_id      INTEGER NOT NULL REFERENCES users (id),
    assignee_id       INTEGER REFERENCES users (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    first_response_at TEXT,
    resolved_at       TEXT,
    closed_at         TEXT,
    public_count      INTEGER NOT NULL DEFAULT 0,
    note_count        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX tickets_updated_at ON tickets (updated_at);
CREATE INDEX tickets_created_at ON tickets (created_at);
CREATE INDEX tickets_status_updated ON tickets (status, updated_at);
-- Queues sorted by priority (open work, unassigned work) read in index order.
CREATE INDEX tickets_status_priority ON tickets (status, priority, updated_at);
CREATE INDEX tickets_assignee_priority ON tickets (assignee_id, priority, updated_at);
CREATE INDEX tickets_priority_updated ON tickets (priority, updated_at);
CREATE INDEX tickets_assignee_updated ON tickets (assignee_id, updated_at);
CREATE INDEX tickets_requester_updated ON tickets (requester_id, updated_at);
CREATE INDEX tickets_channel_updated ON tickets (channel, updated_at);
CREATE INDEX tickets_category_updated ON tickets (category, updated_at) WHERE category IS NOT NULL;
CREATE INDEX tickets_type_updated ON tickets (type, updated_at) WHERE type IS NOT NULL;
-- Covering indexes for the response and resolution medians over a window.
CREATE INDEX tickets_resolved_at ON tickets (resolved_at, created_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_first_response ON tickets (created_at, first_response_at) WHERE first_response_at IS NOT NULL;

-- Ticket counts by status, priority and assignee (0: unassigned), kept by
-- triggers in the writing transaction, so statistics never count a million rows.
CREATE TABLE ticket_counts (
    status      INTEGER NOT NULL,
    priority    INTEGER NOT NULL,
    assignee_id INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (status, priority, assignee_id)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_counts (status, priority, assignee_id, n)
    VALUES (new.status, new.priority, COALESCE(new.assignee_id, 0), 1)
    ON CONFLICT (status, priority, assignee_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE status = old.status AND priority = old.priority AND assignee_id = COALESCE(old.assignee_id, 0);
END;
CREATE TRIGGER tickets_count_update AFTER UPDATE OF status, priority, assignee_id ON tickets
WHEN old.status IS NOT new.status OR old.priority IS NOT new.priority OR old.assignee_id IS NOT new.assignee_id
BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE status = old.status AND priority = old.priority AND assignee_id = COALESCE(old.assignee_id, 0);
    INSERT INTO ticket_counts (status, priority, assignee_id, n)
    VALUES (new.status, new.priority, COALESCE(new.assignee_id, 0), 1)
    ON CONFLICT (status, priority, assignee_id) DO UPDATE SET n = n + 1;
END;

CREATE TABLE ticket_tags (
    tag       TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, ticket_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ticket_tags_ticket ON ticket_tags (ticket_id);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id  INTEGER REFERENCES users (id),
    body       TEXT NOT NULL,
    internal   INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    channel    TEXT NOT NULL CHECK (channel IN ('web', 'email', 'chat', 'phone', 'api', 'portal')),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX messages_ticket ON messages (ticket_id, id);

-- Full-text search: subjects (rowid = ticket id) and message bodies (rowid =
-- message id). The message index keeps no copy of the text, only the ticket
-- and the internal flag beside it, so a search needs no lookup in messages.
-- Triggers keep both in step inside the writing transaction: never stale.
CREATE VIRTUAL TABLE ticket_subject_fts USING fts5 (
    subject, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE message_fts USING fts5 (
    body, ticket_id UNINDEXED, internal UNINDEXED,
    content = '', contentless_delete = 1, contentless_unindexed = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_subject_fts (rowid, subject) VALUES (new.id, new.subject);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject ON tickets BEGIN
    UPDATE ticket_subject_fts SET subject = new.subject WHERE rowid = new.id;
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_subject_fts WHERE rowid = old.id;
END;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_fts (rowid, body, ticket_id, internal) VALUES (new.id, new.body, new.ticket_id, new.internal);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, internal ON messages BEGIN
    DELETE FROM message_fts WHERE rowid = old.id;
    INSERT INTO message_fts (rowid, body, ticket_id, internal) VALUES (new.id, new.body, new.ticket_id, new.internal);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_fts WHERE rowid = old.id;
END;

-- Round-robin assignment: the agent who got the last ticket. Kept in the
-- database so fairness survives restarts and concurrent creations.
CREATE TABLE assignment_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_agent_id INTEGER
) STRICT;
INSERT INTO assignment_state (id, last_agent_id) VALUES (1, NULL);

-- Links that let a requester follow a ticket without an account.
CREATE TABLE portal_tokens (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    requester_id INTEGER NOT NULL REFERENCES users (id),
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    use_count    INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT
) STRICT;
CREATE INDEX portal_tokens_ticket ON portal_tokens (ticket_id);

-- Tickets opened through a portal link join its scope.
CREATE TABLE portal_token_tickets (
    token_id  INTEGER NOT NULL REFERENCES portal_tokens (id) ON DELETE CASCADE,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, ticket_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX portal_token_tickets_ticket ON portal_token_tickets (ticket_id);

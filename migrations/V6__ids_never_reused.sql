-- Ticket and message ids are never used twice, also after a delete: an id
-- handed to a customer, a mail thread or a live stream keeps naming the
-- ticket it named. The tables are rebuilt with AUTOINCREMENT, keeping every
-- row and id (migrations run with foreign keys off; the runner checks them
-- afterwards), then their indexes and triggers are made again.

CREATE TABLE tickets_rebuilt (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO tickets_rebuilt SELECT * FROM tickets;
DROP TABLE tickets;
ALTER TABLE tickets_rebuilt RENAME TO tickets;

CREATE TABLE messages_rebuilt (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id  INTEGER REFERENCES users (id),
    body       TEXT NOT NULL,
    internal   INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    channel    TEXT NOT NULL CHECK (channel IN ('web', 'email', 'chat', 'phone', 'api', 'portal')),
    created_at TEXT NOT NULL
) STRICT;
INSERT INTO messages_rebuilt SELECT * FROM messages;
DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;
CREATE INDEX messages_ticket ON messages (ticket_id, id);

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

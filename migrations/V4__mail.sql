-- Email: the outbox of notifications, every Message-ID we sent or received,
-- inbound messages as they arrived, and the per-user notification opt-out.

ALTER TABLE users ADD COLUMN email_notifications INTEGER NOT NULL DEFAULT 1;

-- One row per notification, written in the transaction of the change that
-- caused it; a worker delivers due rows. The content is rendered when it is
-- sent, so links in it (portal, password reset) never rest in the database.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    -- The template: ticket_received, agent_reply, ticket_status, ...
    kind            TEXT NOT NULL,
    recipient_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    to_address      TEXT NOT NULL,
    ticket_id       INTEGER,
    -- The conversation message the notification is about, if any.
    message_id      INTEGER,
    params          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    -- RFC 5322 Message-ID, fixed at the first attempt so every attempt sends the same one.
    mail_message_id TEXT UNIQUE,
    subject         TEXT,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    -- Set while a worker sends the row; a row whose lease ran out is taken again.
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_ticket ON outbox (ticket_id) WHERE ticket_id IS NOT NULL;

-- Every Message-ID sent or received about a ticket, to match replies.
CREATE TABLE mail_threads (
    message_id TEXT PRIMARY KEY,
    ticket_id  INTEGER NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    created_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX mail_threads_ticket ON mail_threads (ticket_id, created_at);

-- Inbound messages as received (raw kept), with what was done with each.
CREATE TABLE inbound_mail (
    id              INTEGER PRIMARY KEY,
    -- The sender's Message-ID (or a digest of the raw message when it has none): dedupe key.
    message_id      TEXT NOT NULL UNIQUE,
    from_address    TEXT,
    subject         TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('filed', 'ignored')),
    -- How the ticket was found: reply_token, references, subject_tag, new_ticket, stranger.
    rule            TEXT,
    reason          TEXT,
    ticket_id       INTEGER,
    conversation_id INTEGER,
    created_ticket  INTEGER NOT NULL DEFAULT 0,
    raw             BLOB NOT NULL,
    received_at     TEXT NOT NULL
) STRICT;
CREATE INDEX inbound_mail_ticket ON inbound_mail (ticket_id) WHERE ticket_id IS NOT NULL;

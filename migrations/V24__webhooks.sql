-- Webhooks: where to send events, and one delivery row per event and
-- webhook, written in the transaction of the change (like the mail outbox)
-- and sent by a worker with retries.
CREATE TABLE webhooks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    url              TEXT NOT NULL,
    -- JSON array of event names; "*" for every event.
    events           TEXT NOT NULL CHECK (json_valid(events) AND json_type(events) = 'array'),
    format           TEXT NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack', 'teams', 'discord')),
    include_internal INTEGER NOT NULL DEFAULT 0 CHECK (include_internal IN (0, 1)),
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    description      TEXT,
    -- The signing key (HMAC-SHA256); shown once, when the webhook is created.
    secret           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    ticket_id       INTEGER,
    -- The event's data as agents see it, fixed when the event happened.
    data            TEXT NOT NULL CHECK (json_valid(data)),
    -- An internal note: sent only while the webhook takes internal notes.
    internal        INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    response_status INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
-- A ticket's deliveries to one webhook go out in order: an earlier one still
-- waiting holds the later ones back.
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (webhook_id, ticket_id, id)
    WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_kept ON webhook_deliveries (created_at)
    WHERE status IN ('sent', 'dead');
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (id) WHERE status = 'dead';

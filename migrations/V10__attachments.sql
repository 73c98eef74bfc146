-- Files: uploaded through the API and the portal, or arriving in mail.

-- The bytes, once per content (SHA-256), inside the database so that one
-- online backup holds everything. `text` is what search indexes of a
-- text-like file (plain text, CSV, Markdown, PDF), NULL for others. Ids are
-- never reused: a download reading a removed blob ends, and never continues
-- with the bytes of a file stored after it.
CREATE TABLE blobs (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    size   INTEGER NOT NULL CHECK (size >= 0),
    data   BLOB NOT NULL,
    text   TEXT
) STRICT;

-- One file as somebody sent it. An upload waits with message_id NULL until a
-- message takes it (or the maintenance task removes it after 24 hours).
CREATE TABLE attachments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_id         INTEGER NOT NULL REFERENCES blobs (id),
    filename        TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL CHECK (size >= 0),
    -- 'upload': through the API; 'portal': through a portal link (only that
    -- link may attach it); 'mail': from an inbound mail.
    origin          TEXT NOT NULL CHECK (origin IN ('upload', 'portal', 'mail')),
    uploader_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    portal_token_id INTEGER REFERENCES portal_tokens (id) ON DELETE SET NULL,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    -- Content-ID of an inline image in mail (without the angle brackets).
    content_id      TEXT,
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_blob ON attachments (blob_id);
CREATE INDEX attachments_uploader ON attachments (uploader_id) WHERE uploader_id IS NOT NULL;
-- What an uploader has waiting (a cap on unattached uploads per person).
CREATE INDEX attachments_waiting ON attachments (uploader_id, size) WHERE message_id IS NULL;
CREATE INDEX attachments_portal_token ON attachments (portal_token_id) WHERE portal_token_id IS NOT NULL;

-- Bytes nothing refers to any more go with the last reference (a deleted
-- ticket, message or expired upload), in the same transaction.
CREATE TRIGGER attachments_blob_release AFTER DELETE ON attachments BEGIN
    DELETE FROM blobs WHERE id = old.blob_id
        AND NOT EXISTS (SELECT 1 FROM attachments WHERE blob_id = old.blob_id);
END;

-- Search: the text of a message's text-like files, beside the message
-- bodies, with the same ticket and internal flag (rowid = attachment id).
CREATE VIRTUAL TABLE attachment_fts USING fts5 (
    body, ticket_id UNINDEXED, internal UNINDEXED,
    content = '', contentless_delete = 1, contentless_unindexed = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER attachments_fts_attach AFTER UPDATE OF message_id ON attachments
WHEN new.message_id IS NOT NULL AND old.message_id IS NULL BEGIN
    INSERT INTO attachment_fts (rowid, body, ticket_id, internal)
    SELECT new.id, b.text, m.ticket_id, m.internal
    FROM blobs b, messages m
    WHERE b.id = new.blob_id AND m.id = new.message_id AND b.text IS NOT NULL;
END;
CREATE TRIGGER attachments_fts_insert AFTER INSERT ON attachments
WHEN new.message_id IS NOT NULL BEGIN
    INSERT INTO attachment_fts (rowid, body, ticket_id, internal)
    SELECT new.id, b.text, m.ticket_id, m.internal
    FROM blobs b, messages m
    WHERE b.id = new.blob_id AND m.id = new.message_id AND b.text IS NOT NULL;
END;
CREATE TRIGGER attachments_fts_delete AFTER DELETE ON attachments
WHEN old.message_id IS NOT NULL BEGIN
    DELETE FROM attachment_fts WHERE rowid = old.id;
END;
-- A message that moves to another ticket or changes visibility takes its files' text along.
CREATE TRIGGER messages_attachment_fts_update AFTER UPDATE OF ticket_id, internal ON messages BEGIN
    DELETE FROM attachment_fts WHERE rowid IN (SELECT id FROM attachments WHERE message_id = new.id);
    INSERT INTO attachment_fts (rowid, body, ticket_id, internal)
    SELECT a.id, b.text, new.ticket_id, new.internal
    FROM attachments a JOIN blobs b ON b.id = a.blob_id
    WHERE a.message_id = new.id AND b.text IS NOT NULL;
END;

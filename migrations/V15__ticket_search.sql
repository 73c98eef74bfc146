-- Search reads one document per ticket: its subject, the text everyone on
-- the ticket may see (public messages and their files) and the team's
-- internal text (notes and their files), in three columns. One FTS5 MATCH
-- then answers a whole query, the customer's column filter keeps notes out,
-- and ranking and LIMIT run inside FTS5. The index stores no copy of the
-- text (contentless, deletable rows).
DROP TRIGGER tickets_fts_insert;
DROP TRIGGER tickets_fts_update;
DROP TRIGGER tickets_fts_delete;
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_move;
DROP TRIGGER attachments_fts_attach;
DROP TRIGGER attachments_fts_insert;
DROP TRIGGER attachments_fts_delete;
DROP TRIGGER messages_attachment_fts_update;
DROP TABLE ticket_subject_fts;
DROP TABLE message_fts;
DROP TABLE attachment_fts;

CREATE VIRTUAL TABLE ticket_text USING fts5 (
    subject, public, internal,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- A word in the subject counts as three in the text (it says what the
-- ticket is about).
INSERT INTO ticket_text (ticket_text, rank) VALUES ('rank', 'bm25(3.0, 1.0, 1.0)');

-- A ticket's document. Texts are joined with a private-use character, which
-- the tokenizer keeps as a word no query can contain, so a phrase never runs
-- from the end of one message into the next.
CREATE VIEW ticket_documents AS
SELECT t.id AS id, t.subject AS subject,
    (SELECT group_concat(text, ' ' || char(57344) || ' ') FROM (
        SELECT m.body AS text FROM messages m WHERE m.ticket_id = t.id AND m.internal = 0
        UNION ALL
        SELECT b.text FROM messages m
        JOIN attachments a ON a.message_id = m.id JOIN blobs b ON b.id = a.blob_id
        WHERE m.ticket_id = t.id AND m.internal = 0 AND b.text IS NOT NULL)) AS public,
    (SELECT group_concat(text, ' ' || char(57344) || ' ') FROM (
        SELECT m.body AS text FROM messages m WHERE m.ticket_id = t.id AND m.internal = 1
        UNION ALL
        SELECT b.text FROM messages m
        JOIN attachments a ON a.message_id = m.id JOIN blobs b ON b.id = a.blob_id
        WHERE m.ticket_id = t.id AND m.internal = 1 AND b.text IS NOT NULL)) AS internal
FROM tickets t;

-- Each change writes the ticket's document again (a ticket's text is small;
-- a message is added to one ticket).
CREATE TRIGGER ticket_text_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents WHERE id = new.id;
END;
CREATE TRIGGER ticket_text_subject AFTER UPDATE OF subject ON tickets BEGIN
    DELETE FROM ticket_text WHERE rowid = new.id;
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents WHERE id = new.id;
END;
CREATE TRIGGER ticket_text_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_text WHERE rowid = old.id;
END;
CREATE TRIGGER ticket_text_message_insert AFTER INSERT ON messages BEGIN
    DELETE FROM ticket_text WHERE rowid = new.ticket_id;
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents WHERE id = new.ticket_id;
END;
-- A body edit, a visibility flip or a move (a merge) rewrites both tickets.
CREATE TRIGGER ticket_text_message_update AFTER UPDATE OF body, internal, ticket_id ON messages BEGIN
    DELETE FROM ticket_text WHERE rowid IN (old.ticket_id, new.ticket_id);
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents WHERE id IN (old.ticket_id, new.ticket_id);
END;
CREATE TRIGGER ticket_text_message_delete AFTER DELETE ON messages BEGIN
    DELETE FROM ticket_text WHERE rowid = old.ticket_id;
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents WHERE id = old.ticket_id;
END;
-- Files with text count from when they are attached to a message until they go.
CREATE TRIGGER ticket_text_file_insert AFTER INSERT ON attachments
WHEN new.message_id IS NOT NULL
    AND EXISTS (SELECT 1 FROM blobs WHERE id = new.blob_id AND text IS NOT NULL) BEGIN
    DELETE FROM ticket_text WHERE rowid = (SELECT ticket_id FROM messages WHERE id = new.message_id);
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents
    WHERE id = (SELECT ticket_id FROM messages WHERE id = new.message_id);
END;
CREATE TRIGGER ticket_text_file_attach AFTER UPDATE OF message_id ON attachments
WHEN new.message_id IS NOT old.message_id
    AND EXISTS (SELECT 1 FROM blobs WHERE id = new.blob_id AND text IS NOT NULL) BEGIN
    DELETE FROM ticket_text WHERE rowid IN
        (SELECT ticket_id FROM messages WHERE id IN (old.message_id, new.message_id));
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents WHERE id IN
        (SELECT ticket_id FROM messages WHERE id IN (old.message_id, new.message_id));
END;
-- (Not asking the blob: the last reference's delete removes it.)
CREATE TRIGGER ticket_text_file_delete AFTER DELETE ON attachments
WHEN old.message_id IS NOT NULL BEGIN
    DELETE FROM ticket_text WHERE rowid = (SELECT ticket_id FROM messages WHERE id = old.message_id);
    INSERT INTO ticket_text (rowid, subject, public, internal)
    SELECT id, subject, public, internal FROM ticket_documents
    WHERE id = (SELECT ticket_id FROM messages WHERE id = old.message_id);
END;

INSERT INTO ticket_text (rowid, subject, public, internal)
SELECT id, subject, public, internal FROM ticket_documents;
INSERT INTO ticket_text (ticket_text) VALUES ('optimize');

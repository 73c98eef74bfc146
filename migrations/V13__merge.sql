-- A ticket merged into another: closed, and naming where its conversation went.
ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets (id) ON DELETE SET NULL;
-- Deleting a ticket looks for the ones merged into it.
CREATE INDEX tickets_merged_into ON tickets (merged_into) WHERE merged_into IS NOT NULL;

-- A message that moves to another ticket (a merge) is found there by search.
CREATE TRIGGER messages_fts_move AFTER UPDATE OF ticket_id ON messages BEGIN
    DELETE FROM message_fts WHERE rowid = old.id;
    INSERT INTO message_fts (rowid, body, ticket_id, internal) VALUES (new.id, new.body, new.ticket_id, new.internal);
END;

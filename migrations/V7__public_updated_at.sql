-- What customers see as a ticket's `updated_at`: moved by everything they can
-- see, never by an internal note, so a note cannot show through the list.
ALTER TABLE tickets ADD COLUMN public_updated_at TEXT NOT NULL DEFAULT '';
UPDATE tickets SET public_updated_at = updated_at;
-- A customer's list, newest first (their tickets by the time they see).
CREATE INDEX tickets_requester_public_updated ON tickets (requester_id, public_updated_at);

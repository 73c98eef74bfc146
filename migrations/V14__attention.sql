-- What each agent has seen and follows, and the requester's latest public
-- message on each ticket (what "unread" compares with).

-- The id of the requester's latest public message; kept by the triggers below.
ALTER TABLE tickets ADD COLUMN requester_message_id INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET requester_message_id = COALESCE((
    SELECT MAX(m.id) FROM messages m
    WHERE m.ticket_id = tickets.id AND m.author_id = tickets.requester_id AND m.internal = 0
), 0);

CREATE TRIGGER messages_requester_latest AFTER INSERT ON messages
WHEN new.internal = 0 BEGIN
    UPDATE tickets SET requester_message_id = new.id
    WHERE id = new.ticket_id AND requester_id IS new.author_id AND requester_message_id < new.id;
END;

-- Writing on a ticket is seeing it: an agent's own message leaves it read for them.
CREATE TRIGGER messages_seen_by_writer AFTER INSERT ON messages
WHEN new.author_id IS NOT NULL BEGIN
    INSERT INTO ticket_seen (user_id, ticket_id, message_id, seen_at)
    SELECT new.author_id, t.id,
           MAX(t.requester_message_id,
               CASE WHEN t.requester_id = new.author_id AND new.internal = 0 THEN new.id ELSE 0 END),
           new.created_at
    FROM tickets t JOIN users u ON u.id = new.author_id
    WHERE t.id = new.ticket_id AND u.role <> 'customer'
    ON CONFLICT (user_id, ticket_id) DO UPDATE
    SET message_id = MAX(message_id, excluded.message_id), seen_at = excluded.seen_at;
END;

-- A merge moves messages (and may turn them into notes): both tickets recount.
CREATE TRIGGER messages_requester_moved AFTER UPDATE OF ticket_id, internal ON messages BEGIN
    UPDATE tickets SET requester_message_id = COALESCE((
        SELECT MAX(m.id) FROM messages m
        WHERE m.ticket_id = tickets.id AND m.author_id = tickets.requester_id AND m.internal = 0
    ), 0)
    WHERE id IN (old.ticket_id, new.ticket_id);
END;

-- The requester's latest public message each agent had seen when they last opened the ticket.
CREATE TABLE ticket_seen (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    seen_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ticket_seen_ticket ON ticket_seen (ticket_id);

-- What agents had already answered counts as seen: up to the requester's
-- latest public message before each agent's own latest message on a ticket.
WITH answered AS (
    SELECT m.author_id AS user_id, m.ticket_id, MAX(m.id) AS last_id, MAX(m.created_at) AS at
    FROM messages m JOIN users u ON u.id = m.author_id
    WHERE u.role <> 'customer'
    GROUP BY m.author_id, m.ticket_id
)
INSERT INTO ticket_seen (user_id, ticket_id, message_id, seen_at)
SELECT a.user_id, a.ticket_id, COALESCE((
        SELECT MAX(r.id) FROM messages r JOIN tickets t ON t.id = r.ticket_id
        WHERE r.ticket_id = a.ticket_id AND r.author_id = t.requester_id
          AND r.internal = 0 AND r.id <= a.last_id
    ), 0), a.at
FROM answered a;

-- Agents following a ticket get its messages by mail and in their views.
CREATE TABLE ticket_followers (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ticket_followers_ticket ON ticket_followers (ticket_id);

-- When an invitation was last sent to a user who has not set a password yet.
ALTER TABLE users ADD COLUMN invited_at TEXT;
UPDATE users SET invited_at = created_at WHERE password_hash IS NULL AND role <> 'customer';

-- Each ticket's service-level clock (kept by the server from the policy):
-- when the first response and the resolution fall due, since when the
-- resolution clock stands (pending, resolved or closed) and how much
-- business time it stood before, and which warnings and breaches were told.
ALTER TABLE tickets ADD COLUMN first_response_due_at TEXT;
ALTER TABLE tickets ADD COLUMN resolution_due_at TEXT;
ALTER TABLE tickets ADD COLUMN sla_paused_at TEXT;
ALTER TABLE tickets ADD COLUMN sla_paused_secs INTEGER NOT NULL DEFAULT 0;
-- The earliest target still open ('~', after every time, when none): lists
-- sort by it and filter breached or due soon from one index.
ALTER TABLE tickets ADD COLUMN sla_due_at TEXT NOT NULL DEFAULT '~';
-- When the next warning or breach notice is due, if any.
ALTER TABLE tickets ADD COLUMN sla_next_at TEXT;
-- Notices told: 1 first-response warning, 2 first-response breach,
-- 4 resolution warning, 8 resolution breach.
ALTER TABLE tickets ADD COLUMN sla_notified INTEGER NOT NULL DEFAULT 0;

CREATE INDEX tickets_sla_due ON tickets (sla_due_at);
-- A status's or an agent's tickets in due order (the inbox sorted by due).
CREATE INDEX tickets_status_sla_due ON tickets (status, sla_due_at);
CREATE INDEX tickets_assignee_sla_due ON tickets (assignee_id, sla_due_at);
CREATE INDEX tickets_sla_next ON tickets (sla_next_at) WHERE sla_next_at IS NOT NULL;

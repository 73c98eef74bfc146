-- A status's tickets in creation order (the inbox sorted oldest or newest
-- first) come from an index instead of sorting every ticket of the status.
CREATE INDEX tickets_status_created ON tickets (status, created_at);

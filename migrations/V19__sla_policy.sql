-- The help desk's service levels: one policy (business hours, holidays,
-- targets per priority), kept as the JSON document the API reads and writes.
CREATE TABLE sla_policy (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    policy     TEXT NOT NULL CHECK (json_valid(policy)),
    updated_at TEXT NOT NULL
) STRICT;

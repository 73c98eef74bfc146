-- Runtime settings: one row per key, the value as JSON. Keys and defaults are
-- defined in code (src/settings.rs); a missing row means "default".
CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL
) STRICT;

-- Durations (first response, resolution) counted per day in buckets, kept
-- by triggers in the writing transaction, so medians over a window read a
-- few thousand rows instead of sorting every ticket of the window.

-- Bucket boundaries in milliseconds: 0 to 19 one each, then each 5 % above
-- the last (about 520 buckets up to 400 days; longer falls in the last).
-- A bucket's middle is within 2.5 % of any duration in it.
CREATE TABLE duration_buckets (
    lo_ms INTEGER PRIMARY KEY,
    bucket INTEGER NOT NULL UNIQUE
);
WITH RECURSIVE b (bucket, lo_ms) AS (
    SELECT 0, 0
    UNION ALL
    SELECT bucket + 1, CASE WHEN lo_ms < 20 THEN lo_ms + 1 ELSE CAST(lo_ms * 1.05 AS INTEGER) + 1 END
    FROM b WHERE lo_ms < 34560000000
)
INSERT INTO duration_buckets (lo_ms, bucket) SELECT lo_ms, bucket FROM b;

-- kind 1: creation to first public team reply, on the ticket's creation day;
-- kind 2: creation to resolution, on the resolution day. Days are UTC dates.
CREATE TABLE duration_days (
    kind INTEGER NOT NULL,
    day TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (kind, day, bucket)
) WITHOUT ROWID;

-- The bucket of a duration between two stored times (never below zero).
CREATE VIEW ticket_durations AS
SELECT t.id AS id,
    substr(t.created_at, 1, 10) AS created_day,
    substr(t.resolved_at, 1, 10) AS resolved_day,
    (SELECT bucket FROM duration_buckets WHERE lo_ms <= MAX(0, CAST(
        (julianday(t.first_response_at) - julianday(t.created_at)) * 86400000 AS INTEGER))
     ORDER BY lo_ms DESC LIMIT 1) AS first_response_bucket,
    (SELECT bucket FROM duration_buckets WHERE lo_ms <= MAX(0, CAST(
        (julianday(t.resolved_at) - julianday(t.created_at)) * 86400000 AS INTEGER))
     ORDER BY lo_ms DESC LIMIT 1) AS resolution_bucket
FROM tickets t;

CREATE TRIGGER duration_days_insert AFTER INSERT ON tickets
WHEN new.first_response_at IS NOT NULL OR new.resolved_at IS NOT NULL BEGIN
    INSERT INTO duration_days (kind, day, bucket, n)
    SELECT 1, created_day, first_response_bucket, 1 FROM ticket_durations
    WHERE id = new.id AND new.first_response_at IS NOT NULL
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + 1;
    INSERT INTO duration_days (kind, day, bucket, n)
    SELECT 2, resolved_day, resolution_bucket, 1 FROM ticket_durations
    WHERE id = new.id AND new.resolved_at IS NOT NULL
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + 1;
END;

-- A changed time moves the ticket from its old bucket to its new one.
CREATE TRIGGER duration_days_first_response BEFORE UPDATE OF first_response_at ON tickets
WHEN old.first_response_at IS NOT new.first_response_at AND old.first_response_at IS NOT NULL BEGIN
    UPDATE duration_days SET n = n - 1
    WHERE kind = 1 AND (day, bucket) = (SELECT created_day, first_response_bucket FROM ticket_durations WHERE id = old.id);
END;
CREATE TRIGGER duration_days_first_response_after AFTER UPDATE OF first_response_at ON tickets
WHEN old.first_response_at IS NOT new.first_response_at AND new.first_response_at IS NOT NULL BEGIN
    INSERT INTO duration_days (kind, day, bucket, n)
    SELECT 1, created_day, first_response_bucket, 1 FROM ticket_durations WHERE id = new.id
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER duration_days_resolution BEFORE UPDATE OF resolved_at ON tickets
WHEN old.resolved_at IS NOT new.resolved_at AND old.resolved_at IS NOT NULL BEGIN
    UPDATE duration_days SET n = n - 1
    WHERE kind = 2 AND (day, bucket) = (SELECT resolved_day, resolution_bucket FROM ticket_durations WHERE id = old.id);
END;
CREATE TRIGGER duration_days_resolution_after AFTER UPDATE OF resolved_at ON tickets
WHEN old.resolved_at IS NOT new.resolved_at AND new.resolved_at IS NOT NULL BEGIN
    INSERT INTO duration_days (kind, day, bucket, n)
    SELECT 2, resolved_day, resolution_bucket, 1 FROM ticket_durations WHERE id = new.id
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER duration_days_delete BEFORE DELETE ON tickets
WHEN old.first_response_at IS NOT NULL OR old.resolved_at IS NOT NULL BEGIN
    UPDATE duration_days SET n = n - 1
    WHERE kind = 1 AND old.first_response_at IS NOT NULL
      AND (day, bucket) = (SELECT created_day, first_response_bucket FROM ticket_durations WHERE id = old.id);
    UPDATE duration_days SET n = n - 1
    WHERE kind = 2 AND old.resolved_at IS NOT NULL
      AND (day, bucket) = (SELECT resolved_day, resolution_bucket FROM ticket_durations WHERE id = old.id);
END;

INSERT INTO duration_days (kind, day, bucket, n)
SELECT 1, created_day, first_response_bucket, COUNT(*) FROM ticket_durations d
JOIN tickets t ON t.id = d.id WHERE t.first_response_at IS NOT NULL GROUP BY 2, 3;
INSERT INTO duration_days (kind, day, bucket, n)
SELECT 2, resolved_day, resolution_bucket, COUNT(*) FROM ticket_durations d
JOIN tickets t ON t.id = d.id WHERE t.resolved_at IS NOT NULL GROUP BY 2, 3;

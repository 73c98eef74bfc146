-- The duration buckets summed per month, kept from the daily rows by
-- triggers on those rows: a report over a year reads twelve months and the
-- days at its two ends, not every day.
CREATE TABLE duration_months (
    kind   INTEGER NOT NULL,
    month  TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, month, bucket)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER duration_months_insert AFTER INSERT ON duration_days BEGIN
    INSERT INTO duration_months (kind, month, bucket, n)
    VALUES (new.kind, substr(new.day, 1, 7), new.bucket, new.n)
    ON CONFLICT (kind, month, bucket) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER duration_months_update AFTER UPDATE OF n ON duration_days BEGIN
    UPDATE duration_months SET n = n + new.n - old.n
    WHERE kind = new.kind AND month = substr(new.day, 1, 7) AND bucket = new.bucket;
END;
CREATE TRIGGER duration_months_delete AFTER DELETE ON duration_days BEGIN
    UPDATE duration_months SET n = n - old.n
    WHERE kind = old.kind AND month = substr(old.day, 1, 7) AND bucket = old.bucket;
END;
INSERT INTO duration_months (kind, month, bucket, n)
SELECT kind, substr(day, 1, 7), bucket, SUM(n) FROM duration_days GROUP BY 1, 2, 3;

CREATE TABLE agent_response_months (
    agent_id INTEGER NOT NULL,
    month    TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (agent_id, month, bucket)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER agent_response_months_insert AFTER INSERT ON agent_response_days BEGIN
    INSERT INTO agent_response_months (agent_id, month, bucket, n)
    VALUES (new.agent_id, substr(new.day, 1, 7), new.bucket, new.n)
    ON CONFLICT (agent_id, month, bucket) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER agent_response_months_update AFTER UPDATE OF n ON agent_response_days BEGIN
    UPDATE agent_response_months SET n = n + new.n - old.n
    WHERE agent_id = new.agent_id AND month = substr(new.day, 1, 7) AND bucket = new.bucket;
END;
CREATE TRIGGER agent_response_months_delete AFTER DELETE ON agent_response_days BEGIN
    UPDATE agent_response_months SET n = n - old.n
    WHERE agent_id = old.agent_id AND month = substr(old.day, 1, 7) AND bucket = old.bucket;
END;
INSERT INTO agent_response_months (agent_id, month, bucket, n)
SELECT agent_id, substr(day, 1, 7), bucket, SUM(n) FROM agent_response_days GROUP BY 1, 2, 3;

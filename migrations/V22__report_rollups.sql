-- Daily rollups for reports, kept by triggers in the writing transaction,
-- so a report over 30 or 365 days reads a few thousand rows, never the
-- window's tickets. Each is what the tickets say now (per day and current
-- assignee, 0 for nobody): a reassignment, a reopening or a deletion moves
-- or removes the ticket's part.

-- The part of each ticket: created on its creation day; resolved on its
-- resolution day, with whether the resolution target was met (the clock
-- stopped, when it stopped before the resolution while pending, by then);
-- its first response target met or missed on the day of the first response.
CREATE VIEW ticket_report_parts AS
SELECT id, substr(created_at, 1, 10) AS day, COALESCE(assignee_id, 0) AS agent_id,
       1 AS created, 0 AS resolved, 0 AS fr_met, 0 AS fr_missed, 0 AS res_met, 0 AS res_missed
FROM tickets
UNION ALL
SELECT id, substr(resolved_at, 1, 10), COALESCE(assignee_id, 0), 0, 1, 0, 0,
       resolution_due_at IS NOT NULL AND COALESCE(sla_paused_at, resolved_at) <= resolution_due_at,
       resolution_due_at IS NOT NULL AND COALESCE(sla_paused_at, resolved_at) > resolution_due_at
FROM tickets WHERE resolved_at IS NOT NULL
UNION ALL
SELECT id, substr(first_response_at, 1, 10), COALESCE(assignee_id, 0), 0, 0,
       first_response_at <= first_response_due_at, first_response_at > first_response_due_at, 0, 0
FROM tickets WHERE first_response_at IS NOT NULL AND first_response_due_at IS NOT NULL;

CREATE TABLE report_days (
    day                   TEXT NOT NULL,
    agent_id              INTEGER NOT NULL,
    created               INTEGER NOT NULL,
    resolved              INTEGER NOT NULL,
    first_response_met    INTEGER NOT NULL,
    first_response_missed INTEGER NOT NULL,
    resolution_met        INTEGER NOT NULL,
    resolution_missed     INTEGER NOT NULL,
    PRIMARY KEY (day, agent_id)
) STRICT, WITHOUT ROWID;

-- First-response durations per assignee, in the buckets of duration_days,
-- on the ticket's creation day.
CREATE TABLE agent_response_days (
    agent_id INTEGER NOT NULL,
    day      TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (agent_id, day, bucket)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER report_days_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO report_days (day, agent_id, created, resolved, first_response_met,
                             first_response_missed, resolution_met, resolution_missed)
    SELECT day, agent_id, SUM(created), SUM(resolved), SUM(fr_met), SUM(fr_missed), SUM(res_met), SUM(res_missed)
    FROM ticket_report_parts WHERE id = new.id GROUP BY day, agent_id
    ON CONFLICT (day, agent_id) DO UPDATE SET
        created = created + excluded.created, resolved = resolved + excluded.resolved,
        first_response_met = first_response_met + excluded.first_response_met,
        first_response_missed = first_response_missed + excluded.first_response_missed,
        resolution_met = resolution_met + excluded.resolution_met,
        resolution_missed = resolution_missed + excluded.resolution_missed;
    INSERT INTO agent_response_days (agent_id, day, bucket, n)
    SELECT COALESCE(new.assignee_id, 0), created_day, first_response_bucket, 1
    FROM ticket_durations WHERE id = new.id AND new.first_response_at IS NOT NULL
    ON CONFLICT (agent_id, day, bucket) DO UPDATE SET n = n + 1;
END;

-- Before a change or a deletion the ticket's old part comes off ...
CREATE TRIGGER report_days_before_update BEFORE UPDATE OF assignee_id, created_at, resolved_at,
    first_response_at, first_response_due_at, resolution_due_at, sla_paused_at ON tickets
WHEN old.assignee_id IS NOT new.assignee_id OR old.created_at IS NOT new.created_at
  OR old.resolved_at IS NOT new.resolved_at OR old.first_response_at IS NOT new.first_response_at
  OR old.first_response_due_at IS NOT new.first_response_due_at
  OR old.resolution_due_at IS NOT new.resolution_due_at
  OR old.sla_paused_at IS NOT new.sla_paused_at
BEGIN
    UPDATE report_days SET
        created = report_days.created - p.created, resolved = report_days.resolved - p.resolved,
        first_response_met = report_days.first_response_met - p.fr_met,
        first_response_missed = report_days.first_response_missed - p.fr_missed,
        resolution_met = report_days.resolution_met - p.res_met,
        resolution_missed = report_days.resolution_missed - p.res_missed
    FROM (SELECT day, agent_id, SUM(created) AS created, SUM(resolved) AS resolved, SUM(fr_met) AS fr_met,
                 SUM(fr_missed) AS fr_missed, SUM(res_met) AS res_met, SUM(res_missed) AS res_missed
          FROM ticket_report_parts WHERE id = old.id GROUP BY day, agent_id) AS p
    WHERE report_days.day = p.day AND report_days.agent_id = p.agent_id;
    UPDATE agent_response_days SET n = n - 1
    WHERE (agent_id, day, bucket) = (SELECT COALESCE(old.assignee_id, 0), created_day, first_response_bucket
                                     FROM ticket_durations WHERE id = old.id)
      AND old.first_response_at IS NOT NULL;
END;
CREATE TRIGGER report_days_before_delete BEFORE DELETE ON tickets BEGIN
    UPDATE report_days SET
        created = report_days.created - p.created, resolved = report_days.resolved - p.resolved,
        first_response_met = report_days.first_response_met - p.fr_met,
        first_response_missed = report_days.first_response_missed - p.fr_missed,
        resolution_met = report_days.resolution_met - p.res_met,
        resolution_missed = report_days.resolution_missed - p.res_missed
    FROM (SELECT day, agent_id, SUM(created) AS created, SUM(resolved) AS resolved, SUM(fr_met) AS fr_met,
                 SUM(fr_missed) AS fr_missed, SUM(res_met) AS res_met, SUM(res_missed) AS res_missed
          FROM ticket_report_parts WHERE id = old.id GROUP BY day, agent_id) AS p
    WHERE report_days.day = p.day AND report_days.agent_id = p.agent_id;
    UPDATE agent_response_days SET n = n - 1
    WHERE (agent_id, day, bucket) = (SELECT COALESCE(old.assignee_id, 0), created_day, first_response_bucket
                                     FROM ticket_durations WHERE id = old.id)
      AND old.first_response_at IS NOT NULL;
END;
-- ... and after a change its new part goes on.
CREATE TRIGGER report_days_after_update AFTER UPDATE OF assignee_id, created_at, resolved_at,
    first_response_at, first_response_due_at, resolution_due_at, sla_paused_at ON tickets
WHEN old.assignee_id IS NOT new.assignee_id OR old.created_at IS NOT new.created_at
  OR old.resolved_at IS NOT new.resolved_at OR old.first_response_at IS NOT new.first_response_at
  OR old.first_response_due_at IS NOT new.first_response_due_at
  OR old.resolution_due_at IS NOT new.resolution_due_at
  OR old.sla_paused_at IS NOT new.sla_paused_at
BEGIN
    INSERT INTO report_days (day, agent_id, created, resolved, first_response_met,
                             first_response_missed, resolution_met, resolution_missed)
    SELECT day, agent_id, SUM(created), SUM(resolved), SUM(fr_met), SUM(fr_missed), SUM(res_met), SUM(res_missed)
    FROM ticket_report_parts WHERE id = new.id GROUP BY day, agent_id
    ON CONFLICT (day, agent_id) DO UPDATE SET
        created = created + excluded.created, resolved = resolved + excluded.resolved,
        first_response_met = first_response_met + excluded.first_response_met,
        first_response_missed = first_response_missed + excluded.first_response_missed,
        resolution_met = resolution_met + excluded.resolution_met,
        resolution_missed = resolution_missed + excluded.resolution_missed;
    INSERT INTO agent_response_days (agent_id, day, bucket, n)
    SELECT COALESCE(new.assignee_id, 0), created_day, first_response_bucket, 1
    FROM ticket_durations WHERE id = new.id AND new.first_response_at IS NOT NULL
    ON CONFLICT (agent_id, day, bucket) DO UPDATE SET n = n + 1;
END;

-- Ratings per day (of the rating) and rated agent.
CREATE TABLE csat_days (
    day      TEXT NOT NULL,
    agent_id INTEGER NOT NULL,
    score    TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, agent_id, score)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER csat_days_insert AFTER INSERT ON ratings BEGIN
    INSERT INTO csat_days (day, agent_id, score, n)
    VALUES (substr(new.created_at, 1, 10), COALESCE(new.agent_id, 0), new.score, 1)
    ON CONFLICT (day, agent_id, score) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER csat_days_update AFTER UPDATE ON ratings BEGIN
    UPDATE csat_days SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND agent_id = COALESCE(old.agent_id, 0) AND score = old.score;
    INSERT INTO csat_days (day, agent_id, score, n)
    VALUES (substr(new.created_at, 1, 10), COALESCE(new.agent_id, 0), new.score, 1)
    ON CONFLICT (day, agent_id, score) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER csat_days_delete AFTER DELETE ON ratings BEGIN
    UPDATE csat_days SET n = n - 1
    WHERE day = substr(old.created_at, 1, 10) AND agent_id = COALESCE(old.agent_id, 0) AND score = old.score;
END;

-- Tickets already there.
INSERT INTO report_days (day, agent_id, created, resolved, first_response_met,
                         first_response_missed, resolution_met, resolution_missed)
SELECT day, agent_id, SUM(created), SUM(resolved), SUM(fr_met), SUM(fr_missed), SUM(res_met), SUM(res_missed)
FROM ticket_report_parts GROUP BY day, agent_id;
INSERT INTO agent_response_days (agent_id, day, bucket, n)
SELECT COALESCE(t.assignee_id, 0), d.created_day, d.first_response_bucket, COUNT(*)
FROM ticket_durations d JOIN tickets t ON t.id = d.id
WHERE t.first_response_at IS NOT NULL GROUP BY 1, 2, 3;
INSERT INTO csat_days (day, agent_id, score, n)
SELECT substr(created_at, 1, 10), COALESCE(agent_id, 0), score, COUNT(*) FROM ratings GROUP BY 1, 2, 3;

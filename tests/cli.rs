//! The `helpline` command line, run as an operator would.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::http_get;

fn helpline(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    cmd.current_dir(dir)
        .env_clear()
        .env("HELPLINE_BCRYPT_COST", "4");
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("helpline runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = run(helpline(dir.path()).arg("version"));
    assert!(ok);
    assert_eq!(
        out.trim(),
        format!("helpline {}", env!("CARGO_PKG_VERSION"))
    );
    for sub in [
        &["--help"][..],
        &["serve", "--help"],
        &["backup", "--help"],
        &["migrate", "--help"],
    ] {
        let (ok, out, _) = run(helpline(dir.path()).args(sub));
        assert!(ok, "{sub:?}");
        assert!(out.contains("Usage:"), "{sub:?}: {out}");
    }
}

#[test]
fn config_example_is_the_documented_file_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = run(helpline(dir.path()).args(["config", "--example"]));
    assert!(ok);
    assert_eq!(out, helpline::config::EXAMPLE);
    std::fs::write(dir.path().join("helpline.toml"), &out).unwrap();
    let (ok, out, err) = run(helpline(dir.path()).args(["config", "--show"]));
    assert!(ok, "{err}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["listen"], "127.0.0.1:8080");
}

#[test]
fn invalid_config_fails_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(helpline(dir.path())
        .arg("migrate")
        .env("HELPLINE_SMTP__SECURITY", "ssl"));
    assert!(!ok);
    assert!(err.contains("HELPLINE_SMTP__SECURITY"), "{err}");
    assert!(err.contains("starttls"), "says what is allowed: {err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing created on a bad config"
    );

    std::fs::write(dir.path().join("helpline.toml"), "listen = \"nowhere\"\n").unwrap();
    let (ok, _, err) = run(helpline(dir.path()).arg("serve"));
    assert!(!ok);
    assert!(err.contains("listen"), "{err}");
}

#[test]
fn migrate_creates_then_reports_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (ok, out, err) = run(helpline(dir.path())
        .args(["migrate", "--data-dir"])
        .arg(&data));
    assert!(ok, "{err}");
    assert!(out.contains("migrated from schema version 0"), "{out}");
    let (ok, out, _) = run(helpline(dir.path())
        .arg("migrate")
        .env("HELPLINE_DATA_DIR", &data));
    assert!(ok);
    assert!(out.contains("nothing to do"), "{out}");
}

/// A server process that is stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(dir: &Path) -> Self {
        let mut cmd = helpline(dir);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        let common::process::Served { child, addr, .. } = common::process::serve(cmd);
        Self { child, addr }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_answers_backup_runs_online_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let (status, _, body) = http_get(server.addr, "/health");
    assert_eq!(status, 200, "{body}");

    let backup = dir.path().join("copy.db");
    let (ok, out, err) = run(helpline(dir.path()).arg("backup").arg(&backup));
    assert!(ok, "{err}");
    assert!(out.contains("backup written"), "{out}");
    let conn = rusqlite::Connection::open(&backup).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let before = std::fs::read(&backup).unwrap();

    let (ok, _, err) = run(helpline(dir.path()).arg("backup").arg(&backup));
    assert!(!ok, "refuses to overwrite");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&backup).unwrap(), before);

    let status = server.terminate();
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");
}

#[test]
fn backup_without_a_database_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(helpline(dir.path()).args(["backup", "x.db"]));
    assert!(!ok);
    assert!(err.contains("no database"), "{err}");
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> (bool, String, String) {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn login_status(addr: SocketAddr, email: &str, password: &str) -> u16 {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, _, _) = common::http_request(
        addr,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    status
}

#[test]
fn user_create_and_reset_password_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run_with_stdin(
        helpline(dir.path()).args([
            "user",
            "create",
            "--email",
            "Boss@Example.com",
            "--role",
            "admin",
            "--name",
            "The Boss",
            "--password-stdin",
        ]),
        "first password 1\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("created admin Boss@Example.com"), "{out}");

    // Without a password and without a terminal: an invite link.
    let (ok, out, err) = run(helpline(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "agent@example.com",
            "--role",
            "agent",
        ])
        .stdin(Stdio::null()));
    assert!(ok, "{err}");
    assert!(out.contains("/accept-invite#token="), "{out}");

    let (ok, _, err) = run_with_stdin(
        helpline(dir.path()).args([
            "user",
            "create",
            "--email",
            "boss@example.com",
            "--role",
            "agent",
            "--password-stdin",
        ]),
        "whatever password\n",
    );
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = run(helpline(dir.path())
        .args(["user", "create", "--email", "nope", "--role", "agent"])
        .stdin(Stdio::null()));
    assert!(!ok);
    assert!(err.contains("email:"), "{err}");

    let (ok, out, _) =
        run(helpline(dir.path()).args(["user", "reset-password", "boss@example.com"]));
    assert!(ok);
    assert!(out.contains("/reset-password#token="), "{out}");

    let server = Server::start(dir.path());
    assert_eq!(
        login_status(server.addr, "boss@example.com", "first password 1"),
        200
    );
    let (ok, out, err) = run_with_stdin(
        helpline(dir.path()).args([
            "user",
            "reset-password",
            "BOSS@example.com",
            "--password-stdin",
        ]),
        "second password 2\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("password changed"), "{out}");
    assert_eq!(
        login_status(server.addr, "boss@example.com", "first password 1"),
        401
    );
    assert_eq!(
        login_status(server.addr, "boss@example.com", "second password 2"),
        200
    );

    let (ok, _, err) =
        run(helpline(dir.path()).args(["user", "reset-password", "ghost@example.com"]));
    assert!(!ok);
    assert!(err.contains("no user"), "{err}");
}

/// The rows triggers derive (counters, the requester's latest message, what
/// agents have seen, duration rollups) agree with the tickets and messages.
fn assert_derived_rows_agree(conn: &rusqlite::Connection) {
    let miscounted: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT status, priority, COALESCE(assignee_id, 0) AS a, COUNT(*) AS n FROM tickets GROUP BY 1, 2, 3) t
             FULL JOIN (SELECT * FROM ticket_counts WHERE n != 0) c
               ON c.status = t.status AND c.priority = t.priority AND c.assignee_id = t.a
             WHERE c.n IS NOT t.n",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(miscounted, 0, "ticket_counts agrees with the tickets");
    // What the message and duration triggers keep, the bulk path wrote too.
    let disagree = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        disagree(
            "SELECT COUNT(*) FROM tickets t WHERE requester_message_id != COALESCE((
                SELECT MAX(m.id) FROM messages m
                WHERE m.ticket_id = t.id AND m.author_id = t.requester_id AND m.internal = 0), 0)"
        ),
        0,
        "the requester's latest message"
    );
    assert_eq!(
        disagree(
            "WITH answered AS (
                SELECT m.author_id AS user_id, m.ticket_id, MAX(m.id) AS last_id, MAX(m.created_at) AS at
                FROM messages m JOIN users u ON u.id = m.author_id
                WHERE u.role <> 'customer' GROUP BY 1, 2),
             expected AS (
                SELECT a.user_id, a.ticket_id, a.at, COALESCE((
                    SELECT MAX(r.id) FROM messages r JOIN tickets t ON t.id = r.ticket_id
                    WHERE r.ticket_id = a.ticket_id AND r.author_id = t.requester_id
                      AND r.internal = 0 AND r.id <= a.last_id), 0) AS message_id
                FROM answered a)
             SELECT COUNT(*) FROM expected e FULL JOIN ticket_seen s
               ON s.user_id = e.user_id AND s.ticket_id = e.ticket_id
             WHERE s.message_id IS NOT e.message_id OR s.seen_at IS NOT e.at"
        ),
        0,
        "what each agent has seen"
    );
    assert_eq!(
        disagree(
            "WITH expected AS (
                SELECT 1 AS kind, d.created_day AS day, d.first_response_bucket AS bucket, COUNT(*) AS n
                FROM ticket_durations d JOIN tickets t ON t.id = d.id
                WHERE t.first_response_at IS NOT NULL GROUP BY 1, 2, 3
                UNION ALL
                SELECT 2, d.resolved_day, d.resolution_bucket, COUNT(*)
                FROM ticket_durations d JOIN tickets t ON t.id = d.id
                WHERE t.resolved_at IS NOT NULL GROUP BY 1, 2, 3)
             SELECT COUNT(*) FROM expected e FULL JOIN (SELECT * FROM duration_days WHERE n != 0) k
               ON k.kind = e.kind AND k.day = e.day AND k.bucket = e.bucket
             WHERE k.n IS NOT e.n"
        ),
        0,
        "the duration rollups"
    );
    assert_eq!(
        disagree(
            "WITH expected AS (
                SELECT day, agent_id, SUM(created) AS c, SUM(resolved) AS r, SUM(fr_met) AS fm,
                       SUM(fr_missed) AS fx, SUM(res_met) AS rm, SUM(res_missed) AS rx
                FROM ticket_report_parts GROUP BY 1, 2)
             SELECT COUNT(*) FROM expected e FULL JOIN report_days k ON k.day = e.day AND k.agent_id = e.agent_id
             WHERE k.created IS NOT e.c OR k.resolved IS NOT e.r OR k.first_response_met IS NOT e.fm
                OR k.first_response_missed IS NOT e.fx OR k.resolution_met IS NOT e.rm
                OR k.resolution_missed IS NOT e.rx"
        ),
        0,
        "the report rollups"
    );
    assert_eq!(
        disagree(
            "WITH expected AS (
                SELECT COALESCE(t.assignee_id, 0) AS agent_id, d.created_day AS day, d.first_response_bucket AS bucket, COUNT(*) AS n
                FROM ticket_durations d JOIN tickets t ON t.id = d.id
                WHERE t.first_response_at IS NOT NULL GROUP BY 1, 2, 3)
             SELECT COUNT(*) FROM expected e FULL JOIN (SELECT * FROM agent_response_days WHERE n != 0) k
               ON k.agent_id = e.agent_id AND k.day = e.day AND k.bucket = e.bucket
             WHERE k.n IS NOT e.n"
        ),
        0,
        "the agents' response rollups"
    );
    for (months, days, key) in [
        ("duration_months", "duration_days", "kind"),
        ("agent_response_months", "agent_response_days", "agent_id"),
    ] {
        assert_eq!(
            disagree(&format!(
                "WITH expected AS (SELECT {key} AS k, substr(day, 1, 7) AS month, bucket, SUM(n) AS n
                                   FROM {days} GROUP BY 1, 2, 3)
                 SELECT COUNT(*) FROM expected e FULL JOIN (SELECT * FROM {months} WHERE n != 0) m
                   ON m.{key} = e.k AND m.month = e.month AND m.bucket = e.bucket
                 WHERE m.n IS NOT e.n AND NOT (m.n IS NULL AND e.n = 0)"
            )),
            0,
            "{months}"
        );
    }
}

/// Every index and trigger of a fresh database is in the one at `dir`, as
/// the schema has them.
fn assert_same_schema_as_fresh(dir: &Path) {
    let fresh = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(helpline(fresh.path()).args(["migrate"]));
    assert!(ok, "{err}");
    let schema = |path: &Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(path.join("data/helpline.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(schema(dir), schema(fresh.path()));
}

#[test]
fn demo_fills_deterministically_and_refuses_a_used_database() {
    let counts = |dir: &Path| -> (i64, i64, String) {
        let conn = rusqlite::Connection::open(dir.join("data/helpline.db")).unwrap();
        let tickets = conn
            .query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))
            .unwrap();
        let messages = conn
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        let sample = conn
            .query_row(
                "SELECT subject || '|' || status || '|' || tags FROM tickets WHERE id = 77",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (tickets, messages, sample)
    };
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    for dir in [&one, &two] {
        let (ok, out, err) =
            run(helpline(dir.path()).args(["demo", "--tickets", "300", "--seed", "7"]));
        assert!(ok, "{err}");
        assert!(out.contains("300 tickets"), "{out}");
        assert!(err.contains("300/300"), "progress is shown: {err}");
    }
    let (tickets, messages, sample) = counts(one.path());
    assert_eq!(tickets, 300);
    assert!(messages >= 300);
    assert_eq!(
        counts(two.path()),
        (tickets, messages, sample),
        "same seed, same data"
    );

    let (ok, _, err) = run(helpline(one.path()).args(["demo", "--tickets", "10"]));
    assert!(!ok);
    assert!(err.contains("--force"), "{err}");
    let (ok, _, err) =
        run(helpline(one.path()).args(["demo", "--tickets", "10", "--force", "--seed", "8"]));
    assert!(ok, "{err}");
    assert_eq!(counts(one.path()).0, 310);

    // Demo data obeys the same invariants as real data.
    let conn = rusqlite::Connection::open(one.path().join("data/helpline.db")).unwrap();
    let broken: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM tickets t WHERE public_count + note_count != (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = t.id)
                OR (status = 5 AND closed_at IS NULL) OR (status IN (4, 5) AND resolved_at IS NULL)
                OR json_array_length(tags) != (SELECT COUNT(*) FROM ticket_tags g WHERE g.ticket_id = t.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(broken, 0);
    assert_derived_rows_agree(&conn);
    assert_same_schema_as_fresh(one.path());
    let found: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM ticket_text WHERE ticket_text MATCH 'subject : printer'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(found > 0, "demo tickets are searchable");
    // Every message is in its ticket's search document (filled once at the
    // end), and the index's triggers are back for whatever comes next.
    let indexed = |conn: &rusqlite::Connection, word: &str| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM ticket_text WHERE ticket_text MATCH '{public internal} : ' || ?1",
            [word],
            |r| r.get(0),
        )
        .unwrap()
    };
    let with_word: i64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT ticket_id) FROM messages WHERE body LIKE '%restarting%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(with_word > 0);
    assert_eq!(indexed(&conn, "restarting"), with_word);
    conn.execute(
        "INSERT INTO messages (ticket_id, author_id, body, internal, channel, created_at)
         VALUES (1, NULL, 'zanzibar', 0, 'web', 't')",
        [],
    )
    .unwrap();
    assert_eq!(indexed(&conn, "zanzibar"), 1, "the insert trigger is back");
}

//! The writer commits queued writes in groups: a job that fails rolls back
//! only itself, its neighbours commit, and no caller hears "done" before its
//! group is on disk (a kill -9 under load loses no acknowledged write).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestApp;
use helpline::error::Error;

/// Frames in the write-ahead log now (a passive checkpoint reports them).
fn wal_frames(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        .unwrap()
}

#[rocket::async_test]
async fn a_failing_job_rolls_back_only_itself_and_queued_jobs_share_commits() {
    let app = TestApp::new().await;
    let db = app.state().db.clone();
    db.write(|c| {
        c.execute_batch("CREATE TABLE probe (v INTEGER PRIMARY KEY)")?;
        Ok(())
    })
    .await
    .unwrap();
    let path = db.path().to_path_buf();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    assert_eq!(wal_frames(&path), 0);

    // A slow job holds the writer while 200 more queue behind it.
    let slow = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(|c| {
                std::thread::sleep(Duration::from_millis(300));
                c.execute("INSERT INTO probe (v) VALUES (-1)", [])?;
                Ok(())
            })
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut jobs = Vec::new();
    for i in 0..200i64 {
        let db = db.clone();
        jobs.push(tokio::spawn(async move {
            db.write(move |c| {
                c.execute("INSERT INTO probe (v) VALUES (?1)", [i])?;
                match i {
                    // Refuses after writing: its row must not stay.
                    7 => Err(Error::Conflict("refused".into())),
                    // Fails in SQL after writing (the same key twice).
                    99 => {
                        c.execute("INSERT INTO probe (v) VALUES (?1)", [i])?;
                        Ok(i)
                    }
                    // Panics after writing.
                    150 => panic!("job 150 panics"),
                    _ => Ok(i),
                }
            })
            .await
        }));
    }
    slow.await.unwrap().unwrap();
    for (i, job) in (0..200i64).zip(jobs) {
        match (i, job.await) {
            (7, Ok(Err(Error::Conflict(_)))) | (99, Ok(Err(Error::Database(_)))) => {}
            (150, Err(join)) => assert!(join.is_panic(), "job 150: {join}"),
            (i, Ok(Ok(v))) => assert_eq!(v, i),
            (i, other) => panic!("job {i}: {other:?}"),
        }
    }
    let rows: Vec<i64> = db
        .read(|c| {
            let mut stmt = c.prepare("SELECT v FROM probe ORDER BY v")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<i64>, _>>()?)
        })
        .await
        .unwrap();
    let expected: Vec<i64> = std::iter::once(-1)
        .chain((0..200).filter(|i| ![7, 99, 150].contains(i)))
        .collect();
    assert_eq!(
        rows, expected,
        "every job but the failed ones, nothing of those"
    );
    // One commit per job would write at least one frame each; groups share them.
    let frames = wal_frames(&path);
    assert!(
        frames < 100,
        "{frames} WAL frames for 201 queued inserts: jobs did not share commits"
    );
}

/// One HTTP exchange; `None` when the server is gone.
fn exchange(addr: SocketAddr, raw: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(raw.as_bytes()).ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    let (status, _, body) = common::split_response(&out);
    (status != 0).then_some((status, body))
}

fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &str) -> Option<(u16, String)> {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    exchange(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn helpline(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    cmd.current_dir(dir)
        .env_clear()
        .env("HELPLINE_DATA_DIR", dir)
        .env("HELPLINE_BCRYPT_COST", "4");
    cmd
}

#[test]
fn kill_9_under_write_load_loses_no_acknowledged_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let filled = helpline(dir.path())
        .args(["demo", "--tickets", "10", "--seed", "7"])
        .output()
        .unwrap();
    assert!(filled.status.success(), "{filled:?}");
    let mut acknowledged: Vec<i64> = Vec::new();
    for round in 0..3 {
        let mut cmd = helpline(dir.path());
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        let mut served = common::process::serve(cmd);
        let addr = served.addr;
        let login = r#"{"email":"agent0-7@demo.example","password":"helpline demo"}"#;
        let (status, body) = post(addr, "/api/v1/auth/login", None, login).unwrap();
        assert_eq!(status, 200, "{body}");
        let token: String = serde_json::from_str::<serde_json::Value>(&body).unwrap()
            ["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let (acked, stop, token) = (acked.clone(), stop.clone(), token.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let body = format!(
                            r#"{{"subject":"Round {round} writer {w} ticket {n}","body":"Load","requester_email":"load@example.com"}}"#
                        );
                        match post(addr, "/api/v1/tickets", Some(&token), &body) {
                            Some((201, body)) => {
                                let ticket: serde_json::Value = serde_json::from_str(&body).unwrap();
                                acked.lock().unwrap().push(ticket["id"].as_i64().unwrap());
                            }
                            Some((status, body)) => panic!("create answered {status}: {body}"),
                            None => return,
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500));
        served.child.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint
        served.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        assert!(
            acked.len() > 20,
            "round {round}: only {} writes",
            acked.len()
        );
        acknowledged.extend(acked);

        let conn = rusqlite::Connection::open(dir.path().join("helpline.db")).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let mut present = conn.prepare("SELECT 1 FROM tickets WHERE id = ?1").unwrap();
        let missing: Vec<i64> = acknowledged
            .iter()
            .copied()
            .filter(|id| !present.exists([id]).unwrap())
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged but lost: {missing:?}"
        );
    }
}

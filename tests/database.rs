//! Database lifecycle: migrations at start, refusal of newer schemas, online backups.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::test_config;
use helpline::db::migrate;
use helpline::App;
use rusqlite::Connection;

#[test]
fn database_is_created_migrated_and_restart_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir);
    let path = config.database_path();
    drop(App::builder().config(config.clone()).build().unwrap());
    let conn = Connection::open(&path).unwrap();
    assert_eq!(
        migrate::current_version(&conn).unwrap(),
        migrate::latest_version()
    );
    let applied: i64 = conn
        .query_row("SELECT COUNT(*) FROM refinery_schema_history", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);

    drop(App::builder().config(config).build().unwrap());
    let conn = Connection::open(&path).unwrap();
    let again: i64 = conn
        .query_row("SELECT COUNT(*) FROM refinery_schema_history", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(applied, again, "second start applied nothing");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn references_are_checked_until_a_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir);
    let path = config.database_path();
    drop(App::builder().config(config.clone()).build().unwrap());
    let conn = Connection::open(&path).unwrap();
    let checked: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(checked, migrate::latest_version(), "the check passed once");
    // As a migration that left a dangling reference and was refused would
    // leave it: applied, but not checked.
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO messages (ticket_id, author_id, body, internal, channel, created_at)
         VALUES (999, NULL, 'orphan', 0, 'web', 't');
         PRAGMA user_version = 0;",
    )
    .unwrap();
    drop(conn);
    for start in ["first", "second"] {
        let err = match App::builder().config(config.clone()).build() {
            Ok(_) => panic!("{start} start: broken references must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("reference rows that do not exist"),
            "{start}: {err}"
        );
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir);
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let path = config.database_path();
    {
        // A database as a future Helpline would leave it, in rollback-journal mode.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255),
                 applied_on VARCHAR(255), checksum VARCHAR(255));
             INSERT INTO refinery_schema_history VALUES (1, 'init', '2026-01-01', '1');
             INSERT INTO refinery_schema_history VALUES (999, 'future', '2030-01-01', '2');
             CREATE TABLE from_the_future (x);",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = match App::builder().config(config).build() {
        Ok(_) => panic!("a newer database must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("schema version 999"), "{err}");
    assert!(err.contains("not modified"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "file unchanged");
    assert!(
        !path.with_extension("db-wal").exists(),
        "not switched to WAL"
    );
}

#[rocket::async_test]
async fn backup_while_writing_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::builder().config(test_config(&dir)).build().unwrap();
    let db = app.state().db.clone();
    db.write(|tx| {
        tx.execute_batch("CREATE TABLE load (id INTEGER PRIMARY KEY, body TEXT NOT NULL, total INTEGER NOT NULL)")?;
        Ok(())
    })
    .await
    .unwrap();

    // A writer commits rows whose `total` must always equal the row count.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut written = 0u32;
            while !stop.load(Ordering::Relaxed) || written < 200 {
                db.write(|tx| {
                    for _ in 0..10 {
                        tx.execute(
                            "INSERT INTO load (body, total) VALUES (hex(randomblob(64)), (SELECT COUNT(*) + 1 FROM load))",
                            [],
                        )?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
                written += 10;
            }
            written
        })
    };

    tokio::task::yield_now().await;
    let mut copies = Vec::new();
    for i in 0..3 {
        let dest = dir.path().join(format!("backup-{i}.db"));
        db.backup(dest.clone()).await.unwrap();
        copies.push(dest);
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written >= 200);

    for copy in &copies {
        let conn = Connection::open(copy).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let (count, max_total): (i64, Option<i64>) = conn
            .query_row("SELECT COUNT(*), MAX(total) FROM load", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(count % 10, 0, "whole transactions only");
        assert_eq!(max_total.unwrap_or(0), count, "a consistent snapshot");
        assert_eq!(
            migrate::current_version(&conn).unwrap(),
            migrate::latest_version()
        );
    }

    let err = db.backup(copies[0].clone()).await.unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
}

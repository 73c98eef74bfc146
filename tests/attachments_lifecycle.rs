//! Where files go over time: a deleted ticket takes the files nothing else
//! holds, uploads nobody attached go after a day, and an online backup
//! carries every file (a server started on the copy serves them).

mod common;

use common::{json, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method;
use serde_json::json;

async fn upload(app: &TestApp, bearer: &str, name: &str, bytes: &[u8]) -> i64 {
    app.upload(bearer, name, "text/plain", bytes).await
}

async fn ticket_with(app: &TestApp, auth: &Auth, subject: &str, files: &[i64]) -> i64 {
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            auth,
            Some(json!({ "subject": subject, "body": "With files", "attachments": files })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    json(res).await["id"].as_i64().unwrap()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    app.state()
        .db
        .read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .await
        .unwrap()
}

#[tokio::test]
async fn deleting_a_ticket_removes_the_files_nothing_else_holds() {
    let app = TestApp::new().await;
    let (_, ann, _) = app.signed_in("ann@customer.example", Role::Customer).await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (ann_auth, admin_auth) = (Auth::Bearer(ann.clone()), Auth::Bearer(admin));
    let shared = b"the same bytes on two tickets";
    let first = [
        upload(&app, &ann, "only.txt", b"only on the first ticket").await,
        upload(&app, &ann, "shared.txt", shared).await,
    ];
    let doomed = ticket_with(&app, &ann_auth, "To be deleted", &first).await;
    let kept_file = upload(&app, &ann, "shared-again.txt", shared).await;
    let kept = ticket_with(&app, &ann_auth, "Kept", &[kept_file]).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM blobs").await,
        2,
        "same content, one blob"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ticket_text WHERE ticket_text MATCH 'public : bytes'"
        )
        .await,
        2,
        "text files indexed with their tickets"
    );

    let res = app
        .call(
            Method::Delete,
            &format!("/api/v1/tickets/{doomed}"),
            &admin_auth,
            None,
        )
        .await;
    assert_eq!(res.status().code, 204);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM blobs").await,
        1,
        "the unshared blob went"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ticket_text WHERE ticket_text MATCH 'public : bytes'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ticket_text WHERE rowid NOT IN (SELECT id FROM tickets)"
        )
        .await,
        0,
        "a deleted ticket leaves nothing in the search index"
    );
    for id in first {
        let res = app
            .call(
                Method::Get,
                &format!("/api/v1/attachments/{id}"),
                &admin_auth,
                None,
            )
            .await;
        assert_eq!(res.status().code, 404);
    }
    let res = app
        .call(
            Method::Get,
            &format!("/api/v1/attachments/{kept_file}"),
            &ann_auth,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert_eq!(res.into_bytes().await.unwrap(), shared);
    let _ = kept;
}

#[tokio::test]
async fn uploads_nobody_attached_go_after_a_day() {
    let app = TestApp::new().await;
    let (_, ann, _) = app.signed_in("ann@customer.example", Role::Customer).await;
    let stale = upload(&app, &ann, "stale.txt", b"forgotten").await;
    let fresh = upload(&app, &ann, "fresh.txt", b"just now").await;
    let old_but_used = upload(&app, &ann, "used.txt", b"on a message").await;
    ticket_with(&app, &Auth::Bearer(ann.clone()), "Used", &[old_but_used]).await;
    app.state()
        .db
        .write(move |tx| {
            tx.execute(
                "UPDATE attachments SET created_at = '2000-01-01T00:00:00.000Z' WHERE id IN (?1, ?2)",
                [stale, old_but_used],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let tmp = app.data_dir().join("tmp");
    let removed = helpline::attachments::prune(&app.state().db, &tmp)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let left: i64 = count(&app, "SELECT COUNT(*) FROM attachments").await;
    assert_eq!(left, 2);
    let auth = Auth::Bearer(ann);
    let status = |id: i64| {
        let (app, auth) = (&app, &auth);
        async move {
            app.call(
                Method::Get,
                &format!("/api/v1/attachments/{id}"),
                auth,
                None,
            )
            .await
            .status()
            .code
        }
    };
    assert_eq!(status(stale).await, 404);
    assert_eq!(status(fresh).await, 200);
    assert_eq!(status(old_but_used).await, 200);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM blobs WHERE size = 9").await,
        0,
        "its bytes too"
    );
}

#[tokio::test]
async fn a_backup_carries_the_files() {
    let app = TestApp::new().await;
    let (_, ann, _) = app.signed_in("ann@customer.example", Role::Customer).await;
    let pdf = std::fs::read(format!(
        "{}/tests/fixtures/files/invoice.pdf",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let id = upload(&app, &ann, "invoice.pdf", &pdf).await;
    let ticket = ticket_with(&app, &Auth::Bearer(ann), "Invoice", &[id]).await;

    let copy = tempfile::tempdir().unwrap();
    let data = copy.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    app.state()
        .db
        .backup(data.join("helpline.db"))
        .await
        .unwrap();

    // A server on the copy alone (its own signing key) serves the same file.
    let restored = TestApp::with(|c| c.data_dir = data.clone(), Vec::new()).await;
    let ann = restored
        .login("ann@customer.example", common::PASSWORD)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = Auth::Bearer(ann);
    let t = json(
        restored
            .call(
                Method::Get,
                &format!("/api/v1/tickets/{ticket}"),
                &auth,
                None,
            )
            .await,
    )
    .await;
    let url = t["messages"][0]["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let res = restored.call(Method::Get, &url, &auth, None).await;
    assert_eq!(res.status().code, 200);
    assert_eq!(res.into_bytes().await.unwrap(), pdf);
}

/// The queries files add, as the code runs them: each reads an index, so
/// they stay fast with millions of messages and files.
#[tokio::test]
async fn every_query_on_files_reads_an_index() {
    let app = TestApp::new().await;
    let statements = [
        "SELECT id, filename, content_type, size FROM attachments WHERE message_id = ?1 ORDER BY id",
        "SELECT a.id, a.filename, a.content_type, a.size, b.sha256, a.created_at, a.blob_id
         FROM attachments a JOIN blobs b ON b.id = a.blob_id WHERE a.message_id = ?1 ORDER BY a.id",
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM attachments WHERE uploader_id = ?1 AND message_id IS NULL",
        "DELETE FROM attachments WHERE id IN (SELECT id FROM attachments
         WHERE message_id IS NULL AND created_at < ?1 LIMIT ?2)",
        "SELECT 1 FROM attachments WHERE blob_id = ?1",
        "SELECT id FROM blobs WHERE sha256 = ?1",
        "SELECT a.id, a.filename, a.content_type, a.size, b.sha256, a.created_at, a.blob_id,
                a.origin, a.uploader_id, a.portal_token_id, m.ticket_id, t.requester_id, m.internal
         FROM attachments a JOIN blobs b ON b.id = a.blob_id
         LEFT JOIN messages m ON m.id = a.message_id
         LEFT JOIN tickets t ON t.id = m.ticket_id WHERE a.id = ?1",
    ];
    let plans = app
        .state()
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for sql in statements {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let unbound = vec![rusqlite::types::Null; stmt.parameter_count()];
                let steps: Vec<String> = stmt
                    .query_map(rusqlite::params_from_iter(unbound), |r| {
                        r.get::<_, String>(3)
                    })?
                    .collect::<Result<_, _>>()?;
                out.push((sql, steps));
            }
            Ok(out)
        })
        .await
        .unwrap();
    for (sql, steps) in plans {
        assert!(
            steps.iter().all(|s| !s.starts_with("SCAN")),
            "a full scan in {sql}: {steps:?}"
        );
        assert!(
            !steps.iter().any(|s| s.contains("TEMP B-TREE")),
            "a sort without an index in {sql}: {steps:?}"
        );
    }
}

//! Files over real TCP: multipart and raw uploads, attaching them to
//! messages on every path, downloads with their headers, ranges and
//! conditions, who may read which file (the access matrix), limits and
//! hostile input, search over the text of files, and cleaning up.

mod common;

use common::live::{self, http, login, start};
use common::wire::{self, fixture_file, get, request, upload};
use helpline::users::Role;
use serde_json::{json, Value};

const A: &str = "ann@customer.example";
const B: &str = "bob@customer.example";
const AGENT: &str = "agent@example.com";
const ADMIN: &str = "admin@example.com";

fn users() -> [(&'static str, Role); 4] {
    [
        (A, Role::Customer),
        (B, Role::Customer),
        (AGENT, Role::Agent),
        (ADMIN, Role::Admin),
    ]
}

/// One number from the server's database file.
fn scalar(server: &live::LiveServer, sql: &str) -> i64 {
    let db = rusqlite::Connection::open(server.dir.path().join("data/helpline.db")).unwrap();
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Opens a ticket as `token` whose first message takes `files`.
async fn ticket_with(addr: std::net::SocketAddr, token: &str, files: Value) -> (u16, Value) {
    http(
        addr,
        "POST",
        "/api/v1/tickets",
        Some(token),
        Some(&json!({ "subject": "Files", "body": "Here", "attachments": files })),
    )
    .await
}

/// A raw-body upload through `path` (with its `?filename=`).
async fn raw_upload(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    content_type: &str,
    bytes: &[u8],
) -> wire::Reply {
    request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", format!("Bearer {token}")),
            ("Content-Type", content_type.to_string()),
        ],
        bytes,
    )
    .await
}

async fn uploaded(addr: std::net::SocketAddr, token: &str, file: (&str, &str, &[u8])) -> i64 {
    let reply = upload(addr, "/api/v1/uploads", Some(token), file).await;
    reply.expect(201);
    reply.json()["id"].as_i64().unwrap()
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story: up, onto a ticket, down whole, in part, not again
async fn a_file_goes_up_onto_a_message_and_comes_back_the_same() {
    let server = start(&users(), |_| {}).await;
    let addr = server.addr;
    let (_, ann) = login(addr, A).await;
    let png = fixture_file("screenshot.png");

    let reply = upload(
        addr,
        "/api/v1/uploads",
        Some(&ann),
        ("screen shot.png", "image/png", &png),
    )
    .await;
    reply.expect(201);
    let up = reply.json();
    assert_eq!(up["filename"], "screen shot.png");
    assert_eq!(up["content_type"], "image/png");
    assert_eq!(up["size"], png.len());
    assert_eq!(up["sha256"].as_str().unwrap().len(), 64);
    assert!(up["created_at"].as_str().unwrap().ends_with('Z'));
    let id = up["id"].as_i64().unwrap();

    let (status, ticket) = http(
        addr,
        "POST",
        "/api/v1/tickets",
        Some(&ann),
        Some(
            &json!({ "subject": "Broken screen", "body": "See the picture", "attachments": [id] }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    let files = &ticket["messages"][0]["attachments"];
    assert_eq!(files[0]["id"], id, "{ticket}");
    assert_eq!(files[0]["filename"], "screen shot.png");
    assert_eq!(files[0]["size"], png.len());
    let url = files[0]["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("/api/v1/attachments/{id}"));

    let file = get(addr, &url, Some(&ann), &[]).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, png, "the bytes come back unchanged");
    assert_eq!(file.header("content-type"), Some("image/png"));
    assert_eq!(
        file.header("content-disposition"),
        Some("inline; filename=\"screen shot.png\"; filename*=UTF-8''screen%20shot.png")
    );
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    assert!(file
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
    assert_eq!(
        file.header("content-length"),
        Some(png.len().to_string().as_str())
    );
    let etag = file.header("etag").unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", up["sha256"].as_str().unwrap()));

    let again = get(addr, &url, Some(&ann), &[("If-None-Match", etag.clone())]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    let part = get(addr, &url, Some(&ann), &[("Range", "bytes=0-9".into())]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &png[..10]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-9/{}", png.len()).as_str())
    );
    let tail = get(addr, &url, Some(&ann), &[("Range", "bytes=-5".into())]).await;
    assert_eq!(tail.body, &png[png.len() - 5..]);
    let outside = get(
        addr,
        &url,
        Some(&ann),
        &[("Range", format!("bytes={}-", png.len()))],
    )
    .await;
    assert_eq!(outside.status, 416);
    assert_eq!(
        outside.header("content-range"),
        Some(format!("bytes */{}", png.len()).as_str())
    );
    // A stale If-Range gets the whole file.
    let stale = get(
        addr,
        &url,
        Some(&ann),
        &[
            ("Range", "bytes=0-9".into()),
            ("If-Range", "\"old\"".into()),
        ],
    )
    .await;
    assert_eq!((stale.status, stale.body.len()), (200, png.len()));

    // The same upload cannot go onto a second message.
    let ticket_id = ticket["id"].as_i64().unwrap();
    let (status, problem) = http(
        addr,
        "POST",
        &format!("/api/v1/tickets/{ticket_id}/messages"),
        Some(&ann),
        Some(&json!({ "body": "again", "attachments": [id] })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "attachments");
    let _ = server.handle.shutdown().await;
}

#[tokio::test]
async fn a_raw_body_upload_names_itself_and_large_files_stream_both_ways() {
    let server = start(&users(), |_| {}).await;
    let addr = server.addr;
    let (_, agent) = login(addr, AGENT).await;
    // 3 MiB of varied bytes: more than one piece of the blob reader.
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    let reply = raw_upload(
        addr,
        "/api/v1/uploads?filename=..%2F..%2Fetc%2Fdata%E2%80%AE.bin",
        &agent,
        "application/octet-stream",
        &big,
    )
    .await;
    reply.expect(201);
    let up = reply.json();
    assert_eq!(
        up["filename"], "data.bin",
        "path and direction controls are gone"
    );
    assert_eq!(up["size"], big.len());
    let id = up["id"].as_i64().unwrap();
    // The uploader may fetch an upload before it is on a message.
    let back = get(
        addr,
        &format!("/api/v1/attachments/{id}"),
        Some(&agent),
        &[],
    )
    .await;
    assert_eq!(back.status, 200);
    assert!(back.body == big, "3 MiB come back byte for byte");
    assert_eq!(
        back.header("content-disposition")
            .unwrap()
            .split(';')
            .next(),
        Some("attachment")
    );
    let middle = get(
        addr,
        &format!("/api/v1/attachments/{id}"),
        Some(&agent),
        &[("Range", "bytes=1000000-2000000".into())],
    )
    .await;
    assert_eq!(middle.status, 206);
    assert!(middle.body == big[1_000_000..=2_000_000]);
    let _ = server.handle.shutdown().await;
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // every refusal an upload or an attachment can meet
async fn limits_and_hostile_files_are_answered_safely() {
    let server = start(&users(), |c| {
        c.attachments.max_file_bytes = rocket::data::ByteUnit::Kibibyte(64);
        c.attachments.max_message_bytes = rocket::data::ByteUnit::Kibibyte(100);
    })
    .await;
    let addr = server.addr;
    let (_, ann) = login(addr, A).await;
    let (_, bob) = login(addr, B).await;

    // Over the limit: 413 problem, multipart or raw, and nothing stored.
    let big = vec![7u8; 65 * 1024];
    let over = upload(
        addr,
        "/api/v1/uploads",
        Some(&ann),
        ("big.bin", "application/octet-stream", &big),
    )
    .await;
    assert_eq!(over.status, 413);
    assert_eq!(
        over.header("content-type"),
        Some("application/problem+json")
    );
    let raw_over = raw_upload(
        addr,
        "/api/v1/uploads?filename=big.bin",
        &ann,
        "application/zip",
        &big,
    )
    .await;
    assert_eq!(raw_over.status, 413);
    let at_limit = upload(
        addr,
        "/api/v1/uploads",
        Some(&ann),
        ("fits.bin", "application/octet-stream", &big[..64 * 1024]),
    )
    .await;
    assert_eq!(at_limit.status, 201);
    let blobs: i64 = scalar(&server, "SELECT COUNT(*) FROM blobs");
    assert_eq!(blobs, 1, "only the file within the limit is stored");

    // Anonymous: 401. A multipart body without `file`: 422.
    let anonymous = upload(
        addr,
        "/api/v1/uploads",
        None,
        ("a.txt", "text/plain", b"hi"),
    )
    .await;
    assert_eq!(anonymous.status, 401);
    let (ct, body) = wire::multipart("a.txt", "text/plain", b"hi");
    let wrong_part = request(
        addr,
        "POST",
        "/api/v1/uploads",
        &[
            ("Authorization", format!("Bearer {ann}")),
            ("Content-Type", ct),
        ],
        &String::from_utf8(body)
            .unwrap()
            .replace("name=\"file\"", "name=\"other\"")
            .into_bytes(),
    )
    .await;
    wrong_part.expect(422);

    // HTML claiming to be a PNG is never served as an image or inline.
    let fake = uploaded(
        addr,
        &ann,
        (
            "image.png",
            "image/png",
            b"<html><script>alert(1)</script></html>",
        ),
    )
    .await;
    let fake_download = get(
        addr,
        &format!("/api/v1/attachments/{fake}"),
        Some(&ann),
        &[],
    )
    .await;
    assert_eq!(
        fake_download.header("content-type"),
        Some("application/octet-stream")
    );
    assert!(fake_download
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    // Names with controls, right-to-left overrides and 300 characters.
    let rtl = uploaded(addr, &ann, ("invoice\u{202E}fdp.exe", "text/plain", b"x")).await;
    let long = uploaded(
        addr,
        &ann,
        (&format!("{}.txt", "a".repeat(300)), "text/plain", b"y"),
    )
    .await;
    let rtl_served = get(addr, &format!("/api/v1/attachments/{rtl}"), Some(&ann), &[]).await;
    let disposition = rtl_served.header("content-disposition").unwrap();
    assert!(
        !disposition.contains('\u{202E}') && !disposition.contains("%E2%80%AE"),
        "{disposition}"
    );
    assert!(disposition.contains("invoicefdp.exe"), "{disposition}");
    let long_served = get(
        addr,
        &format!("/api/v1/attachments/{long}"),
        Some(&ann),
        &[],
    )
    .await;
    let disposition = long_served.header("content-disposition").unwrap();
    assert!(
        disposition.len() < 500 && disposition.contains(".txt"),
        "{disposition}"
    );

    // Someone else's upload, an unknown id, or too much together: 422.
    let bob_upload = uploaded(addr, &bob, ("bob.txt", "text/plain", b"bob's")).await;
    for ids in [json!([bob_upload]), json!([999_999]), json!([fake, fake])] {
        let (status, problem) = ticket_with(addr, &ann, ids.clone()).await;
        assert_eq!(status, 422, "{ids}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "attachments", "{problem}");
    }
    let second = uploaded(
        addr,
        &ann,
        (
            "second.bin",
            "application/octet-stream",
            &vec![9u8; 60 * 1024],
        ),
    )
    .await;
    let fits: i64 = scalar(
        &server,
        "SELECT id FROM attachments WHERE filename = 'fits.bin'",
    );
    let (status, _) = ticket_with(addr, &ann, json!([fits, second])).await;
    assert_eq!(status, 422, "124 KiB is over the 100 KiB per message");
    // A refused message leaves its uploads free to use.
    let (status, ticket) = ticket_with(addr, &ann, json!([fits])).await;
    assert_eq!(status, 201, "{ticket}");
    // Bob cannot read Ann's upload, attached or not.
    for id in [fits, second, 999_999] {
        let reply = get(addr, &format!("/api/v1/attachments/{id}"), Some(&bob), &[]).await;
        assert_eq!(reply.status, 404, "attachment {id}");
    }

    // Uploads waiting to be attached are capped per person (here twice the
    // 100 KiB per message): more answers 429 until some are used or expire.
    let mut refused = None;
    for n in 0..5 {
        let reply = upload(
            addr,
            "/api/v1/uploads",
            Some(&bob),
            (
                &format!("filler-{n}.bin"),
                "application/octet-stream",
                &vec![n; 60 * 1024],
            ),
        )
        .await;
        if reply.status != 201 {
            refused = Some((n, reply));
            break;
        }
    }
    let (n, reply) = refused.expect("the cap answers");
    assert_eq!(
        (n, reply.status),
        (3, 429),
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.header("retry-after").is_some());
    let _ = server.handle.shutdown().await;
}

/// Every reader against files on a public answer and on an internal note.
#[tokio::test]
#[allow(clippy::too_many_lines)] // the whole matrix: API, portal, conversation, search
async fn nothing_leaks_across_the_access_matrix() {
    let server = start(&users(), |_| {}).await;
    let addr = server.addr;
    let (_, ann) = login(addr, A).await;
    let (_, bob) = login(addr, B).await;
    let (_, agent) = login(addr, AGENT).await;
    let (_, admin) = login(addr, ADMIN).await;
    let ticket = live::open_ticket(addr, &ann, "Ann's ticket").await;
    let other = live::open_ticket(addr, &bob, "Bob's ticket").await;

    let public_file = uploaded(
        addr,
        &agent,
        (
            "answer.pdf",
            "application/pdf",
            &fixture_file("invoice.pdf"),
        ),
    )
    .await;
    let note_file = uploaded(
        addr,
        &agent,
        ("secret.txt", "text/plain", b"internal tangerine notes"),
    )
    .await;
    for (body, internal, file) in [
        ("Here is the invoice", false, public_file),
        ("Internal remark", true, note_file),
    ] {
        let (status, message) = http(
            addr,
            "POST",
            &format!("/api/v1/tickets/{ticket}/messages"),
            Some(&agent),
            Some(&json!({ "body": body, "internal": internal, "attachments": [file] })),
        )
        .await;
        assert_eq!(status, 201, "{message}");
        assert_eq!(message["attachments"][0]["id"], file);
    }
    let token_for = |ticket: i64| {
        let agent = agent.clone();
        async move {
            let (status, issued) = http(
                addr,
                "POST",
                "/api/v1/portal-tokens",
                Some(&agent),
                Some(&json!({ "ticket_id": ticket })),
            )
            .await;
            assert_eq!(status, 201, "{issued}");
            issued["token"].as_str().unwrap().to_string()
        }
    };
    let in_scope = token_for(ticket).await;
    let out_of_scope = token_for(other).await;

    let api = |id: i64| format!("/api/v1/attachments/{id}");
    let cases: [(&str, Option<&str>, u16, u16); 6] = [
        ("anonymous", None, 401, 401),
        ("customer A", Some(&ann), 200, 404),
        ("customer B", Some(&bob), 404, 404),
        ("agent", Some(&agent), 200, 200),
        ("admin", Some(&admin), 200, 200),
        ("customer A again", Some(&ann), 200, 404),
    ];
    for (who, token, public_status, note_status) in cases {
        assert_eq!(
            get(addr, &api(public_file), token, &[]).await.status,
            public_status,
            "{who}, public"
        );
        assert_eq!(
            get(addr, &api(note_file), token, &[]).await.status,
            note_status,
            "{who}, note"
        );
    }
    let portal = |token: &str, id: i64| format!("/api/v1/portal/{token}/attachments/{id}");
    for (link, file, expected) in [
        (in_scope.as_str(), public_file, 200),
        (in_scope.as_str(), note_file, 404),
        (out_of_scope.as_str(), public_file, 404),
        (out_of_scope.as_str(), note_file, 404),
        ("not-a-token", public_file, 404),
    ] {
        let status = get(addr, &portal(link, file), None, &[]).await.status;
        assert_eq!(status, expected, "link {link}, file {file}");
    }

    // The conversation lists files only where their message shows.
    let (_, seen_by_ann) = http(
        addr,
        "GET",
        &format!("/api/v1/tickets/{ticket}"),
        Some(&ann),
        None,
    )
    .await;
    let listed: Vec<i64> = files_of(&seen_by_ann);
    assert_eq!(listed, [public_file], "{seen_by_ann}");
    let (_, seen_by_agent) = http(
        addr,
        "GET",
        &format!("/api/v1/tickets/{ticket}"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(files_of(&seen_by_agent), [public_file, note_file]);
    let (_, view) = http(
        addr,
        "GET",
        &format!("/api/v1/portal/{in_scope}"),
        None,
        None,
    )
    .await;
    let portal_files: Vec<&Value> = view["tickets"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().unwrap())
        .collect();
    assert_eq!(portal_files.len(), 1, "{view}");
    assert_eq!(portal_files[0]["url"], portal(&in_scope, public_file));

    // Customer B guessing ids: 404 for every one that is not theirs.
    for id in 1..=(note_file + 3) {
        assert_eq!(
            get(addr, &api(id), Some(&bob), &[]).await.status,
            404,
            "guess {id}"
        );
    }

    // An unknown link uploads nothing.
    let reply = upload(
        addr,
        "/api/v1/portal/no-such-link/uploads",
        None,
        ("x.txt", "text/plain", b"x"),
    )
    .await;
    assert_eq!(reply.status, 404);

    // The portal link holder uploads and answers with a file.
    let reply = upload(
        addr,
        &format!("/api/v1/portal/{in_scope}/uploads"),
        None,
        ("portal.txt", "text/plain", b"from the portal"),
    )
    .await;
    reply.expect(201);
    let portal_upload = reply.json()["id"].as_i64().unwrap();
    // Another link cannot use it; this link can.
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/v1/portal/{out_of_scope}/messages"),
        None,
        Some(&json!({ "body": "mine?", "attachments": [portal_upload] })),
    )
    .await;
    assert_eq!(status, 422);
    let (status, message) = http(
        addr,
        "POST",
        &format!("/api/v1/portal/{in_scope}/messages"),
        None,
        Some(&json!({ "body": "A file from me", "attachments": [portal_upload] })),
    )
    .await;
    assert_eq!(status, 201, "{message}");
    assert_eq!(
        message["attachments"][0]["url"],
        portal(&in_scope, portal_upload)
    );
    assert_eq!(
        get(addr, &api(portal_upload), Some(&agent), &[])
            .await
            .status,
        200
    );
    assert_eq!(
        get(addr, &api(portal_upload), Some(&ann), &[]).await.status,
        200
    );
    assert_eq!(
        get(addr, &api(portal_upload), Some(&bob), &[]).await.status,
        404
    );

    // Search: the PDF's words find the ticket for its requester; the note's
    // file text only for the team.
    let search = |token: String, q: &str| {
        let q = q.to_string();
        async move {
            let (status, page) = http(
                addr,
                "GET",
                &format!("/api/v1/tickets?q={q}"),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(status, 200, "{page}");
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        search(ann.clone(), "zebra").await,
        [ticket],
        "the PDF's text"
    );
    assert_eq!(search(agent.clone(), "zebra").await, [ticket]);
    assert_eq!(search(bob.clone(), "zebra").await, Vec::<i64>::new());
    assert_eq!(
        search(agent.clone(), "tangerine").await,
        [ticket],
        "the note's file, for agents"
    );
    assert_eq!(
        search(ann.clone(), "tangerine").await,
        Vec::<i64>::new(),
        "not for the requester"
    );
    let _ = server.handle.shutdown().await;
}

fn files_of(ticket: &Value) -> Vec<i64> {
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().unwrap())
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

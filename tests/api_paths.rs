//! Paths and methods: an id that cannot exist names no resource (404, for
//! every method, never 405); a method Rocket does not know still gets a
//! problem document with its request id and the security headers.

mod common;

use common::{live, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method;

const NOT_IDS: [&str; 6] = [
    "0",
    "-1",
    "abc",
    "1.5",
    "9223372036854775808",
    "18446744073709551616",
];
const METHODS: [Method; 5] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
];

#[rocket::async_test]
async fn every_route_answers_404_for_ids_that_cannot_exist() {
    let app = TestApp::new().await;
    let (_, token, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let auth = Auth::Bearer(token);
    let templates: Vec<String> = app
        .client
        .rocket()
        .routes()
        .map(|r| r.uri.path().to_string())
        .filter(|path| path.contains("<id>"))
        .collect();
    assert!(
        templates.len() >= 10,
        "the routes with ids are found: {templates:?}"
    );
    let mut checked = 0;
    for template in &templates {
        for not_an_id in NOT_IDS {
            let path = template.replace("<id>", not_an_id);
            for method in METHODS {
                let body = matches!(method, Method::Post | Method::Put | Method::Patch)
                    .then(|| serde_json::json!({}));
                let res = app.call(method, &path, &auth, body).await;
                assert_eq!(
                    res.status().code,
                    404,
                    "{method} {path} answers 404, never 405 or 422"
                );
                assert_eq!(res.headers().get_one("Allow"), None, "{method} {path}");
                problem(res, 404).await;
                checked += 1;
            }
        }
    }
    assert!(checked >= 300, "{checked} requests");
}

#[rocket::async_test]
async fn a_static_segment_is_not_an_id() {
    let app = TestApp::new().await;
    let (_, token, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let res = app
        .call(
            Method::Delete,
            "/api/v1/users/me",
            &Auth::Bearer(token),
            None,
        )
        .await;
    assert_eq!(res.headers().get_one("Allow"), Some("GET, HEAD, PATCH"));
    problem(res, 405).await;
}

#[rocket::async_test]
async fn unknown_methods_get_405_with_request_id_and_security_headers() {
    let server = live::start(&[], |_| {}).await;
    for (method, path, status, allow) in [
        ("QUERY", "/api/v1/users/me", 405, Some("GET, HEAD, PATCH")),
        ("FOO", "/api/v1/tickets", 405, Some("GET, HEAD, POST")),
        ("QUERY", "/api/v1/nothing-here", 404, None),
        ("TRACE", "/api/v1/users/me", 405, Some("GET, HEAD, PATCH")),
    ] {
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nX-Request-Id: probe-{method}\r\nConnection: close\r\n\r\n",
            server.addr
        );
        let addr = server.addr;
        let (code, head, body) =
            tokio::task::spawn_blocking(move || common::http_request(addr, &raw))
                .await
                .unwrap();
        let head = head.to_ascii_lowercase();
        assert_eq!(code, status, "{method} {path}: {head}\n{body}");
        assert!(
            head.contains(&format!(
                "x-request-id: probe-{}",
                method.to_ascii_lowercase()
            )),
            "{method} {path} echoes the request id: {head}"
        );
        for header in [
            "content-security-policy:",
            "x-content-type-options: nosniff",
            "x-frame-options: deny",
            "content-type: application/problem+json",
        ] {
            assert!(
                head.contains(header),
                "{method} {path} has {header}: {head}"
            );
        }
        match allow {
            Some(allow) => assert!(
                head.contains(&format!("allow: {}", allow.to_ascii_lowercase())),
                "{method} {path}: {head}"
            ),
            None => assert!(!head.contains("\r\nallow:"), "{method} {path}: {head}"),
        }
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], status);
        assert_eq!(body["request_id"], format!("probe-{method}"));
    }
    server.handle.shutdown().await.unwrap();
}

//! Service endpoints, web assets, headers, CORS and the OpenAPI document.

mod common;

use std::collections::BTreeSet;

use common::{json, problem, TestApp};
use rocket::http::{Header, Method, Status};

#[rocket::async_test]
async fn health_and_ready() {
    let app = TestApp::new().await;
    let res = app.client.get("/health").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let body = json(res).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));

    let res = app.client.get("/ready").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let body = json(res).await;
    assert_eq!(body["status"], "ready");
    assert!(body["schema_version"].as_u64().unwrap() >= 1);
}

#[rocket::async_test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::new().await;
    for _ in 0..3 {
        app.client.get("/health").dispatch().await;
    }
    app.client.get("/api/v1/nope").dispatch().await;
    // As a Prometheus on the same machine asks.
    let res = app
        .client
        .get("/metrics")
        .remote("127.0.0.1:9090".parse().unwrap())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert!(res
        .content_type()
        .unwrap()
        .to_string()
        .starts_with("text/plain"));
    let text = res.into_string().await.unwrap();
    assert!(
        text.contains(
            r#"helpline_http_requests_total{method="GET",route="/health",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"status="404"} 1"#), "{text}");
    assert!(text.contains(r#"helpline_http_request_duration_seconds_bucket{method="GET",route="/health",status="200",le="+Inf"} 3"#));
    assert!(text.contains(r#"helpline_db_pool_max_connections{pool="writer"} 1"#));
    assert!(text.contains(&format!(
        r#"helpline_build_info{{version="{}"}} 1"#,
        env!("CARGO_PKG_VERSION")
    )));
}

#[rocket::async_test]
async fn security_headers_on_every_response() {
    let app = TestApp::new().await;
    for path in ["/health", "/", "/api/v1/missing"] {
        let res = app.client.get(path).dispatch().await;
        let h = res.headers();
        assert!(
            h.get_one("Content-Security-Policy")
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(
            h.get_one("X-Content-Type-Options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(h.get_one("Referrer-Policy").is_some(), "{path}");
        assert!(h.get_one("X-Request-Id").is_some(), "{path}");
    }
}

#[rocket::async_test]
async fn landing_page_names_the_product_and_version() {
    let app = TestApp::new().await;
    let res = app.client.get("/").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.content_type(), Some(rocket::http::ContentType::HTML));
    let html = res.into_string().await.unwrap();
    assert!(html.contains("Helpline"));
    assert!(html.contains(&format!("Version {}", env!("CARGO_PKG_VERSION"))));
    assert!(html.contains("href=\"/docs\"") && html.contains("href=\"/health\""));
}

#[rocket::async_test]
async fn assets_have_etags_and_answer_304() {
    let app = TestApp::new().await;
    let res = app.client.get("/docs/init.js").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        res.content_type(),
        Some(rocket::http::ContentType::JavaScript)
    );
    assert_eq!(res.headers().get_one("Cache-Control"), Some("no-cache"));
    let etag = res.headers().get_one("ETag").unwrap().to_string();

    let res = app
        .client
        .get("/docs/init.js")
        .header(Header::new("If-None-Match", etag.clone()))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotModified);
    assert_eq!(res.headers().get_one("ETag"), Some(etag.as_str()));
    assert!(res.into_bytes().await.unwrap_or_default().is_empty());

    let res = app
        .client
        .get("/docs/vendor/swagger-ui-5.35.0/swagger-ui.css")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.content_type(), Some(rocket::http::ContentType::CSS));
    assert!(res
        .headers()
        .get_one("Cache-Control")
        .unwrap()
        .contains("immutable"));
}

#[rocket::async_test]
async fn app_paths_fall_back_to_index_but_api_paths_do_not() {
    let app = TestApp::new().await;
    let res = app.client.get("/tickets/42").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert!(res
        .into_string()
        .await
        .unwrap()
        .contains("<h1>Helpline</h1>"));
    problem(
        app.client
            .get("/api/v1/tickets/42/nothing")
            .dispatch()
            .await,
        404,
    )
    .await;
}

#[rocket::async_test]
async fn docs_viewer_is_served_from_embedded_assets() {
    let app = TestApp::new().await;
    let res = app.client.get("/docs").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    // Every script and stylesheet the viewer loads is served by us.
    for needle in ["src=\"/docs/", "href=\"/docs/"] {
        for (i, _) in html.match_indices(needle) {
            let rest = &html[i + needle.len() - "/docs/".len()..];
            let url = &rest[..rest.find('"').unwrap()];
            let res = app.client.get(url.to_string()).dispatch().await;
            assert_eq!(res.status(), Status::Ok, "{url}");
        }
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
    let init = app
        .client
        .get("/docs/init.js")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(init.contains("/api/v1/openapi.json"));
}

#[rocket::async_test]
async fn public_settings_have_defaults() {
    let app = TestApp::new().await;
    let res = app.client.get("/api/v1/settings/public").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let body = json(res).await;
    assert_eq!(body["helpdesk_name"], "Helpline");
    assert_eq!(body["allow_registration"], true);
    assert_eq!(body["support_bubble_enabled"], false);
    assert!(body["support_email"].is_null());
}

#[rocket::async_test]
async fn cors_only_for_configured_origins() {
    let app = TestApp::with(
        |c| c.cors_origins = vec!["https://shop.example".into()],
        Vec::new(),
    )
    .await;
    let res = app
        .client
        .req(Method::Options, "/api/v1/settings/public")
        .header(Header::new("Origin", "https://shop.example"))
        .header(Header::new("Access-Control-Request-Method", "GET"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NoContent);
    assert_eq!(
        res.headers().get_one("Access-Control-Allow-Origin"),
        Some("https://shop.example")
    );
    assert!(res
        .headers()
        .get_one("Access-Control-Allow-Methods")
        .unwrap()
        .contains("PATCH"));

    let res = app
        .client
        .get("/health")
        .header(Header::new("Origin", "https://shop.example"))
        .dispatch()
        .await;
    assert_eq!(
        res.headers().get_one("Access-Control-Allow-Origin"),
        Some("https://shop.example")
    );
    assert!(res
        .headers()
        .get_one("Access-Control-Expose-Headers")
        .unwrap()
        .contains("X-Request-Id"));

    let res = app
        .client
        .get("/health")
        .header(Header::new("Origin", "https://evil.example"))
        .dispatch()
        .await;
    assert_eq!(res.headers().get_one("Access-Control-Allow-Origin"), None);

    let plain = TestApp::new().await;
    let res = plain
        .client
        .get("/health")
        .header(Header::new("Origin", "https://shop.example"))
        .dispatch()
        .await;
    assert_eq!(
        res.headers().get_one("Access-Control-Allow-Origin"),
        None,
        "off by default"
    );
}

#[rocket::async_test]
async fn openapi_document_lists_every_mounted_api_route() {
    let app = TestApp::new().await;
    let res = app.client.get("/api/v1/openapi.json").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let doc = json(res).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let mounted: BTreeSet<(String, String)> = app
        .client
        .rocket()
        .routes()
        .filter(|r| !helpline::web::is_web_route(r))
        .map(|r| (r.method.as_str().to_string(), openapi_path(r.uri.path())))
        .collect();
    assert!(!mounted.is_empty());
    let missing: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        stale.is_empty(),
        "documented paths with no route: {stale:?}"
    );
}

/// `/api/v1/tickets/<id>` -> `/api/v1/tickets/{id}`.
fn openapi_path(template: &str) -> String {
    template
        .split('/')
        .map(
            |seg| match seg.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                Some(name) => format!("{{{}}}", name.trim_end_matches("..")),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

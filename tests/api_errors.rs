//! Every error is an RFC 9457 problem document with a request id.

mod common;

use common::{problem, TestApp};
use helpline::http::json::ApiJson;
use rocket::http::{ContentType, Header, Status};
use rocket::{get, post, routes};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Greeting {
    name: String,
    times: Option<u8>,
}

#[post("/greet", data = "<body>")]
fn greet(body: ApiJson<Greeting>) -> String {
    let g = body.into_inner();
    format!("hello {} x{}", g.name, g.times.unwrap_or(1))
}

#[get("/panic")]
fn panics() -> &'static str {
    panic!("a bug in a handler")
}

#[get("/teapot")]
fn teapot() -> Status {
    Status::ImATeapot
}

async fn app() -> TestApp {
    TestApp::with(
        |c| c.body_limit = rocket::data::ByteUnit::Kibibyte(1),
        routes![greet, panics, teapot],
    )
    .await
}

#[rocket::async_test]
async fn valid_json_reaches_the_handler() {
    let app = app().await;
    let res = app
        .client
        .post("/test/greet")
        .header(ContentType::JSON)
        .body(r#"{"name":"Ada","times":2}"#)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.into_string().await.unwrap(), "hello Ada x2");
}

#[rocket::async_test]
async fn unknown_api_route_is_404() {
    let app = app().await;
    let body = problem(app.client.get("/api/v1/nothing-here").dispatch().await, 404).await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("/api/v1/nothing-here"));
    problem(app.client.delete("/nothing").dispatch().await, 404).await;
}

#[rocket::async_test]
async fn missing_asset_file_is_404_not_the_app() {
    let app = app().await;
    problem(app.client.get("/missing.js").dispatch().await, 404).await;
}

#[rocket::async_test]
async fn wrong_method_is_405_with_allow() {
    let app = app().await;
    let res = app.client.delete("/health").dispatch().await;
    assert_eq!(res.headers().get_one("Allow"), Some("GET, HEAD"));
    problem(res, 405).await;
    let res = app.client.post("/api/v1/settings/public").dispatch().await;
    assert_eq!(res.headers().get_one("Allow"), Some("GET, HEAD"));
    problem(res, 405).await;
}

#[rocket::async_test]
async fn malformed_json_is_400() {
    let app = app().await;
    let res = app
        .client
        .post("/test/greet")
        .header(ContentType::JSON)
        .body(r#"{"name": "Ada""#)
        .dispatch()
        .await;
    let body = problem(res, 400).await;
    assert!(
        body["detail"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
}

#[rocket::async_test]
async fn unknown_and_mistyped_fields_are_422_with_field_errors() {
    let app = app().await;
    let res = app
        .client
        .post("/test/greet")
        .header(ContentType::JSON)
        .body(r#"{"name":"Ada","tiems":2}"#)
        .dispatch()
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "tiems", "{body}");

    let res = app
        .client
        .post("/test/greet")
        .header(ContentType::JSON)
        .body(r#"{"name":"Ada","times":300}"#)
        .dispatch()
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "times", "{body}");
}

#[rocket::async_test]
async fn wrong_content_type_is_415() {
    let app = app().await;
    let res = app
        .client
        .post("/test/greet")
        .header(ContentType::Form)
        .body("name=Ada")
        .dispatch()
        .await;
    problem(res, 415).await;
    let res = app
        .client
        .post("/test/greet")
        .body(r#"{"name":"Ada"}"#)
        .dispatch()
        .await;
    problem(res, 415).await;
}

#[rocket::async_test]
async fn oversized_body_is_413() {
    let app = app().await;
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(4096));
    let res = app
        .client
        .post("/test/greet")
        .header(ContentType::JSON)
        .body(big)
        .dispatch()
        .await;
    problem(res, 413).await;
}

#[rocket::async_test]
async fn handler_panic_is_500_and_the_server_keeps_serving() {
    let app = app().await;
    let body = problem(app.client.get("/test/panic").dispatch().await, 500).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.contains("a bug in a handler"),
        "no internals leak: {detail}"
    );
    let res = app.client.get("/health").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn other_statuses_from_handlers_are_problems_too() {
    let app = app().await;
    problem(app.client.get("/test/teapot").dispatch().await, 418).await;
}

#[rocket::async_test]
async fn request_ids_are_echoed_when_well_formed() {
    let app = app().await;
    let res = app
        .client
        .get("/health")
        .header(Header::new("X-Request-Id", "trace-abc.123"))
        .dispatch()
        .await;
    assert_eq!(res.headers().get_one("X-Request-Id"), Some("trace-abc.123"));

    let res = app
        .client
        .get("/api/v1/none")
        .header(Header::new("X-Request-Id", "bad id with spaces"))
        .dispatch()
        .await;
    let id = res.headers().get_one("X-Request-Id").unwrap().to_string();
    assert_ne!(id, "bad id with spaces");
    assert_eq!(id.len(), 36, "a fresh UUID: {id}");
    let body = problem(res, 404).await;
    assert_eq!(body["request_id"], id.as_str());
}

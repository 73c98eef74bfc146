//! The OpenAPI document against the server: it is a valid OpenAPI 3.1
//! document (checked by `openapi-spec-validator`), its operation ids are
//! unique, and Schemathesis, fuzzing every operation from it with every check,
//! finds nothing as admin, as customer and anonymously.
//!
//! The Python tools come from the Python package index (`pip install
//! schemathesis openapi-spec-validator`); without them these tests say so and
//! pass, unless `HELPLINE_CONTRACT=required` (as in CI).

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::process::{serve, Served};

/// Test cases per operation and phase: enough to cross every check, small
/// enough for CI (about a minute a role on two cores).
const MAX_EXAMPLES: &str = "5";
const SEED: &str = "20261127";

fn tool_present(program: &str, args: &[&str]) -> bool {
    let found = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    #[allow(clippy::disallowed_methods)] // a test switch, not configuration
    let required = std::env::var("HELPLINE_CONTRACT").is_ok_and(|v| v == "required");
    assert!(
        found || !required,
        "HELPLINE_CONTRACT=required but `{program} {}` fails: pip install schemathesis openapi-spec-validator",
        args.join(" ")
    );
    if !found {
        eprintln!(
            "SKIPPED: `{program} {}` fails (pip install schemathesis openapi-spec-validator)",
            args.join(" ")
        );
    }
    found
}

#[test]
fn operation_ids_are_unique_and_every_answer_is_described() {
    let doc = helpline::api::openapi().unwrap();
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let where_ = format!("{} {path}", method.to_uppercase());
            let id = operation["operationId"].as_str().expect("an operationId");
            ids.entry(id.to_string()).or_default().push(where_.clone());
            for (status, answer) in operation["responses"].as_object().unwrap() {
                let description = answer["description"].as_str().unwrap_or_default();
                assert!(
                    !description.is_empty(),
                    "{where_} {status} has a description"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        answer["content"]["application/problem+json"].is_object(),
                        "{where_} {status} is a problem document"
                    );
                }
            }
        }
    }
    let twice: Vec<_> = ids.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(twice.is_empty(), "operationIds used twice: {twice:?}");
    assert!(ids.len() > 40, "{} operations", ids.len());
}

#[test]
fn the_document_is_valid_openapi() {
    let validator = "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\n";
    if !tool_present("python3", &["-c", "import openapi_spec_validator"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, helpline::api::openapi().unwrap().to_string()).unwrap();
    let out = Command::new("python3")
        .args(["-c", validator])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refuses the document:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn helpline(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    // Only what the test sets: `HELPLINE_CONTRACT` itself is no configuration key.
    cmd.env_clear()
        .arg("--data-dir")
        .arg(dir)
        .env("HELPLINE_BCRYPT_COST", "4")
        .env(
            "HELPLINE_INBOUND_SECRET",
            "an-inbound-secret-for-the-fuzzer",
        )
        .env("HELPLINE_LOG", "warn,helpline::app=info")
        // A model that is not there: drafts answer an `error` event, and the
        // stream's shape is what the document says.
        .env("HELPLINE_AI__BASE_URL", "http://127.0.0.1:9/v1")
        .env("HELPLINE_AI__MODEL", "absent-model");
    // Thousands of requests from one address: rate limits would answer most.
    for limit in [
        "LOGIN_PER_IP",
        "LOGIN_PER_ACCOUNT",
        "REGISTER_PER_IP",
        "REFRESH_PER_IP",
        "PASSWORD_RESET_PER_IP",
        "PASSWORD_RESET_PER_ACCOUNT",
        "API_KEY_FAILURES_PER_IP",
        "INTAKE_PER_IP",
        "PORTAL_PER_IP",
        "PORTAL_PER_TOKEN",
        "PORTAL_TICKETS_PER_TOKEN",
    ] {
        cmd.env(format!("HELPLINE_RATE_LIMITS__{limit}"), "1000000");
    }
    cmd
}

fn create_user(dir: &Path, email: &str, role: &str, password: &str) {
    let mut child = helpline(dir)
        .args([
            "user",
            "create",
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success(), "user create {email}");
}

fn access_token(served: &Served, email: &str, password: &str) -> String {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, _, answer) = common::http_request(
        served.addr,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 200, "{answer}");
    let pair: serde_json::Value = serde_json::from_str(&answer).unwrap();
    pair["access_token"].as_str().unwrap().to_string()
}

/// Runs Schemathesis with every check; panics with its report on a failure.
fn fuzz(served: &Served, role: &str, token: Option<&str>) {
    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract");
    let report = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "schemathesis.cli"])
        .env("SCHEMATHESIS_HOOKS", "helpline_hooks")
        .env("PYTHONPATH", &contract)
        .arg("--config-file")
        .arg(contract.join("schemathesis.toml"))
        .arg("run")
        .arg(format!("http://{}/api/v1/openapi.json", served.addr))
        .args([
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
        ])
        .args([
            "--generation-codec",
            "ascii",
            "--generation-database",
            "none",
        ])
        .args(["--workers", "1", "--no-color"])
        .arg("--report-dir")
        .arg(report.path());
    if let Some(token) = token {
        // Signing out would end the session the rest of the run needs.
        cmd.args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--exclude-path", "/api/v1/auth/logout"])
            .args(["--exclude-path", "/api/v1/auth/logout-all"]);
    }
    let out = cmd.output().expect("schemathesis runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Schemathesis as {role} found problems:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "schemathesis as {role}: {}",
        text.lines()
            .rev()
            .find(|l| l.contains(" in "))
            .unwrap_or("")
    );
}

#[test]
fn schemathesis_finds_nothing_as_customer_anonymous_or_admin() {
    if !tool_present("python3", &["-c", "import schemathesis"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    create_user(dir.path(), "admin@example.com", "admin", "admin password 1");
    create_user(
        dir.path(),
        "ana@example.com",
        "customer",
        "customer password 1",
    );
    let mut cmd = helpline(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut served = serve(cmd);
    let customer = access_token(&served, "ana@example.com", "customer password 1");
    let admin = access_token(&served, "admin@example.com", "admin password 1");
    // The admin run comes last: it may deactivate the customer.
    fuzz(&served, "customer", Some(&customer));
    fuzz(&served, "anonymous", None);
    fuzz(&served, "admin", Some(&admin));
    let _ = served.child.kill();
    let _ = served.child.wait();
}

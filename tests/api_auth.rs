//! Sign-in, token rotation and revocation, token forgery, rate limits, password rules.

mod common;

use base64::Engine as _;
use common::{json, problem, Auth, TestApp, PASSWORD};
use helpline::auth::tokens::{self, audience, AccessClaims};
use helpline::users::Role;
use rocket::http::Method::{Get, Patch, Post, Put};
use rocket::http::{ContentType, Header};
use serde_json::json;

async fn refresh(app: &TestApp, token: &str) -> (u16, serde_json::Value) {
    let res = app
        .call(
            Post,
            "/api/v1/auth/refresh",
            &Auth::None,
            Some(json!({ "refresh_token": token })),
        )
        .await;
    let status = res.status().code;
    (status, json(res).await)
}

async fn me_status(app: &TestApp, access: &str) -> u16 {
    app.call(Get, "/api/v1/auth/me", &Auth::Bearer(access.into()), None)
        .await
        .status()
        .code
}

#[rocket::async_test]
async fn login_answers_a_token_pair_and_the_user() {
    let app = TestApp::new().await;
    app.create_user("Ada@Example.com", Role::Agent, Some(PASSWORD))
        .await;
    // Email matching ignores case and surrounding spaces.
    let pair = app.login("  ada@example.COM ", PASSWORD).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    assert_eq!(pair["user"]["email"], "Ada@Example.com");
    assert_eq!(pair["user"]["role"], "agent");
    assert!(pair["user"]["last_login_at"].is_string());
    assert!(pair["user"].get("password_hash").is_none());
    let access = pair["access_token"].as_str().unwrap();
    let res = app
        .call(Get, "/api/v1/auth/me", &Auth::Bearer(access.into()), None)
        .await;
    assert_eq!(json(res).await["email"], "Ada@Example.com");
}

#[rocket::async_test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::new().await;
    let (_, access, r1) = app.signed_in("a@example.com", Role::Customer).await;
    let (status, pair) = refresh(&app, &r1).await;
    assert_eq!(status, 200);
    let r2 = pair["refresh_token"].as_str().unwrap().to_string();
    let access2 = pair["access_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert_eq!(me_status(&app, &access2).await, 200);

    // The spent token comes back: theft. The whole session ends.
    let (status, body) = refresh(&app, &r1).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(refresh(&app, &r2).await.0, 401, "successor revoked too");
    assert_eq!(
        me_status(&app, &access2).await,
        401,
        "access tokens of the family die"
    );
    assert_eq!(me_status(&app, &access).await, 401);

    // Other sessions of the same user are untouched.
    let other = app.login("a@example.com", PASSWORD).await;
    assert_eq!(
        me_status(&app, other["access_token"].as_str().unwrap()).await,
        200
    );
}

#[rocket::async_test]
async fn logout_ends_the_session_and_the_presented_access_token() {
    let app = TestApp::new().await;
    let (_, access, refresh_token) = app.signed_in("a@example.com", Role::Agent).await;
    let res = app
        .call(
            Post,
            "/api/v1/auth/logout",
            &Auth::Bearer(access.clone()),
            Some(json!({ "refresh_token": refresh_token })),
        )
        .await;
    assert_eq!(res.status().code, 204);
    assert_eq!(me_status(&app, &access).await, 401);
    assert_eq!(refresh(&app, &refresh_token).await.0, 401);
}

#[rocket::async_test]
async fn logout_all_ends_every_session() {
    let app = TestApp::new().await;
    let (_, a1, _) = app.signed_in("a@example.com", Role::Agent).await;
    let second = app.login("a@example.com", PASSWORD).await;
    let res = app
        .call(
            Post,
            "/api/v1/auth/logout-all",
            &Auth::Bearer(a1.clone()),
            None,
        )
        .await;
    assert_eq!(res.status().code, 204);
    assert_eq!(me_status(&app, &a1).await, 401);
    assert_eq!(
        me_status(&app, second["access_token"].as_str().unwrap()).await,
        401
    );
    assert_eq!(
        refresh(&app, second["refresh_token"].as_str().unwrap())
            .await
            .0,
        401
    );
}

#[rocket::async_test]
async fn password_change_keeps_this_session_and_ends_the_others() {
    let app = TestApp::new().await;
    let (_, this, this_refresh) = app.signed_in("a@example.com", Role::Customer).await;
    let other = app.login("a@example.com", PASSWORD).await;

    let res = app
        .call(
            Patch,
            "/api/v1/users/me",
            &Auth::Bearer(this.clone()),
            Some(json!({ "password": "a brand new password", "current_password": "wrong one!!" })),
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "current_password");

    let res = app
        .call(
            Patch,
            "/api/v1/users/me",
            &Auth::Bearer(this.clone()),
            Some(json!({ "password": "a brand new password", "current_password": PASSWORD })),
        )
        .await;
    assert_eq!(res.status().code, 200);

    assert_eq!(
        me_status(&app, &this).await,
        200,
        "the changing session stays"
    );
    assert_eq!(refresh(&app, &this_refresh).await.0, 200);
    assert_eq!(
        me_status(&app, other["access_token"].as_str().unwrap()).await,
        401
    );
    assert_eq!(
        refresh(&app, other["refresh_token"].as_str().unwrap())
            .await
            .0,
        401
    );

    let res = app
        .call(
            Post,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": "a@example.com", "password": PASSWORD })),
        )
        .await;
    assert_eq!(res.status().code, 401, "old password no longer works");
    app.login("a@example.com", "a brand new password").await;
}

#[rocket::async_test]
async fn deactivation_ends_sessions_at_once_and_blocks_sign_in() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (id, access, refresh_token) = app.signed_in("agent@example.com", Role::Agent).await;
    let res = app
        .call(
            Patch,
            &format!("/api/v1/users/{id}"),
            &Auth::Bearer(admin.clone()),
            Some(json!({ "active": false })),
        )
        .await;
    assert_eq!(json(res).await["active"], false);
    assert_eq!(me_status(&app, &access).await, 401);
    assert_eq!(refresh(&app, &refresh_token).await.0, 401);
    let res = app
        .call(
            Post,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": "agent@example.com", "password": PASSWORD })),
        )
        .await;
    assert_eq!(res.status().code, 401);

    // Reactivated, they can sign in again; the old session stays dead.
    app.call(
        Patch,
        &format!("/api/v1/users/{id}"),
        &Auth::Bearer(admin),
        Some(json!({ "active": true })),
    )
    .await;
    app.login("agent@example.com", PASSWORD).await;
    assert_eq!(me_status(&app, &access).await, 401);
}

fn sign(app: &TestApp, claims: &AccessClaims) -> String {
    app.state().keys.sign(claims).unwrap()
}

#[rocket::async_test]
async fn forged_expired_and_misdirected_tokens_are_rejected() {
    let app = TestApp::new().await;
    let (id, access, _) = app.signed_in("a@example.com", Role::Admin).await;
    let (_, genuine) = tokens::verify_access(&app.state().keys, &access).unwrap();

    let expired = sign(
        &app,
        &AccessClaims {
            exp: tokens::unix_now() - 3600,
            iat: tokens::unix_now() - 7200,
            ..genuine.clone()
        },
    );
    let wrong_audience = sign(
        &app,
        &AccessClaims {
            aud: audience::PASSWORD_RESET.into(),
            ..genuine.clone()
        },
    );
    let reset_token = tokens::issue_purpose(
        &app.state().keys,
        audience::PASSWORD_RESET,
        &id.to_string(),
        0,
        600,
    )
    .unwrap();

    let (head, rest) = access.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    claims["role"] = "admin".into();
    claims["sub"] = "999".into();
    let tampered = format!("{head}.{}.{signature}", b64.encode(claims.to_string()));
    let alg_none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(genuine_json(&genuine))
    );

    let other_dir = tempfile::tempdir().unwrap();
    let other_keys = helpline::auth::JwtKeys::load(None, other_dir.path()).unwrap();
    let wrong_key = other_keys.sign(&genuine).unwrap();

    for (name, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("reset token as session", reset_token),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("wrong key", wrong_key),
        ("garbage", "not.a.jwt".to_string()),
    ] {
        let res = app
            .call(Get, "/api/v1/auth/me", &Auth::Bearer(token), None)
            .await;
        assert_eq!(res.status().code, 401, "{name}");
        assert!(
            res.headers().get_one("WWW-Authenticate").is_some(),
            "{name}"
        );
    }
    let res = app
        .call(
            Post,
            "/api/v1/auth/password-reset/confirm",
            &Auth::None,
            Some(json!({ "token": access, "password": "another password" })),
        )
        .await;
    problem(res, 422).await;
    assert_eq!(
        me_status(&app, &access).await,
        200,
        "the genuine token still works"
    );
}

fn genuine_json(claims: &AccessClaims) -> String {
    serde_json::to_string(claims).unwrap()
}

#[rocket::async_test]
async fn unknown_email_and_wrong_password_answer_identically() {
    let app = TestApp::new().await;
    app.create_user("known@example.com", Role::Customer, Some(PASSWORD))
        .await;
    app.create_user("nopassword@example.com", Role::Customer, None)
        .await;
    let mut answers = Vec::new();
    for email in [
        "known@example.com",
        "unknown@example.com",
        "nopassword@example.com",
    ] {
        let res = app
            .call(
                Post,
                "/api/v1/auth/login",
                &Auth::None,
                Some(json!({ "email": email, "password": "not the password" })),
            )
            .await;
        let status = res.status().code;
        let mut headers: Vec<String> = res
            .headers()
            .iter()
            .filter(|h| !h.name().as_str().eq_ignore_ascii_case("x-request-id"))
            .map(|h| format!("{}: {}", h.name(), h.value()))
            .collect();
        headers.sort();
        let mut body = json(res).await;
        body.as_object_mut().unwrap().remove("request_id");
        answers.push((status, headers, body));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
}

#[rocket::async_test]
async fn login_rate_limit_answers_429_with_retry_after() {
    let app = TestApp::with(|c| c.rate_limits.login_per_ip = 3, Vec::new()).await;
    app.create_user("a@example.com", Role::Customer, Some(PASSWORD))
        .await;
    for i in 0..3 {
        let res = app
            .call(
                Post,
                "/api/v1/auth/login",
                &Auth::None,
                Some(json!({ "email": format!("x{i}@example.com"), "password": "wrong password" })),
            )
            .await;
        assert_eq!(res.status().code, 401);
    }
    let res = app
        .call(
            Post,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": "a@example.com", "password": PASSWORD })),
        )
        .await;
    let retry: u64 = res
        .headers()
        .get_one("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    problem(res, 429).await;
}

#[rocket::async_test]
async fn login_rate_limit_per_account() {
    let app = TestApp::with(|c| c.rate_limits.login_per_account = 2, Vec::new()).await;
    for _ in 0..2 {
        let res = app
            .call(
                Post,
                "/api/v1/auth/login",
                &Auth::None,
                Some(json!({ "email": "Victim@example.com", "password": "guess guess" })),
            )
            .await;
        assert_eq!(res.status().code, 401);
    }
    let res = app
        .call(
            Post,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": "victim@EXAMPLE.com", "password": "guess guess" })),
        )
        .await;
    problem(res, 429).await;
}

#[rocket::async_test]
async fn passwords_are_between_10_characters_and_72_bytes() {
    let app = TestApp::new().await;
    for (i, (password, status)) in [
        ("short", 422),
        (&*"a".repeat(73), 422),
        (&*"a".repeat(72), 202),
        (&*"€".repeat(24), 202),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("u{i}@example.com");
        let res = app
            .call(
                Post,
                "/api/v1/auth/register",
                &Auth::None,
                Some(json!({ "email": email, "password": password, "name": "U" })),
            )
            .await;
        assert_eq!(res.status().code, status, "{} bytes", password.len());
        if status == 422 {
            let body = problem(res, 422).await;
            assert_eq!(body["errors"][0]["field"], "password");
        }
    }
    let (_, access, _) = app.signed_in("me@example.com", Role::Customer).await;
    let res = app
        .call(
            Patch,
            "/api/v1/users/me",
            &Auth::Bearer(access),
            Some(json!({ "password": "b".repeat(73), "current_password": PASSWORD })),
        )
        .await;
    problem(res, 422).await;
}

#[rocket::async_test]
async fn registration_rules() {
    let app = TestApp::new().await;
    // Without address confirmation a registration signs in at once.
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let res = app
        .call(
            Put,
            "/api/v1/settings",
            &Auth::Bearer(admin.clone()),
            Some(json!({ "require_email_verification": false })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let res = app
        .call(
            Post,
            "/api/v1/auth/register",
            &Auth::None,
            Some(json!({ "email": "Sam@Example.com", "password": PASSWORD, "name": "  Sam  " })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let pair = json(res).await;
    assert_eq!(
        pair["user"]["role"], "customer",
        "self-registration makes customers only"
    );
    assert_eq!(pair["user"]["name"], "Sam");

    let res = app
        .call(
            Post,
            "/api/v1/auth/register",
            &Auth::None,
            Some(json!({ "email": "sam@example.COM", "password": PASSWORD, "name": "Sam" })),
        )
        .await;
    problem(res, 409).await;

    let res = app
        .call(Post, "/api/v1/auth/register", &Auth::None, Some(json!({ "email": "x@example.com", "password": PASSWORD, "name": "X", "role": "admin" })))
        .await;
    let body = problem(res, 422).await;
    assert_eq!(
        body["errors"][0]["field"], "role",
        "unknown fields are refused"
    );

    let res = app
        .call(
            Post,
            "/api/v1/auth/register",
            &Auth::None,
            Some(json!({ "email": "not-an-email", "password": "x", "name": "" })),
        )
        .await;
    let body = problem(res, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "name", "password"]);

    let res = app
        .call(
            Put,
            "/api/v1/settings",
            &Auth::Bearer(admin),
            Some(json!({ "allow_registration": false })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let res = app
        .call(
            Post,
            "/api/v1/auth/register",
            &Auth::None,
            Some(json!({ "email": "late@example.com", "password": PASSWORD, "name": "Late" })),
        )
        .await;
    problem(res, 403).await;
}

#[rocket::async_test]
async fn the_last_active_admin_cannot_be_removed() {
    let app = TestApp::new().await;
    let (admin_id, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let auth = Auth::Bearer(admin.clone());
    for (method, body) in [
        (Patch, Some(json!({ "role": "agent" }))),
        (Patch, Some(json!({ "active": false }))),
        (rocket::http::Method::Delete, None),
    ] {
        let res = app
            .call(method, &format!("/api/v1/users/{admin_id}"), &auth, body)
            .await;
        problem(res, 409).await;
    }
    let second = app
        .create_user("second@example.com", Role::Admin, Some(PASSWORD))
        .await;
    let res = app
        .call(
            Patch,
            &format!("/api/v1/users/{admin_id}"),
            &auth,
            Some(json!({ "role": "agent" })),
        )
        .await;
    assert_eq!(json(res).await["role"], "agent");
    // Now `second` is the last admin.
    let second_token = app.login("second@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .call(
            rocket::http::Method::Delete,
            &format!("/api/v1/users/{second}"),
            &Auth::Bearer(second_token),
            None,
        )
        .await;
    problem(res, 409).await;
}

#[rocket::async_test]
async fn user_listing_filters_sorts_and_paginates() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    for i in 0..30 {
        app.create_user(&format!("customer{i:02}@example.com"), Role::Customer, None)
            .await;
    }
    let auth = Auth::Bearer(agent);
    let page = json(
        app.call(
            Get,
            "/api/v1/users?role=customer&per_page=10&page=3&sort=-email",
            &auth,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page["total"], 30);
    assert_eq!(page["page"], 3);
    assert_eq!(page["per_page"], 10);
    let emails: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.first(), Some(&"customer09@example.com"));
    assert_eq!(emails.len(), 10);

    let found = json(app.call(Get, "/api/v1/users?q=ER2", &auth, None).await).await;
    assert_eq!(
        found["total"], 10,
        "customer20..29 match case-insensitively"
    );
    let literal = json(app.call(Get, "/api/v1/users?q=%25", &auth, None).await).await;
    assert_eq!(literal["total"], 0, "% is a literal, not a wildcard");

    for bad in [
        "sort=password_hash",
        "per_page=101",
        "page=0",
        "role=root",
        "active=maybe",
    ] {
        problem(
            app.call(Get, &format!("/api/v1/users?{bad}"), &auth, None)
                .await,
            422,
        )
        .await;
    }
}

#[rocket::async_test]
async fn api_keys_are_shown_once_act_as_their_role_and_can_be_revoked() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let auth = Auth::Bearer(admin);
    let res = app
        .call(
            Post,
            "/api/v1/api-keys",
            &auth,
            Some(json!({ "name": "CRM sync", "role": "agent" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let created = json(res).await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("hlk_"));
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));

    let listed = json(app.call(Get, "/api/v1/api-keys", &auth, None).await).await;
    let text = listed.to_string();
    assert!(!text.contains(&key), "the key is never shown again");
    assert!(listed[0]["last_used_at"].is_null());

    let as_key = Auth::ApiKey(key.clone());
    assert_eq!(
        app.call(Get, "/api/v1/users", &as_key, None)
            .await
            .status()
            .code,
        200,
        "acts as agent"
    );
    assert_eq!(
        app.call(Get, "/api/v1/settings", &as_key, None)
            .await
            .status()
            .code,
        403,
        "not admin"
    );
    let listed = json(app.call(Get, "/api/v1/api-keys", &auth, None).await).await;
    assert!(listed[0]["last_used_at"].is_string(), "use recorded");

    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        app.call(
            rocket::http::Method::Delete,
            &format!("/api/v1/api-keys/{id}"),
            &auth,
            None
        )
        .await
        .status()
        .code,
        204
    );
    problem(app.call(Get, "/api/v1/users", &as_key, None).await, 401).await;
    problem(
        app.call(
            rocket::http::Method::Delete,
            "/api/v1/api-keys/9999",
            &auth,
            None,
        )
        .await,
        404,
    )
    .await;
}

#[rocket::async_test]
async fn password_reset_links_work_once() {
    let app = TestApp::new().await;
    let (id, old_access, _) = app.signed_in("a@example.com", Role::Customer).await;
    let res = app
        .call(
            Post,
            "/api/v1/auth/password-reset",
            &Auth::None,
            Some(json!({ "email": "nobody@example.com" })),
        )
        .await;
    assert_eq!(res.status().code, 204, "no account probing");

    let record = app
        .state()
        .db
        .read(move |c| helpline::users::repo::get(c, id))
        .await
        .unwrap()
        .unwrap();
    let link =
        helpline::users::account::password_reset_link(&app.state().accounts(), &record).unwrap();
    let token = link.split("#token=").nth(1).unwrap().to_string();
    let confirm = json!({ "token": token, "password": "my new password" });
    let res = app
        .call(
            Post,
            "/api/v1/auth/password-reset/confirm",
            &Auth::None,
            Some(confirm.clone()),
        )
        .await;
    assert_eq!(res.status().code, 204);
    assert_eq!(
        me_status(&app, &old_access).await,
        401,
        "every session ended"
    );
    app.login("a@example.com", "my new password").await;
    let res = app
        .call(
            Post,
            "/api/v1/auth/password-reset/confirm",
            &Auth::None,
            Some(confirm),
        )
        .await;
    problem(res, 422).await;
}

#[rocket::async_test]
async fn invites_set_a_password_and_sign_in_once() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let res = app
        .call(
            Post,
            "/api/v1/users",
            &Auth::Bearer(admin),
            Some(json!({ "email": "new.agent@example.com", "name": "New Agent", "role": "agent" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let id = helpline::users::UserId(json(res).await["id"].as_i64().unwrap());
    let res = app
        .call(
            Post,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": "new.agent@example.com", "password": "anything at all" })),
        )
        .await;
    assert_eq!(res.status().code, 401, "no password yet");

    let record = app
        .state()
        .db
        .read(move |c| helpline::users::repo::get(c, id))
        .await
        .unwrap()
        .unwrap();
    let link = helpline::users::account::invite_link(&app.state().accounts(), &record).unwrap();
    assert!(link.contains("/accept-invite#token="));
    let token = link.split("#token=").nth(1).unwrap().to_string();
    let accept = json!({ "token": token, "password": "agent password" });
    let res = app
        .call(
            Post,
            "/api/v1/auth/invite/accept",
            &Auth::None,
            Some(accept.clone()),
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert_eq!(json(res).await["user"]["role"], "agent");
    problem(
        app.call(
            Post,
            "/api/v1/auth/invite/accept",
            &Auth::None,
            Some(accept),
        )
        .await,
        422,
    )
    .await;
}

#[rocket::async_test]
async fn first_admin_setup_link_works_until_an_admin_exists() {
    let dir = tempfile::tempdir().unwrap();
    let app = helpline::App::builder()
        .config(common::test_config(&dir))
        .build()
        .unwrap();
    let link = app
        .setup_link()
        .unwrap()
        .expect("a link while there is no admin");
    let token = link.split("#token=").nth(1).unwrap().to_string();
    let client = rocket::local::asynchronous::Client::tracked(app.rocket())
        .await
        .unwrap();
    let body = json!({ "token": token, "email": "boss@example.com", "name": "Boss", "password": PASSWORD });
    let res = client
        .post("/api/v1/auth/setup")
        .header(rocket::http::ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status().code, 201);
    assert_eq!(json(res).await["user"]["role"], "admin");
    let res = client
        .post("/api/v1/auth/setup")
        .header(rocket::http::ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await;
    problem(res, 409).await;

    // The setup link opens the web app, which shows the form.
    let setup_page = client.get("/setup").dispatch().await;
    assert!(setup_page
        .into_string()
        .await
        .unwrap()
        .contains("/app/main.js"));
}

#[rocket::async_test]
async fn metrics_are_for_admins_by_default() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    problem(app.call(Get, "/metrics", &Auth::None, None).await, 401).await;
    problem(
        app.call(Get, "/metrics", &Auth::Bearer(agent), None).await,
        403,
    )
    .await;
    assert_eq!(
        app.call(Get, "/metrics", &Auth::Bearer(admin), None)
            .await
            .status()
            .code,
        200
    );
}

#[rocket::async_test]
async fn account_changes_are_audited() {
    let app = TestApp::new().await;
    let (admin_id, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let auth = Auth::Bearer(admin);
    let target = app.create_user("t@example.com", Role::Customer, None).await;
    app.call(
        Patch,
        &format!("/api/v1/users/{target}"),
        &auth,
        Some(json!({ "role": "agent" })),
    )
    .await;
    let created = json(
        app.call(
            Post,
            "/api/v1/api-keys",
            &auth,
            Some(json!({ "name": "k", "role": "customer" })),
        )
        .await,
    )
    .await;
    let key = created["key"].as_str().unwrap();
    let log = json(
        app.call(
            Get,
            &format!("/api/v1/admin/audit?actor_id={admin_id}"),
            &auth,
            None,
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api_key.created", "user.updated"]);
    assert_eq!(log["items"][1]["details"]["role"], "agent");
    assert!(
        !log.to_string().contains(key),
        "no secrets in the audit log"
    );
    let only = json(
        app.call(Get, "/api/v1/admin/audit?action=user.updated", &auth, None)
            .await,
    )
    .await;
    assert_eq!(only["total"], 1);
}

#[rocket::async_test]
async fn made_up_api_keys_are_limited_but_valid_ones_are_not() {
    let app = TestApp::with(|c| c.rate_limits.api_key_failures_per_ip = 2, Vec::new()).await;
    let valid = Auth::ApiKey(app.api_key(Role::Agent).await);
    for _ in 0..2 {
        problem(
            app.call(
                Get,
                "/api/v1/users",
                &Auth::ApiKey("hlk_guess".into()),
                None,
            )
            .await,
            401,
        )
        .await;
    }
    let res = app
        .call(
            Get,
            "/api/v1/users",
            &Auth::ApiKey("hlk_guess".into()),
            None,
        )
        .await;
    assert!(res.headers().get_one("Retry-After").is_some());
    problem(res, 429).await;
    for _ in 0..20 {
        assert_eq!(
            app.call(Get, "/api/v1/users", &valid, None)
                .await
                .status()
                .code,
            200
        );
    }
}

#[rocket::async_test]
async fn browser_sessions_keep_the_refresh_token_in_an_http_only_cookie() {
    let app = TestApp::new().await;
    app.create_user("web@example.com", Role::Agent, Some(PASSWORD))
        .await;
    let res = app
        .client
        .post("/api/v1/auth/login")
        .header(ContentType::JSON)
        .header(Header::new("X-Helpline-Session", "cookie"))
        .body(json!({ "email": "web@example.com", "password": PASSWORD }).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    let set_cookie = res
        .headers()
        .get("Set-Cookie")
        .find(|c| c.starts_with("helpline_refresh="))
        .expect("the refresh cookie")
        .to_string();
    assert!(res
        .headers()
        .get("Set-Cookie")
        .any(|c| c.starts_with("helpline_signed_in=1") && !c.contains("HttpOnly")));
    for part in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let pair = json(res).await;
    assert_eq!(pair["refresh_token"], "", "scripts never see it");

    // The cookie alone refreshes (an empty `refresh_token`), only with the
    // header; a body without the field is 422.
    let res = app
        .client
        .post("/api/v1/auth/refresh")
        .header(ContentType::JSON)
        .header(Header::new("X-Helpline-Session", "cookie"))
        .body(r#"{"refresh_token": ""}"#)
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    assert!(res.headers().get_one("Set-Cookie").is_some(), "rotated");
    let res = app
        .client
        .post("/api/v1/auth/refresh")
        .header(ContentType::JSON)
        .body("{}")
        .dispatch()
        .await;
    problem(res, 422).await;

    // Logging out ends the session and clears the cookie.
    let res = app
        .client
        .post("/api/v1/auth/logout")
        .header(ContentType::JSON)
        .header(Header::new("X-Helpline-Session", "cookie"))
        .body(r#"{"refresh_token": ""}"#)
        .dispatch()
        .await;
    assert_eq!(res.status().code, 204);
    let res = app
        .client
        .post("/api/v1/auth/refresh")
        .header(ContentType::JSON)
        .header(Header::new("X-Helpline-Session", "cookie"))
        .body(r#"{"refresh_token": ""}"#)
        .dispatch()
        .await;
    assert!(matches!(res.status().code, 401 | 422));
}

//! `/api/v1/inbound/email`: raw RFC 5322 messages posted by an MTA or a mail service.

use rocket::data::{ByteUnit, Data};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use utoipa::OpenApi;

use crate::error::Error;
use crate::http::problem::Problem;
use crate::http::request_id::RequestId;
use crate::mail::inbound::{self, InboundReceipt, InboundStatus, MatchRule};
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![email]
}

#[derive(OpenApi)]
#[openapi(
    paths(email),
    components(schemas(InboundReceipt, InboundStatus, MatchRule, Problem))
)]
pub struct Doc;

/// The bearer token presented, if any.
pub struct Bearer(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Bearer {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let token = req
            .headers()
            .get_one("Authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string());
        Outcome::Success(Bearer(token))
    }
}

fn same(a: &str, b: &str) -> bool {
    // Compare digests so the time taken says nothing about the secret.
    use sha2::{Digest, Sha256};
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Files one raw message (`message/rfc822`): a reply goes to its ticket (by
/// reply token, then In-Reply-To/References, then `[#id]` in the subject),
/// anything else opens a ticket. Auto-replies, bounces and our own mail are
/// accepted and ignored; a repeated Message-ID answers the earlier result.
/// Needs `Authorization: Bearer <inbound_secret>`; 404 when no secret is configured.
#[utoipa::path(tag = "email", security(("inbound_secret" = [])),
    request_body(content = String, content_type = "message/rfc822", description = "one raw RFC 5322 message"),
    responses(
        (status = 202, body = InboundReceipt), (status = 401, body = Problem), (status = 404, description = "inbound email is not enabled", body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
    ))]
#[post("/email", data = "<data>")]
async fn email(
    state: &State<AppState>,
    bearer: Bearer,
    request_id: &RequestId,
    content_type: Option<&ContentType>,
    data: Data<'_>,
) -> Result<(Status, Json<InboundReceipt>), Error> {
    let Some(secret) = &state.config.inbound_secret else {
        return Err(Error::NotFound(
            "inbound email endpoint (set `inbound_secret` to enable it)",
        ));
    };
    match bearer.0 {
        Some(token) if same(&token, secret.expose()) => {}
        _ => {
            return Err(Error::Unauthorized(
                "send the inbound secret as `Authorization: Bearer <secret>`".into(),
            ))
        }
    }
    let acceptable = content_type.is_none_or(|ct| {
        matches!(
            (ct.top().as_str(), ct.sub().as_str()),
            ("message", "rfc822") | ("text", "plain") | ("application", "octet-stream")
        )
    });
    if !acceptable {
        return Err(Error::UnsupportedMediaType(
            "send the raw message as message/rfc822".into(),
        ));
    }
    // Mail with attachments is big: the files of one message in base64, and text.
    let limit = ByteUnit::from(state.config.attachments.max_inbound_mail_bytes());
    let body = data
        .open(limit)
        .into_bytes()
        .await
        .map_err(|e| Error::BadRequest(format!("reading the message failed: {e}")))?;
    if !body.is_complete() {
        return Err(Error::PayloadTooLarge(limit.to_string()));
    }
    let raw = body.into_inner();
    let receipt = inbound::receive(
        &state.db,
        &state.keys,
        &state.delivery,
        raw,
        (
            Some(request_id.as_str().to_string()),
            state.config.attachments.max_file_bytes.as_u64(),
        ),
    )
    .await?;
    Ok((Status::Accepted, Json(receipt)))
}

//! `/api/v1/portal-tokens` (agents issue and revoke links) and
//! `/api/v1/portal/{token}` (the link holder reads, answers, opens tickets).

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Request, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::attachments::{FileBytes, Received, UploadForm};
use super::download::{Conditions, Download};
use crate::api::guards::{Agent, ClientIp};
use crate::attachments::{AttachmentId, Upload};
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::http::request_id::RequestId;
use crate::ids::{PortalTokenId, TicketId};
use crate::portal::access::{self, PortalView};
use crate::portal::files;
use crate::portal::IssuedPortalToken;
use crate::portal::Scope;
use crate::state::AppState;
use crate::tickets::{Message, TicketWithMessages};

pub fn token_routes() -> Vec<Route> {
    routes![issue, revoke]
}

pub fn portal_routes() -> Vec<Route> {
    routes![view, answer, open_ticket, upload, download]
}

#[derive(OpenApi)]
#[openapi(
    paths(issue, revoke),
    components(schemas(IssuedPortalToken, IssuePortalToken, Problem))
)]
pub struct TokenDoc;

#[derive(OpenApi)]
#[openapi(
    paths(view, answer, open_ticket, upload, download),
    components(schemas(
        Upload,
        UploadForm,
        FileBytes,
        PortalView,
        PortalMessage,
        PortalTicket,
        Message,
        TicketWithMessages,
        Problem
    ))
)]
pub struct PortalDoc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuePortalToken {
    pub ticket_id: TicketId,
    /// 1 to 30; default: the setting `portal_token_days`.
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalMessage {
    pub body: String,
    /// Another ticket of the link's scope; default: the link's own ticket.
    pub ticket_id: Option<TicketId>,
    /// Ids of uploads made through this link that the message takes.
    pub attachments: Option<Vec<AttachmentId>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalTicket {
    pub subject: String,
    pub body: String,
    /// Ids of uploads made through this link that the first message takes.
    pub attachments: Option<Vec<AttachmentId>>,
}

/// Issues a portal link for a ticket's requester. The token is shown once.
#[utoipa::path(tag = "portal", request_body = IssuePortalToken, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 201, body = IssuedPortalToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[post("/", data = "<body>")]
async fn issue(
    state: &State<AppState>,
    agent: Agent,
    body: ApiJson<IssuePortalToken>,
) -> Result<(Status, Json<IssuedPortalToken>), Error> {
    let b = body.into_inner();
    Ok((
        Status::Created,
        Json(
            access::issue(
                &state.db,
                &state.config.public_url(),
                &agent.0,
                b.ticket_id,
                b.expires_in_days,
            )
            .await?,
        ),
    ))
}

/// Revokes a portal link at once.
#[utoipa::path(tag = "portal", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 204, description = "revoked"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/<id>/revoke")]
async fn revoke(state: &State<AppState>, agent: Agent, id: PortalTokenId) -> Result<Status, Error> {
    access::revoke(&state.db, &agent.0, id).await?;
    Ok(Status::NoContent)
}

/// The link's tickets with their public messages. Expired, revoked or unknown links are 404.
#[utoipa::path(tag = "portal", params(("token" = String, Path)), responses(
    (status = 200, body = PortalView), (status = 404, body = Problem),
    (status = 429, description = "too many requests from this network or for this link", body = Problem),
))]
#[get("/<token>")]
async fn view(
    state: &State<AppState>,
    token: &str,
    ip: ClientIp,
) -> Result<Json<PortalView>, Error> {
    Ok(Json(
        access::view(&state.portal(), token.to_string(), &ip.0).await?,
    ))
}

/// Adds a public message as the requester.
#[utoipa::path(tag = "portal", params(("token" = String, Path)), request_body = PortalMessage, responses(
    (status = 201, body = Message), (status = 404, body = Problem), (status = 409, description = "the ticket is closed", body = Problem), (status = 422, body = Problem),
    (status = 429, description = "too many requests from this network or for this link", body = Problem),
))]
#[post("/<token>/messages", data = "<body>")]
async fn answer(
    state: &State<AppState>,
    token: &str,
    ip: ClientIp,
    request_id: &RequestId,
    body: ApiJson<PortalMessage>,
) -> Result<(Status, Json<Message>), Error> {
    let b = body.into_inner();
    let message = access::answer(
        &state.portal(),
        token.to_string(),
        b.ticket_id,
        (b.body, b.attachments.unwrap_or_default()),
        (&ip.0, request_id.as_str()),
    )
    .await?;
    Ok((Status::Created, Json(message)))
}

/// Opens a new ticket for the same requester.
#[utoipa::path(tag = "portal", params(("token" = String, Path)), request_body = PortalTicket, responses(
    (status = 201, body = TicketWithMessages), (status = 404, body = Problem), (status = 422, body = Problem),
    (status = 429, description = "too many requests, or too many new tickets this hour through this link", body = Problem),
))]
#[post("/<token>/tickets", data = "<body>")]
async fn open_ticket(
    state: &State<AppState>,
    token: &str,
    ip: ClientIp,
    request_id: &RequestId,
    body: ApiJson<PortalTicket>,
) -> Result<(Status, Json<TicketWithMessages>), Error> {
    let b = body.into_inner();
    let ticket = access::open_ticket(
        &state.portal(),
        token.to_string(),
        b.subject,
        (b.body, b.attachments.unwrap_or_default()),
        (&ip.0, request_id.as_str()),
    )
    .await?;
    Ok((Status::Created, Json(ticket)))
}

/// Uploads a file for a message through the link (as `POST /api/v1/uploads`).
#[utoipa::path(tag = "portal", params(("token" = String, Path), ("filename" = Option<String>, Query, description = "the file's name, for a raw body")),
    request_body(content(
        (UploadForm = "multipart/form-data"),
        (FileBytes = "application/octet-stream"),
    )),
    responses(
    (status = 201, body = Upload), (status = 404, body = Problem),
    (status = 413, description = "the file is over `attachments.max_file_bytes`", body = Problem),
    (status = 415, description = "a body that is neither multipart nor typed", body = Problem), (status = 422, body = Problem),
    (status = 429, description = "too many requests from this network or for this link", body = Problem),
))]
#[post("/<token>/uploads?<filename>", data = "<file>")]
async fn upload(
    state: &State<AppState>,
    // The link is checked by `LinkHolder` before the body is read.
    #[allow(unused_variables)] token: &str,
    link: LinkHolder,
    filename: Option<&str>,
    file: Received,
) -> Result<(Status, Json<Upload>), Error> {
    let name = file
        .name
        .clone()
        .or(filename.map(String::from))
        .unwrap_or_else(|| "file".into());
    let upload = files::upload(
        &state.portal(),
        link.0,
        (file.path.clone(), name, file.content_type.clone()),
    )
    .await?;
    Ok((Status::Created, Json(upload)))
}

/// A file on a public message of a ticket the link reaches; 404 for any other.
#[utoipa::path(tag = "portal", params(("token" = String, Path), ("id" = i64, Path)), responses(
    (status = 200, description = "the file", content_type = "*/*", body = FileBytes),
    (status = 206, description = "the requested range of the file", content_type = "*/*", body = FileBytes),
    (status = 304, description = "not modified (If-None-Match)"),
    (status = 404, body = Problem),
    (status = 416, description = "the range is outside the file", body = Problem),
    (status = 429, description = "too many requests from this network or for this link", body = Problem),
))]
#[get("/<token>/attachments/<id>")]
async fn download(
    state: &State<AppState>,
    token: &str,
    ip: ClientIp,
    id: AttachmentId,
    conditions: Conditions,
) -> Result<Download, Error> {
    let stored = files::readable_file(&state.portal(), token.to_string(), &ip.0, id).await?;
    Download::new(&state.db, stored, &conditions).await
}

/// A portal link admitted (rate limits, then the token) before an upload's
/// body is read.
pub struct LinkHolder(Scope);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LinkHolder {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let admitted = async {
            let state = req
                .rocket()
                .state::<AppState>()
                .ok_or_else(|| Error::Internal("no application state".into()))?;
            let token = req
                .param::<&str>(0)
                .and_then(Result::ok)
                .ok_or(Error::NotFound("portal link"))?;
            let ip = match req.guard::<ClientIp>().await {
                Outcome::Success(ip) => ip.0,
                _ => String::new(),
            };
            files::admit(&state.portal(), token.to_string(), &ip).await
        };
        match admitted.await {
            Ok(scope) => Outcome::Success(LinkHolder(scope)),
            Err(error) => {
                let status = error.status();
                Problem::from_error(&error, req).stash(req);
                Outcome::Error((status, error))
            }
        }
    }
}

//! `/api/v1/uploads` (files ahead of the message that takes them) and
//! `/api/v1/attachments/{id}` (a message's file, for whoever may read the message).

use std::path::PathBuf;

use rocket::data::{ByteUnit, Capped, Data, FromData, Outcome};
use rocket::form::{Form, FromForm, Strict};
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Request, Route, State};
use utoipa::{OpenApi, ToSchema};

use super::download::{Conditions, Download};
use crate::actor::Actor;
use crate::api::guards::CurrentUser;
use crate::attachments::{access, store, AttachmentId, Files, Upload, Uploader};
use crate::error::Error;
use crate::http::problem::Problem;
use crate::state::AppState;

pub fn upload_routes() -> Vec<Route> {
    routes![upload]
}

pub fn routes() -> Vec<Route> {
    routes![download]
}

#[derive(OpenApi)]
#[openapi(
    paths(upload),
    components(schemas(Upload, UploadForm, FileBytes, Problem))
)]
pub struct UploadDoc;

#[derive(OpenApi)]
#[openapi(paths(download), components(schemas(FileBytes, Problem)))]
pub struct Doc;

/// The bytes of a file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(#[allow(dead_code)] Vec<u8>);

/// A multipart upload: one part `file`, and no other.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file, with its filename and type.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads a file to attach to a message within 24 hours (`attachments` of a
/// new ticket or message). Send `multipart/form-data` with one part `file`,
/// or the bytes as the body with their `Content-Type` and `?filename=`.
#[utoipa::path(tag = "attachments", params(("filename" = Option<String>, Query, description = "the file's name, for a raw body")),
    request_body(content(
        (UploadForm = "multipart/form-data"),
        (FileBytes = "application/octet-stream"),
    )),
    security(("bearer" = []), ("api_key" = [])), responses(
    (status = 201, body = Upload), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 413, description = "the file is over `attachments.max_file_bytes`", body = Problem),
    (status = 415, description = "a body that is neither multipart nor typed", body = Problem), (status = 422, body = Problem),
    (status = 429, description = "too many uploads (100, or twice `attachments.max_message_bytes`) wait to be attached", body = Problem),
))]
#[post("/?<filename>", data = "<file>")]
async fn upload(
    state: &State<AppState>,
    user: CurrentUser,
    filename: Option<&str>,
    file: Received,
) -> Result<(Status, Json<Upload>), Error> {
    let me = user_of(&user.0)?;
    let name = file.name.clone().or(filename.map(String::from));
    let upload = store::upload_file(
        &state.db,
        file.path.clone(),
        (name.as_deref().unwrap_or("file"), file.content_type.clone()),
        (
            Uploader::User(me),
            state
                .config
                .attachments
                .max_message_bytes
                .as_u64()
                .saturating_mul(2),
        ),
    )
    .await?;
    Ok((Status::Created, Json(upload)))
}

/// The bytes of a file: to agents on any message, to a customer on public
/// messages of their tickets; 404 for anyone else. Answers ranges
/// (`Range: bytes=...`, 206) and `If-None-Match` (304).
#[utoipa::path(tag = "attachments", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, description = "the file", content_type = "*/*", body = FileBytes),
    (status = 206, description = "the requested range of the file", content_type = "*/*", body = FileBytes),
    (status = 304, description = "not modified (If-None-Match)"),
    (status = 401, body = Problem), (status = 404, body = Problem),
    (status = 416, description = "the range is outside the file", body = Problem),
))]
#[get("/<id>")]
async fn download(
    state: &State<AppState>,
    user: CurrentUser,
    id: AttachmentId,
    conditions: Conditions,
) -> Result<Download, Error> {
    let actor = user.0;
    let viewer = match (actor.user_id(), actor.role.is_staff()) {
        (Some(me), true) => access::Viewer::Staff(me),
        (Some(me), false) => access::Viewer::Requester(me),
        // An API key without a user: staff keys read every file on a message.
        (None, true) => access::Viewer::Staff(crate::ids::UserId(0)),
        (None, false) => return Err(Error::NotFound("attachment")),
    };
    let stored = state
        .db
        .read(move |conn| access::readable(conn, &viewer, id))
        .await?;
    Download::new(&state.db, stored, &conditions).await
}

fn user_of(actor: &Actor) -> Result<crate::ids::UserId, Error> {
    actor
        .user_id()
        .ok_or_else(|| Error::Forbidden("uploads belong to a user; sign in as one".into()))
}

/// The files a new message of `actor` takes, from the body's `attachments`.
pub fn files_of(
    state: &AppState,
    actor: &Actor,
    ids: Option<Vec<AttachmentId>>,
) -> Result<Files, Error> {
    let ids = ids.unwrap_or_default();
    if ids.is_empty() {
        return Ok(Files::none());
    }
    let me = actor.user_id().ok_or_else(|| {
        Error::validation("attachments", "an API key without a user has no uploads")
    })?;
    Ok(Files::uploads(
        Uploader::User(me),
        ids,
        state.config.attachments.max_message_bytes.as_u64(),
    ))
}

/// An uploaded file on disk (removed when dropped), with the name and type
/// its sender gave.
pub struct Received {
    pub path: PathBuf,
    pub name: Option<String>,
    pub content_type: Option<String>,
}

impl Drop for Received {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(FromForm)]
struct Multipart<'r> {
    file: Capped<TempFile<'r>>,
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Received {
    type Error = Error;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        match receive(req, data).await {
            Ok(file) => Outcome::Success(file),
            Err(error) => {
                let status = error.status();
                Problem::from_error(&error, req).stash(req);
                Outcome::Error((status, error))
            }
        }
    }
}

async fn receive<'r>(req: &'r Request<'_>, data: Data<'r>) -> Result<Received, Error> {
    let state = req
        .rocket()
        .state::<AppState>()
        .ok_or_else(|| Error::Internal("no application state".into()))?;
    let limit = state.config.attachments.max_file_bytes;
    let too_large = || Error::PayloadTooLarge(limit.to_string());
    let declared_length = req
        .headers()
        .get_one("Content-Length")
        .and_then(|v| v.parse::<u64>().ok());
    // Multipart framing adds a little; a body larger than that cannot fit.
    if declared_length.is_some_and(|n| n > limit.as_u64() + 64 * 1024) {
        return Err(too_large());
    }
    let dir = state.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| Error::io("creating the upload folder", e))?;
    let path = dir.join(format!("upload-{}", uuid::Uuid::new_v4()));
    let multipart = req.content_type().is_some_and(|ct| ct.is_form_data());
    if multipart {
        let form = match Form::<Strict<Multipart<'_>>>::from_data(req, data).await {
            Outcome::Success(form) => form.into_inner().into_inner(),
            Outcome::Error((_, errors)) => {
                let over = errors.iter().any(|e| {
                    let text = e.to_string();
                    text.contains("limit") || text.contains("exceeded")
                });
                return Err(if over {
                    too_large()
                } else {
                    Error::validation(
                        "file",
                        "send one part named `file` holding the file, and no other",
                    )
                });
            }
            Outcome::Forward(_) => {
                return Err(Error::validation(
                    "file",
                    "send one part named `file` holding the file",
                ))
            }
        };
        if !form.file.is_complete() || form.file.len() > limit.as_u64() {
            return Err(too_large());
        }
        let mut file = form.file.into_inner();
        let name = file
            .raw_name()
            .map(|n| n.dangerous_unsafe_unsanitized_raw().as_str().to_string());
        let content_type = file.content_type().map(ToString::to_string);
        file.move_copy_to(&path)
            .await
            .map_err(|e| Error::io("keeping an upload", e))?;
        return Ok(Received {
            path,
            name,
            content_type,
        });
    }
    let Some(content_type) = req.content_type().map(ToString::to_string) else {
        return Err(Error::UnsupportedMediaType(
            "send the file as multipart/form-data (one part `file`), or the bytes with their Content-Type".into(),
        ));
    };
    let received = Received {
        path,
        name: None,
        content_type: Some(content_type),
    };
    let written = data
        .open(limit + ByteUnit::Byte(1))
        .into_file(&received.path)
        .await
        .map_err(|e| Error::BadRequest(format!("the upload could not be read: {e}")))?;
    if written.n.written > limit.as_u64() || !written.is_complete() {
        return Err(too_large());
    }
    Ok(received)
}

//! `/api/v1/admin/mailboxes`: how each IMAP mailbox of the configuration is doing.

use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use utoipa::OpenApi;

use crate::api::guards::Admin;
use crate::http::problem::Problem;
use crate::mail::imap::{MailboxState, MailboxView};
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![list]
}

#[derive(OpenApi)]
#[openapi(paths(list), components(schemas(MailboxView, MailboxState, Problem)))]
pub struct Doc;

/// The IMAP mailboxes of the configuration: state, last fetch, last error
/// (as a hint), messages filed since start.
#[utoipa::path(tag = "admin", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Vec<MailboxView>), (status = 401, body = Problem), (status = 403, body = Problem),
))]
#[get("/mailboxes")]
fn list(state: &State<AppState>, _admin: Admin) -> Json<Vec<MailboxView>> {
    Json(state.mailboxes.views())
}

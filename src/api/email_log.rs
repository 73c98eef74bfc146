//! `/api/v1/admin/email-log`: outgoing notifications and their delivery state, for admins.

use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use utoipa::OpenApi;

use super::audit::positive_id;
use crate::api::guards::Admin;
use crate::audit::{self, ActorRef, Target};
use crate::error::Error;
use crate::http::problem::Problem;
use crate::http::query::{Page, Pagination, SingleValued};
use crate::ids::TicketId;
use crate::notify::outbox::{self, EmailLogFilter};
use crate::notify::{Notification, NotificationStatus};
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![list, retry]
}

#[derive(OpenApi)]
#[openapi(
    paths(list, retry),
    components(schemas(Notification, NotificationStatus, Page<Notification>, Problem))
)]
pub struct Doc;

/// Notifications, newest first, with `status` (`pending`, `sent`, `failed`,
/// `dead`), `attempts` and `last_error`. Filters: `status`, `ticket_id`.
#[utoipa::path(tag = "admin", operation_id = "email_log_list", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Page<Notification>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[get("/email-log?<status>&<ticket_id>&<page>&<per_page>")]
async fn list(
    state: &State<AppState>,
    _query: SingleValued,
    _admin: Admin,
    status: Option<&str>,
    ticket_id: Option<&str>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Json<Page<Notification>>, Error> {
    let pagination = Pagination::parse(page, per_page)?;
    let status = status
        .map(|s| {
            NotificationStatus::parse(s.trim())
                .ok_or_else(|| Error::validation("status", "must be pending, sent, failed or dead"))
        })
        .transpose()?;
    let filter = EmailLogFilter {
        status,
        ticket_id: positive_id("ticket_id", ticket_id)?.map(TicketId),
    };
    let (items, total) = state
        .db
        .read(move |conn| outbox::list(conn, &filter, pagination))
        .await?;
    Ok(Json(Page::new(items, pagination, total)))
}

/// Requeues a `failed` or `dead` notification: due now, with a fresh attempt
/// budget (409 for one that is pending or sent).
#[utoipa::path(tag = "admin", operation_id = "email_log_retry", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Notification), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem),
))]
#[post("/email-log/<id>/retry")]
async fn retry(
    state: &State<AppState>,
    admin: Admin,
    id: i64,
) -> Result<Json<Notification>, Error> {
    let by = ActorRef::from(&admin.0);
    let notification = state
        .db
        .write(move |tx| {
            let n = outbox::retry(tx, id)?;
            audit::record(
                tx,
                &by,
                "email.retried",
                Some(Target {
                    kind: "notification",
                    id,
                }),
                n.ticket_id.map(|t| t.0),
                &serde_json::json!({ "to": n.to, "kind": n.kind }),
            )?;
            Ok(n)
        })
        .await?;
    state.delivery.wake();
    Ok(Json(notification))
}

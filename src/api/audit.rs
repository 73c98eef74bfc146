//! `/api/v1/admin/audit`: the audit log, for admins.

use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use utoipa::OpenApi;

use crate::api::guards::Admin;
use crate::audit::{self, AuditEntry, AuditFilter};
use crate::error::Error;
use crate::http::problem::Problem;
use crate::http::query::{Page, Pagination, SingleValued, SortOrder};
use crate::ids::UserId;
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![list]
}

#[derive(OpenApi)]
#[openapi(paths(list), components(schemas(AuditEntry, Page<AuditEntry>, Problem)))]
pub struct Doc;

pub(super) fn positive_id(field: &str, raw: Option<&str>) -> Result<Option<i64>, Error> {
    raw.map(|r| {
        r.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| Error::validation(field, "must be a positive integer"))
    })
    .transpose()
}

/// The audit log, newest first. Filters: `ticket_id`, `actor_id`, `action`.
#[utoipa::path(tag = "admin", operation_id = "audit_list", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Page<AuditEntry>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[get("/audit?<ticket_id>&<actor_id>&<action>&<page>&<per_page>")]
#[allow(clippy::too_many_arguments)] // one per query parameter, as Rocket hands them
async fn list(
    state: &State<AppState>,
    _query: SingleValued,
    _admin: Admin,
    ticket_id: Option<&str>,
    actor_id: Option<&str>,
    action: Option<&str>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Json<Page<AuditEntry>>, Error> {
    let pagination = Pagination::parse(page, per_page)?;
    let filter = AuditFilter {
        ticket_id: positive_id("ticket_id", ticket_id)?,
        actor_id: positive_id("actor_id", actor_id)?.map(UserId),
        action: action
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from),
    };
    let (items, total) = state
        .db
        .read(move |conn| audit::list(conn, &filter, pagination, SortOrder::Desc))
        .await?;
    Ok(Json(Page::new(items, pagination, total)))
}

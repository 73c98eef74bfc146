//! `/api/v1/reports`: the team's numbers for a range of days, as JSON or,
//! with `Accept: text/csv`, the days as CSV.

use rocket::http::ContentType;
use rocket::request::{FromRequest, Outcome};
use rocket::serde::json::Json;
use rocket::{get, routes, Either, Request, Route, State};
use utoipa::OpenApi;

use crate::api::guards::Agent;
use crate::error::Error;
use crate::http::problem::Problem;
use crate::reports::{self, AgentRef, AgentRow, Csat, Day, Durations, Report, SlaMet};
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![report]
}

#[derive(OpenApi)]
#[openapi(
    paths(report),
    components(schemas(Report, Day, Durations, SlaMet, Csat, AgentRow, AgentRef, Problem))
)]
pub struct Doc;

/// Whether the client asked for CSV.
pub struct WantsCsv(bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WantsCsv {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let csv = req
            .headers()
            .get("Accept")
            .any(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")));
        Outcome::Success(WantsCsv(csv))
    }
}

/// Created and resolved tickets per day, first-response and resolution
/// medians and 90th percentiles (within 2.5 %), service levels met,
/// satisfaction and a row per agent, for the days `from` to `to` (UTC,
/// `YYYY-MM-DD`, by default the last 30 days; at most 366). With `Accept:
/// text/csv`: `date,created,resolved` per day.
#[utoipa::path(tag = "reports", params(
    ("from" = Option<String>, Query, description = "first day, YYYY-MM-DD"),
    ("to" = Option<String>, Query, description = "last day, YYYY-MM-DD"),
), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, description = "the report; with `Accept: text/csv` its days as CSV", content(
        (Report = "application/json"),
        (String = "text/csv"),
    )),
    (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[get("/?<from>&<to>")]
async fn report(
    state: &State<AppState>,
    _agent: Agent,
    from: Option<&str>,
    to: Option<&str>,
    csv: WantsCsv,
) -> Result<Either<Json<Report>, (ContentType, String)>, Error> {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let (from, to) = reports::range(from, to, today)?;
    let report = state
        .db
        .read(move |conn| reports::compute(conn, &from, &to))
        .await?;
    Ok(if csv.0 {
        Either::Right((ContentType::CSV, reports::csv(&report)))
    } else {
        Either::Left(Json(report))
    })
}

//! `/api/v1/ratings/{token}`: a requester rates the help on a resolved
//! ticket from the link in the mail (no account needed; the token names the
//! ticket and expires after 30 days).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::ratings::{self, Rating, Score};
use crate::settings;
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![rate]
}

#[derive(OpenApi)]
#[openapi(paths(rate), components(schemas(RateTicket, Rating, Score, Problem)))]
pub struct Doc;

/// A rating: the score, and optionally a comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateTicket {
    pub score: Score,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Records the requester's rating of a ticket (a second one replaces the
/// first). An invalid or expired link, a deleted ticket, or ratings turned
/// off answer 404.
#[utoipa::path(tag = "ratings", params(("token" = String, Path)), request_body = RateTicket, responses(
    (status = 201, body = Rating), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/<token>", data = "<body>")]
async fn rate(
    state: &State<AppState>,
    token: &str,
    body: ApiJson<RateTicket>,
) -> Result<(Status, Json<Rating>), Error> {
    let not_found = || Error::NotFound("rating link");
    let ticket = ratings::ticket_of(&state.keys, token).ok_or_else(not_found)?;
    let RateTicket { score, comment } = body.into_inner();
    let rating = state
        .db
        .write(move |tx| {
            if !settings::load(tx)?.csat_enabled {
                return Ok(None);
            }
            ratings::record(tx, ticket, score, comment.as_deref())
        })
        .await?
        .ok_or_else(not_found)?;
    Ok((Status::Created, Json(rating)))
}

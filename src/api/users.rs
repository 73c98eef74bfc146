//! `/api/v1/users`: listing, admin management, and one's own profile.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, routes, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::api::guards::{Admin, Agent, CurrentUser};
use crate::error::Error;
use crate::http::json::{double_option, ApiJson};
use crate::http::problem::Problem;
use crate::http::query::{parse_bool, parse_sort, Page, Pagination, SingleValued, SortOrder};
use crate::state::AppState;
use crate::users::manage::{self, NewAccount, ProfileChanges};
use crate::users::repo::{self, UserChanges, UserFilter, UserSort};
use crate::users::{Role, User, UserId};

pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        me,
        update_me,
        get_one,
        update,
        deactivate,
        resend_invite
    ]
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, me, update_me, get_one, update, deactivate, resend_invite),
    components(schemas(User, Role, Page<User>, CreateUser, UpdateUser, UpdateMe, Problem))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Without a password, the user gets an invite link to set one.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Whether the user gets notification emails.
    pub email_notifications: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    pub name: Option<String>,
    /// A new password; needs `current_password`.
    pub password: Option<String>,
    pub current_password: Option<String>,
    /// Turns notification emails on or off (links for password resets still arrive).
    pub email_notifications: Option<bool>,
    /// Agents and admins: added below their public replies (Markdown); `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub signature: Option<Option<String>>,
}

/// Lists users (agents and admins). Filters: `role`, `active`, `q` (name or email).
/// Sort by `name` (default), `email`, `created_at`, `last_login_at`; `-field` for descending.
#[utoipa::path(tag = "users", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Page<User>),
    (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[get("/?<role>&<active>&<q>&<page>&<per_page>&<sort>")]
#[allow(clippy::too_many_arguments)]
async fn list(
    state: &State<AppState>,
    _query: SingleValued,
    _agent: Agent,
    role: Option<&str>,
    active: Option<&str>,
    q: Option<&str>,
    page: Option<&str>,
    per_page: Option<&str>,
    sort: Option<&str>,
) -> Result<Json<Page<User>>, Error> {
    let pagination = Pagination::parse(page, per_page)?;
    let sort = parse_sort(sort, UserSort::ALLOWED, (UserSort::Name, SortOrder::Asc))?;
    let role = role
        .map(|r| {
            Role::parse(r)
                .ok_or_else(|| Error::validation("role", "must be customer, agent or admin"))
        })
        .transpose()?;
    let filter = UserFilter {
        role,
        active: parse_bool("active", active)?,
        q: q.map(str::trim).filter(|q| !q.is_empty()).map(String::from),
    };
    let (items, total) = state
        .db
        .read(move |conn| repo::list(conn, &filter, sort, pagination))
        .await?;
    Ok(Json(Page::new(items, pagination, total)))
}

/// Creates a user (admins). Without `password`, an invite link is issued.
#[utoipa::path(tag = "users", security(("bearer" = []), ("api_key" = [])), request_body = CreateUser, responses(
    (status = 201, body = User),
    (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 409, description = "email taken", body = Problem), (status = 422, body = Problem),
))]
#[post("/", data = "<body>")]
async fn create(
    state: &State<AppState>,
    admin: Admin,
    body: ApiJson<CreateUser>,
) -> Result<(Status, Json<User>), Error> {
    let b = body.into_inner();
    let input = NewAccount {
        email: b.email,
        name: b.name,
        role: b.role,
        password: b.password,
    };
    Ok((
        Status::Created,
        Json(manage::create(&state.accounts(), &admin.0, input).await?),
    ))
}

/// The signed-in user's own profile.
#[utoipa::path(tag = "users", security(("bearer" = [])), responses(
    (status = 200, body = User), (status = 401, body = Problem), (status = 403, body = Problem),
))]
#[get("/me")]
fn me(user: CurrentUser) -> Result<Json<User>, Error> {
    Ok(Json(user.0.require_user()?.clone()))
}

/// Changes one's own name, notification choice or password (the password needs `current_password`;
/// other sessions end, this one stays).
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = UpdateMe, responses(
    (status = 200, body = User), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[patch("/me", data = "<body>")]
async fn update_me(
    state: &State<AppState>,
    user: CurrentUser,
    body: ApiJson<UpdateMe>,
) -> Result<Json<User>, Error> {
    let b = body.into_inner();
    let changes = ProfileChanges {
        name: b.name,
        password: b.password,
        current_password: b.current_password,
        email_notifications: b.email_notifications,
        signature: b.signature,
    };
    Ok(Json(
        manage::update_me(&state.accounts(), &user.0, changes).await?,
    ))
}

/// One user (agents and admins; anyone may read their own).
#[utoipa::path(tag = "users", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = User), (status = 401, body = Problem), (status = 404, body = Problem),
))]
#[get("/<id>")]
async fn get_one(
    state: &State<AppState>,
    user: CurrentUser,
    id: UserId,
) -> Result<Json<User>, Error> {
    if !manage::can_view(&user.0, id) {
        return Err(Error::NotFound("user"));
    }
    let found = state.db.read(move |conn| repo::get(conn, id)).await?;
    Ok(Json(found.ok_or(Error::NotFound("user"))?.user))
}

/// Changes a user's name, role or active state (admins). The last active admin
/// can be neither demoted nor deactivated (409).
#[utoipa::path(tag = "users", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), request_body = UpdateUser, responses(
    (status = 200, body = User), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
))]
#[patch("/<id>", data = "<body>")]
async fn update(
    state: &State<AppState>,
    admin: Admin,
    id: UserId,
    body: ApiJson<UpdateUser>,
) -> Result<Json<User>, Error> {
    let b = body.into_inner();
    let changes = UserChanges {
        name: b.name,
        role: b.role,
        active: b.active,
        email_notifications: b.email_notifications,
        signature: None,
    };
    Ok(Json(
        manage::update(&state.accounts(), &admin.0, id, changes).await?,
    ))
}

/// Deactivates a user (admins): sign-in stops, sessions end, history stays.
#[utoipa::path(tag = "users", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 204, description = "deactivated"), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, description = "last active admin", body = Problem),
))]
#[delete("/<id>")]
async fn deactivate(state: &State<AppState>, admin: Admin, id: UserId) -> Result<Status, Error> {
    manage::deactivate(&state.accounts(), &admin.0, id).await?;
    Ok(Status::NoContent)
}

/// Sends the invitation mail again (admins) to a user who has not set a
/// password yet; the answer is the user. 409 once they have, or while the
/// account is deactivated.
#[utoipa::path(tag = "users", operation_id = "users_resend_invite", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = User), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, description = "the invitation was accepted, or the user is deactivated", body = Problem),
))]
#[post("/<id>/invite")]
async fn resend_invite(
    state: &State<AppState>,
    admin: Admin,
    id: UserId,
) -> Result<Json<User>, Error> {
    Ok(Json(
        manage::resend_invite(&state.accounts(), &admin.0, id).await?,
    ))
}

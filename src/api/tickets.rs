//! `/api/v1/tickets`: listing, search, creation, changes, assignment, status shortcuts, stats.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, routes, FromForm, Route, State};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::api::attachments::files_of;
use crate::api::guards::{Admin, Agent, CurrentUser};
use crate::error::{Error, FieldError};
use crate::http::json::{double_option, ApiJson};
use crate::http::problem::Problem;
use crate::http::query::{
    parse_bool, parse_sort, parse_time, Page, Pagination, SingleValued, SortOrder,
};
use crate::ids::{AttachmentId, TicketId, UserId};
use crate::state::AppState;
use crate::tickets::list::{SlaFilter, TicketFilter, TicketSort};
use crate::tickets::model::TicketSla;
use crate::tickets::opening::{self, CreateRequest};
use crate::tickets::service::{self, Changes};
use crate::tickets::stats::{self, TicketStats};
use crate::tickets::{search, Channel, Priority, Ticket, TicketStatus, TicketWithMessages};

pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        stats_route,
        get_one,
        update,
        assign,
        resolve,
        close,
        reopen,
        remove
    ]
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, stats_route, get_one, update, assign, resolve, close, reopen, remove),
    components(schemas(Ticket, TicketSla, TicketWithMessages, Page<Ticket>, TicketStats, CreateTicket, UpdateTicket, AssignTicket, TicketStatus, Priority, Channel, Problem))
)]
pub struct Doc;

/// Query of `GET /tickets`. Every value is checked; a bad one is 422.
#[derive(Debug, Default, FromForm, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// One status or several, comma-separated: `open`, `in_progress`, `pending`, `resolved`, `closed`.
    status: Option<String>,
    /// One priority or several, comma-separated: low, medium, high, urgent.
    priority: Option<String>,
    assignee_id: Option<String>,
    requester_id: Option<String>,
    /// `true`: only tickets nobody is assigned to.
    unassigned: Option<String>,
    /// `true`: only tickets with a requester message the caller (an agent) has not seen.
    unread: Option<String>,
    /// `true`: only tickets the caller (an agent) follows.
    following: Option<String>,
    /// `breached`: an open service-level target is past due; `due_soon`: one
    /// falls due within the next hour (agents).
    sla: Option<String>,
    category: Option<String>,
    #[field(name = "type")]
    #[serde(rename = "type")]
    kind: Option<String>,
    tag: Option<String>,
    channel: Option<String>,
    /// Full text over subjects and messages: words (prefix-matched), "phrases",
    /// OR, -exclusions; `#123` finds ticket 123.
    q: Option<String>,
    /// RFC 3339 time.
    created_after: Option<String>,
    /// RFC 3339 time.
    updated_after: Option<String>,
    /// `created_at`, `updated_at`, `priority`, `status`, `due_at` (the
    /// earliest open service-level target; agents) or `relevance`; `-field`
    /// descending. Default `-updated_at`, or `relevance` (best match first) when
    /// searching; `relevance` without `q` is `-updated_at`. When more than 10,000
    /// tickets match, relevance ranks the newest 10,000 of them. For customers,
    /// relevance is their most recently changed tickets first.
    sort: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// A comma-separated list of allowed values, each once (a repeated value is
/// the same filter).
fn list_of<T: Copy + PartialEq>(
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Option<T>,
    names: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<T> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for part in raw.split(',').map(str::trim) {
        if let Some(v) = parse(part) {
            if !values.contains(&v) {
                values.push(v);
            }
        } else {
            errors.push(FieldError::new(
                field,
                format!("`{part}` is not one of {names}"),
            ));
            break;
        }
    }
    values
}

fn user_id(field: &str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<UserId> {
    let raw = raw?;
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Some(UserId(id)),
        _ => {
            errors.push(FieldError::new(field, "must be a positive integer"));
            None
        }
    }
}

fn parse_query(
    q: &TicketQuery,
) -> Result<(TicketFilter, (TicketSort, SortOrder), Pagination), Error> {
    let mut errors = Vec::new();
    let mut collect = |result: Result<(), Error>| {
        if let Err(Error::Validation(mut e)) = result {
            errors.append(&mut e);
        }
    };
    let mut filter = TicketFilter::default();
    let mut inner = Vec::new();
    filter.statuses = list_of(
        "status",
        q.status.as_deref(),
        TicketStatus::parse,
        &TicketStatus::names(),
        &mut inner,
    );
    filter.priorities = list_of(
        "priority",
        q.priority.as_deref(),
        Priority::parse,
        &Priority::names(),
        &mut inner,
    );
    filter.assignee_id = user_id("assignee_id", q.assignee_id.as_deref(), &mut inner);
    filter.requester_id = user_id("requester_id", q.requester_id.as_deref(), &mut inner);
    if let Some(sla) = q.sla.as_deref().filter(|s| !s.trim().is_empty()) {
        match SlaFilter::parse(sla.trim()) {
            Some(f) => filter.sla = Some(f),
            None => inner.push(FieldError::new("sla", "must be breached or due_soon")),
        }
    }
    if let Some(channel) = q.channel.as_deref() {
        match Channel::parse(channel) {
            Some(c) => filter.channel = Some(c),
            None => inner.push(FieldError::new(
                "channel",
                format!("must be one of {}", Channel::names()),
            )),
        }
    }
    collect(
        parse_bool("unassigned", q.unassigned.as_deref())
            .map(|v| filter.unassigned = v == Some(true)),
    );
    collect(parse_bool("unread", q.unread.as_deref()).map(|v| filter.unread = v == Some(true)));
    collect(
        parse_bool("following", q.following.as_deref()).map(|v| filter.following = v == Some(true)),
    );
    collect(
        parse_time("created_after", q.created_after.as_deref()).map(|v| filter.created_after = v),
    );
    collect(
        parse_time("updated_after", q.updated_after.as_deref()).map(|v| filter.updated_after = v),
    );
    collect(search::parse(q.q.as_deref().unwrap_or("")).map(|v| filter.search = v));
    filter.category = q.category.clone().filter(|c| !c.trim().is_empty());
    filter.kind = q.kind.clone().filter(|c| !c.trim().is_empty());
    filter.tag = q
        .tag
        .as_deref()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    let text_search = matches!(filter.search, Some(search::SearchQuery::Text(_)));
    let default_sort = if text_search {
        (TicketSort::Relevance, SortOrder::Asc)
    } else {
        (TicketSort::UpdatedAt, SortOrder::Desc)
    };
    let mut sort = default_sort;
    collect(parse_sort(q.sort.as_deref(), TicketSort::ALLOWED, default_sort).map(|s| sort = s));
    let mut page = Pagination {
        page: 1,
        per_page: 25,
    };
    collect(Pagination::parse(q.page.as_deref(), q.per_page.as_deref()).map(|p| page = p));
    errors.append(&mut inner);
    if errors.is_empty() {
        Ok((filter, sort, page))
    } else {
        Err(Error::Validation(errors))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    pub subject: String,
    /// The first message.
    pub body: String,
    pub priority: Option<Priority>,
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Agents and admins may open a ticket for someone else.
    pub requester_id: Option<UserId>,
    /// Ids of the caller's uploads that the first message takes.
    pub attachments: Option<Vec<AttachmentId>>,
    /// Agents and admins opening a ticket for a caller: their address; a
    /// customer account (without a password) is made when it is new.
    pub requester_email: Option<String>,
    /// The name for a new customer account (default: the address's local part).
    pub requester_name: Option<String>,
    /// Agents and admins recording a call or a walk-in: `phone` or `web`
    /// (default `web`, or `api` for API keys).
    pub channel: Option<Channel>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, rename = "type", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<UserId>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTicket {
    /// The agent or admin to assign; `null` unassigns.
    #[serde(deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, required = true)]
    pub assignee_id: Option<Option<UserId>>,
    pub priority: Option<Priority>,
}

/// Lists tickets: customers see their own, agents and admins all.
#[utoipa::path(tag = "tickets", params(TicketQuery), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Page<Ticket>), (status = 401, body = Problem), (status = 422, body = Problem),
))]
#[get("/?<query..>")]
async fn list(
    state: &State<AppState>,
    _query: SingleValued,
    user: CurrentUser,
    query: TicketQuery,
) -> Result<Json<Page<Ticket>>, Error> {
    let (filter, sort, page) = parse_query(&query)?;
    Ok(Json(
        service::list(&state.db, &user.0, filter, sort, page).await?,
    ))
}

/// Opens a ticket with its first message. Customers open their own; agents may
/// give `requester_id`; API keys must.
#[utoipa::path(tag = "tickets", request_body = CreateTicket, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 201, body = TicketWithMessages), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[post("/", data = "<body>")]
async fn create(
    state: &State<AppState>,
    user: CurrentUser,
    body: ApiJson<CreateTicket>,
) -> Result<Created<Json<TicketWithMessages>>, Error> {
    let b = body.into_inner();
    let request = CreateRequest {
        subject: b.subject,
        body: b.body,
        priority: b.priority,
        category: b.category,
        kind: b.kind,
        tags: b.tags,
        requester_id: b.requester_id,
        requester_email: b.requester_email,
        requester_name: b.requester_name,
        channel: b.channel,
        files: files_of(state, &user.0, b.attachments)?,
    };
    let created = opening::create(&state.db, &user.0, request).await?;
    Ok(Created::new(format!("/api/v1/tickets/{}", created.ticket.id)).body(Json(created)))
}

/// Counts by status, priority and assignee; unassigned open work; median
/// first-response and resolution times since `since` (default: 30 days ago),
/// from daily duration buckets (within 2.5 % of the exact median).
#[utoipa::path(tag = "tickets", params(("since" = Option<String>, Query, description = "RFC 3339 start of the window")), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = TicketStats), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[get("/stats?<since>")]
async fn stats_route(
    state: &State<AppState>,
    _query: SingleValued,
    _agent: Agent,
    since: Option<&str>,
) -> Result<Json<TicketStats>, Error> {
    let since = match parse_time("since", since)? {
        Some(since) => since,
        None => crate::db::format_time(time::OffsetDateTime::now_utc() - time::Duration::days(30)),
    };
    Ok(Json(
        state
            .db
            .read(move |conn| stats::compute(conn, &since))
            .await?,
    ))
}

/// One ticket with its conversation (internal notes for agents and admins only).
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = TicketWithMessages), (status = 401, body = Problem), (status = 404, body = Problem),
))]
#[get("/<id>")]
async fn get_one(
    state: &State<AppState>,
    user: CurrentUser,
    id: TicketId,
) -> Result<Json<TicketWithMessages>, Error> {
    Ok(Json(service::get(&state.db, &user.0, id).await?))
}

/// Changes a ticket. Agents and admins change anything; the requester may only
/// set `status` to `closed`, or reopen (`open`) a resolved or closed ticket.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), request_body = UpdateTicket, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Ticket), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, description = "transition not allowed", body = Problem), (status = 422, body = Problem),
))]
#[patch("/<id>", data = "<body>")]
async fn update(
    state: &State<AppState>,
    user: CurrentUser,
    id: TicketId,
    body: ApiJson<UpdateTicket>,
) -> Result<Json<Ticket>, Error> {
    let b = body.into_inner();
    let changes = Changes {
        subject: b.subject,
        status: b.status,
        priority: b.priority,
        category: b.category,
        kind: b.kind,
        tags: b.tags,
        assignee_id: b.assignee_id,
    };
    Ok(Json(
        service::update(&state.db, &user.0, id, changes).await?,
    ))
}

/// Assigns (or with `null`, unassigns) a ticket; optionally sets the priority.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), request_body = AssignTicket, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Ticket), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/<id>/assign", data = "<body>")]
async fn assign(
    state: &State<AppState>,
    agent: Agent,
    id: TicketId,
    body: ApiJson<AssignTicket>,
) -> Result<Json<Ticket>, Error> {
    let b = body.into_inner();
    let assignee = b
        .assignee_id
        .ok_or_else(|| Error::validation("assignee_id", "is required (null unassigns)"))?;
    Ok(Json(
        service::assign(&state.db, &agent.0, id, assignee, b.priority).await?,
    ))
}

/// Marks a ticket resolved (agents and admins).
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Ticket), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
))]
#[post("/<id>/resolve")]
async fn resolve(
    state: &State<AppState>,
    agent: Agent,
    id: TicketId,
) -> Result<Json<Ticket>, Error> {
    Ok(Json(
        service::set_status(&state.db, &agent.0, id, TicketStatus::Resolved).await?,
    ))
}

/// Closes a ticket (agents, admins, and the requester).
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Ticket), (status = 401, body = Problem), (status = 404, body = Problem),
))]
#[post("/<id>/close")]
async fn close(
    state: &State<AppState>,
    user: CurrentUser,
    id: TicketId,
) -> Result<Json<Ticket>, Error> {
    Ok(Json(
        service::set_status(&state.db, &user.0, id, TicketStatus::Closed).await?,
    ))
}

/// Reopens a ticket (agents, admins, and the requester of a resolved or closed ticket).
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Ticket), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/<id>/reopen")]
async fn reopen(
    state: &State<AppState>,
    user: CurrentUser,
    id: TicketId,
) -> Result<Json<Ticket>, Error> {
    Ok(Json(
        service::set_status(&state.db, &user.0, id, TicketStatus::Open).await?,
    ))
}

/// Deletes a ticket and its conversation for good (admins; e.g. spam). The audit log keeps a record.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 204, description = "deleted"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/<id>")]
async fn remove(state: &State<AppState>, admin: Admin, id: TicketId) -> Result<Status, Error> {
    service::delete(&state.db, &admin.0, id).await?;
    Ok(Status::NoContent)
}

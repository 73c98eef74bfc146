//! Ticket operations. Each runs in one transaction that checks the rules,
//! writes, and records the audit entry; a failed rule writes nothing.

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::list::{self, TicketFilter, TicketSort, Viewer};
use super::model::{Priority, Ticket, TicketStatus, TicketWithMessages};
use super::repo::{self, Column, TicketState};
use super::search::SearchQuery;
use super::{assign, attention, rules};
use crate::actor::Actor;
use crate::audit::{self, ActorRef, Target};
use crate::db::{now, Db};
use crate::error::{Error, FieldError};
use crate::events;
use crate::ids::TicketId;
use crate::notify;
use crate::paging::{Page, Pagination, SortOrder};
use crate::settings::{self, Settings};
use crate::users::UserId;

/// The ticket as `actor` may see it, or 404 (also when it exists but is not theirs).
pub fn visible_state(conn: &Connection, actor: &Actor, id: TicketId) -> Result<TicketState, Error> {
    match repo::state(conn, id)? {
        Some(state) if rules::can_view(actor, state.requester_id) => Ok(state),
        _ => Err(Error::NotFound("ticket")),
    }
}

pub fn with_messages(
    conn: &Connection,
    id: TicketId,
    staff: bool,
) -> Result<TicketWithMessages, Error> {
    let ticket = repo::get(conn, id, staff)?.ok_or(Error::NotFound("ticket"))?;
    let (messages, _) = repo::messages(conn, id, staff, u32::MAX, 0)?;
    Ok(TicketWithMessages { ticket, messages })
}

/// The ticket with its conversation as `actor` sees it (no access check).
pub fn view_in(
    conn: &Connection,
    actor: &Actor,
    id: TicketId,
) -> Result<TicketWithMessages, Error> {
    let mut found = with_messages(conn, id, actor.role.is_staff())?;
    attention::annotate(conn, actor, std::slice::from_mut(&mut found.ticket))?;
    Ok(found)
}

pub async fn get(db: &Db, actor: &Actor, id: TicketId) -> Result<TicketWithMessages, Error> {
    let actor = actor.clone();
    db.read(move |conn| {
        visible_state(conn, &actor, id)?;
        view_in(conn, &actor, id)
    })
    .await
}

/// Whose tickets `actor` lists: staff all, a user their own; a customer API key has no one's.
pub fn viewer(actor: &Actor) -> Result<Viewer, Error> {
    if actor.role.is_staff() {
        return Ok(Viewer::Staff);
    }
    actor.user_id().map(Viewer::Requester).ok_or_else(|| {
        Error::Forbidden("a customer API key has no tickets; sign in as the customer".into())
    })
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    mut filter: TicketFilter,
    sort: (TicketSort, SortOrder),
    page: Pagination,
) -> Result<Page<Ticket>, Error> {
    let viewer = viewer(actor)?;
    for (asked, field) in [(filter.unread, "unread"), (filter.following, "following")] {
        if asked {
            filter.agent = Some(attention::agent_of(actor).ok_or_else(|| {
                Error::validation(
                    field,
                    "only a signed-in agent has unread or followed tickets",
                )
            })?);
        }
    }
    if !actor.role.is_staff() {
        if filter.sla.is_some() {
            return Err(Error::validation("sla", "service levels are for agents"));
        }
        if sort.0 == TicketSort::DueAt {
            return Err(Error::validation("sort", "due_at is for agents"));
        }
    }
    let actor = actor.clone();
    let (items, total) = db
        .read(move |conn| {
            let (mut items, total) = if let Some(SearchQuery::Text(search)) = &filter.search {
                super::found::list(conn, search, &filter, viewer, sort, page)?
            } else {
                let known = super::count::from_counters(conn, &filter, viewer)?;
                list::list(conn, &filter, viewer, sort, page, known)?
            };
            attention::annotate(conn, &actor, &mut items)?;
            Ok((items, total))
        })
        .await?;
    Ok(Page::counted(items, page, total))
}

/// Requested changes; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub category: Option<Option<String>>,
    pub kind: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub assignee_id: Option<Option<UserId>>,
}

impl Changes {
    fn only_status(&self) -> bool {
        self.subject.is_none()
            && self.priority.is_none()
            && self.category.is_none()
            && self.kind.is_none()
            && self.tags.is_none()
            && self.assignee_id.is_none()
    }
}

fn diff(details: &mut Map<String, Value>, field: &str, from: Value, to: Value) {
    details.insert(field.to_string(), json!({ "from": from, "to": to }));
}

/// Applies `changes` inside the caller's transaction; audits what really changed.
pub fn apply_in(
    conn: &Connection,
    actor: &Actor,
    id: TicketId,
    changes: &Changes,
) -> Result<(), Error> {
    let current = visible_state(conn, actor, id)?;
    let staff = actor.role.is_staff();
    if !staff && !changes.only_status() {
        return Err(Error::Forbidden(
            "a requester may only close or reopen their ticket".into(),
        ));
    }
    let settings = settings::load(conn)?;
    let now = now();
    let mut details = Map::new();
    let mut errors = Vec::new();
    apply_fields(
        conn,
        &current,
        changes,
        &settings,
        actor.user_id(),
        &mut details,
        &mut errors,
    )?;
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    if let Some(to) = changes.status.filter(|s| *s != current.status) {
        rules::check_transition(current.status, to, staff)?;
        let merged: Option<TicketId> = conn
            .prepare_cached("SELECT merged_into FROM tickets WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        if let Some(target) = merged {
            return Err(Error::Conflict(format!(
                "this ticket was merged into #{target}; continue there"
            )));
        }
        repo::set_status(conn, id, to, &now)?;
        notify::status_changed(conn, &current, to, actor.user_id())?;
        diff(
            &mut details,
            "status",
            current.status.as_str().into(),
            to.as_str().into(),
        );
    }
    if details.is_empty() {
        return Ok(());
    }
    repo::touch(conn, id, &now)?;
    if details.contains_key("status") || details.contains_key("priority") {
        crate::sla::clock::refresh(conn, id)?;
    }
    let action = match (details.len(), details.keys().next().map(String::as_str)) {
        (1, Some("status")) => "ticket.status_changed",
        (1, Some("assignee_id")) => "ticket.assigned",
        _ => "ticket.updated",
    };
    let kinds: &[&str] = if details.contains_key("assignee_id") {
        &[events::kind::TICKET_UPDATED, events::kind::TICKET_ASSIGNED]
    } else {
        &[events::kind::TICKET_UPDATED]
    };
    events::record_ticket(conn, kinds, id)?;
    audit::record(
        conn,
        &ActorRef::from(actor),
        action,
        Some(Target {
            kind: "ticket",
            id: id.0,
        }),
        Some(id.0),
        &details.into(),
    )
}

/// Applies every field change but the status; problems go to `errors`.
fn apply_fields(
    conn: &Connection,
    current: &TicketState,
    changes: &Changes,
    settings: &Settings,
    actor: Option<UserId>,
    details: &mut Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Result<(), Error> {
    let id = current.id;

    if let Some(subject) = &changes.subject {
        match rules::normalize_subject(subject) {
            Ok(subject) if subject != current.subject => {
                repo::set(conn, id, Column::Subject, &subject)?;
                diff(
                    details,
                    "subject",
                    current.subject.clone().into(),
                    subject.into(),
                );
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if let Some(priority) = changes.priority.filter(|p| *p != current.priority) {
        repo::set(conn, id, Column::Priority, &priority)?;
        diff(
            details,
            "priority",
            current.priority.as_str().into(),
            priority.as_str().into(),
        );
    }
    for (field, column, requested, old) in [
        (
            "category",
            Column::Category,
            &changes.category,
            &current.category,
        ),
        ("type", Column::Type, &changes.kind, &current.kind),
    ] {
        if let Some(requested) = requested {
            match rules::check_label(field, requested.as_deref(), settings) {
                Ok(value) if &value != old => {
                    repo::set(conn, id, column, &value)?;
                    diff(details, field, json!(old), json!(value));
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(tags) = &changes.tags {
        match rules::normalize_tags(tags) {
            Ok(tags) if tags != current.tags => {
                repo::set_tags(conn, id, &tags)?;
                diff(details, "tags", json!(current.tags), json!(tags));
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if let Some(assignee) = changes.assignee_id.filter(|a| *a != current.assignee_id) {
        if let Some(user) = assignee {
            match assign::check_assignee(conn, user) {
                Ok(()) => {}
                Err(Error::Validation(mut e)) => errors.append(&mut e),
                Err(e) => return Err(e),
            }
        }
        if errors.is_empty() {
            repo::set(conn, id, Column::Assignee, &assignee)?;
            if let Some(user) = assignee {
                notify::assigned(conn, id, user, actor)?;
            }
            diff(
                details,
                "assignee_id",
                json!(current.assignee_id),
                json!(assignee),
            );
        }
    }
    Ok(())
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    changes: Changes,
) -> Result<Ticket, Error> {
    let actor = actor.clone();
    db.write(move |tx| {
        apply_in(tx, &actor, id, &changes)?;
        let mut ticket =
            repo::get(tx, id, actor.role.is_staff())?.ok_or(Error::NotFound("ticket"))?;
        attention::annotate(tx, &actor, std::slice::from_mut(&mut ticket))?;
        Ok(ticket)
    })
    .await
}

pub async fn set_status(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    to: TicketStatus,
) -> Result<Ticket, Error> {
    update(
        db,
        actor,
        id,
        Changes {
            status: Some(to),
            ..Changes::default()
        },
    )
    .await
}

pub async fn assign(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    assignee: Option<UserId>,
    priority: Option<Priority>,
) -> Result<Ticket, Error> {
    update(
        db,
        actor,
        id,
        Changes {
            assignee_id: Some(assignee),
            priority,
            ..Changes::default()
        },
    )
    .await
}

/// Deletes a ticket and its conversation for good (admins); the audit log keeps the record.
pub async fn delete(db: &Db, actor: &Actor, id: TicketId) -> Result<(), Error> {
    let by = ActorRef::from(actor);
    db.write(move |tx| {
        let current = repo::state(tx, id)?.ok_or(Error::NotFound("ticket"))?;
        repo::delete(tx, id)?;
        // Nothing of it stays to be replayed, mailed or threaded.
        events::purge_ticket(tx, id)?;
        crate::notify::outbox::purge_ticket(tx, id)?;
        crate::mail::identity::forget_ticket(tx, id)?;
        events::record_deleted(tx, id)?;
        audit::record(
            tx,
            &by,
            "ticket.deleted",
            Some(Target {
                kind: "ticket",
                id: id.0,
            }),
            Some(id.0),
            &json!({ "subject": current.subject, "requester_id": current.requester_id }),
        )
    })
    .await
}

//! Saved replies: texts an agent inserts into a reply, shared by the team
//! (admins manage those) or their own, with placeholders filled in for the
//! ticket at hand.

pub mod repo;

use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::actor::{Actor, Role};
use crate::audit::{self, ActorRef, Target};
use crate::db::{now, Db};
use crate::error::{Error, FieldError};
use crate::ids::{SavedReplyId, TicketId, UserId};
use crate::paging::{Page, Pagination};

/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;

/// A saved reply as agents see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedReply {
    pub id: SavedReplyId,
    pub title: String,
    /// Markdown, with placeholders like `{{customer.first_name}}`.
    pub body: String,
    /// Shared with the whole team (admins change these); otherwise the owner's own.
    pub shared: bool,
    /// The agent it belongs to; `null` for shared ones.
    pub owner_id: Option<UserId>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a change asks for; `None` leaves a field alone.
#[derive(Debug, Default)]
pub struct Changes {
    pub title: Option<String>,
    pub body: Option<String>,
}

fn me(actor: &Actor) -> Result<UserId, Error> {
    actor
        .user_id()
        .ok_or_else(|| Error::Forbidden("saved replies belong to people; sign in as one".into()))
}

fn check(title: Option<&str>, body: Option<&str>) -> Result<(), Error> {
    let mut errors = Vec::new();
    if let Some(title) = title {
        let chars = title.trim().chars().count();
        if chars == 0 || chars > TITLE_MAX_CHARS {
            errors.push(FieldError::new(
                "title",
                format!("must be 1 to {TITLE_MAX_CHARS} characters"),
            ));
        } else if title.trim().chars().any(char::is_control) {
            errors.push(FieldError::new(
                "title",
                "must not contain control characters",
            ));
        }
    }
    if let Some(body) = body {
        if let Err(e) = crate::tickets::rules::check_body("body", body) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

/// The shared ones and the caller's own, by title; `q` filters title and body.
pub async fn list(
    db: &Db,
    actor: &Actor,
    q: Option<String>,
    page: Pagination,
) -> Result<Page<SavedReply>, Error> {
    let me = me(actor)?;
    let (items, total) = db
        .read(move |c| repo::list(c, me, q.as_deref(), page))
        .await?;
    Ok(Page::new(items, page, total))
}

/// One the caller may see (shared or their own), else 404.
fn visible(conn: &Connection, me: UserId, id: SavedReplyId) -> Result<SavedReply, Error> {
    repo::get(conn, id)?
        .filter(|r| r.shared || r.owner_id == Some(me))
        .ok_or(Error::NotFound("saved reply"))
}

/// One the caller may change: their own; a shared one only as admin.
fn changeable(conn: &Connection, actor: &Actor, id: SavedReplyId) -> Result<SavedReply, Error> {
    let reply = visible(conn, me(actor)?, id)?;
    if reply.shared && actor.role < Role::Admin {
        return Err(Error::Forbidden(
            "only admins change shared saved replies".into(),
        ));
    }
    Ok(reply)
}

pub async fn get(db: &Db, actor: &Actor, id: SavedReplyId) -> Result<SavedReply, Error> {
    let me = me(actor)?;
    db.read(move |c| visible(c, me, id)).await
}

/// Creates one; `shared` ones only admins create.
pub async fn create(
    db: &Db,
    actor: &Actor,
    (title, body, shared): (String, String, bool),
) -> Result<SavedReply, Error> {
    let me = me(actor)?;
    check(Some(&title), Some(&body))?;
    if shared && actor.role < Role::Admin {
        return Err(Error::Forbidden(
            "only admins create shared saved replies".into(),
        ));
    }
    let by = ActorRef::from(actor);
    db.write(move |tx| {
        let owner = (!shared).then_some(me);
        let id = repo::insert(tx, title.trim(), &body, owner, &now())?;
        audit_change(tx, &by, "saved_reply.created", id)?;
        repo::get(tx, id)?.ok_or(Error::NotFound("saved reply"))
    })
    .await
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    id: SavedReplyId,
    changes: Changes,
) -> Result<SavedReply, Error> {
    check(changes.title.as_deref(), changes.body.as_deref())?;
    let (actor, by) = (actor.clone(), ActorRef::from(actor));
    db.write(move |tx| {
        changeable(tx, &actor, id)?;
        repo::update(
            tx,
            id,
            changes.title.as_deref().map(str::trim),
            changes.body.as_deref(),
            &now(),
        )?;
        audit_change(tx, &by, "saved_reply.updated", id)?;
        repo::get(tx, id)?.ok_or(Error::NotFound("saved reply"))
    })
    .await
}

pub async fn delete(db: &Db, actor: &Actor, id: SavedReplyId) -> Result<(), Error> {
    let (actor, by) = (actor.clone(), ActorRef::from(actor));
    db.write(move |tx| {
        changeable(tx, &actor, id)?;
        repo::delete(tx, id)?;
        audit_change(tx, &by, "saved_reply.deleted", id)
    })
    .await
}

fn audit_change(
    conn: &Connection,
    by: &ActorRef,
    action: &str,
    id: SavedReplyId,
) -> Result<(), Error> {
    audit::record(
        conn,
        by,
        action,
        Some(Target {
            kind: "saved_reply",
            id: id.0,
        }),
        None,
        &json!({}),
    )
}

/// The body with its placeholders filled for `ticket` (which the caller may see).
pub async fn render(
    db: &Db,
    actor: &Actor,
    id: SavedReplyId,
    ticket: TicketId,
) -> Result<String, Error> {
    let me = me(actor)?;
    let actor = actor.clone();
    db.read(move |c| {
        let reply = visible(c, me, id)?;
        // A ticket the agent may not see is as good as none.
        crate::tickets::service::visible_state(c, &actor, ticket)
            .map_err(|_| Error::validation("ticket_id", "no such ticket"))?;
        let t = crate::tickets::repo::get(c, ticket, true)?.ok_or(Error::NotFound("ticket"))?;
        let agent = crate::users::repo::get(c, me)?.ok_or(Error::NotFound("user"))?;
        Ok(fill(
            &reply.body,
            &[
                ("customer.name", t.requester.name.clone()),
                ("customer.first_name", first_name(&t.requester.name)),
                ("customer.email", t.requester.email.clone()),
                ("ticket.id", ticket.0.to_string()),
                ("ticket.subject", t.subject.clone()),
                ("agent.name", agent.user.name.clone()),
                ("agent.first_name", first_name(&agent.user.name)),
            ],
        ))
    })
    .await
}

fn first_name(name: &str) -> String {
    name.split_whitespace().next().unwrap_or(name).to_string()
}

/// Replaces `{{ key }}` (spaces inside the braces optional) for each known
/// key; anything else stays as written. No template language: a saved reply
/// cannot run anything.
pub fn fill(body: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let key = after[..end].trim();
        match values.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn placeholders_fill_and_the_rest_stays() {
        let values = [
            ("customer.first_name", "Ana".to_string()),
            ("ticket.id", "7".to_string()),
        ];
        assert_eq!(
            fill(
                "Hi {{customer.first_name}}, about #{{ ticket.id }}: {{unknown}} {{",
                &values
            ),
            "Hi Ana, about #7: {{unknown}} {{"
        );
        assert_eq!(
            fill("{{customer.first_name}}{{customer.first_name}}", &values),
            "AnaAna"
        );
        assert_eq!(fill("no placeholders", &values), "no placeholders");
    }
}

//! One change to many tickets: each ticket is changed (and audited, and
//! evented) in its own transaction, so one refusal stops none of the others.

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Priority, TicketStatus};
use super::repo;
use super::service::{apply_in, Changes};
use crate::actor::Actor;
use crate::db::Db;
use crate::error::Error;
use crate::ids::{TicketId, UserId};

/// Most tickets one bulk change takes.
pub const MAX_TICKETS: usize = 500;

/// What to change on every ticket; at least one field.
#[derive(Debug, Default, Clone)]
pub struct BulkChanges {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<UserId>>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

/// A ticket the change was refused for, and why (as its problem would say).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkFailure {
    pub id: TicketId,
    pub status: u16,
    pub title: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub updated: Vec<TicketId>,
    pub failed: Vec<BulkFailure>,
}

/// Applies `changes` to each of `ids` in turn.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    ids: Vec<TicketId>,
    changes: BulkChanges,
) -> Result<BulkOutcome, Error> {
    if ids.is_empty() || ids.len() > MAX_TICKETS {
        return Err(Error::validation(
            "ids",
            format!("name 1 to {MAX_TICKETS} tickets"),
        ));
    }
    let nothing = changes.status.is_none()
        && changes.priority.is_none()
        && changes.assignee_id.is_none()
        && changes.add_tags.is_empty()
        && changes.remove_tags.is_empty();
    if nothing {
        return Err(Error::validation("changes", "name at least one change"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut outcome = BulkOutcome::default();
    for id in ids.into_iter().filter(|id| seen.insert(*id)) {
        let (actor, changes) = (actor.clone(), changes.clone());
        let result = db
            .write(move |tx| {
                let tags = if changes.add_tags.is_empty() && changes.remove_tags.is_empty() {
                    None
                } else {
                    let current = repo::get(tx, id, true)?.ok_or(Error::NotFound("ticket"))?;
                    let removed =
                        super::rules::normalize_tags(&changes.remove_tags).map_err(|mut e| {
                            e.field = "remove_tags".into();
                            Error::Validation(vec![e])
                        })?;
                    let mut tags: Vec<String> = current
                        .tags
                        .into_iter()
                        .filter(|t| !removed.contains(t))
                        .collect();
                    tags.extend(changes.add_tags.iter().cloned());
                    Some(tags)
                };
                apply_in(
                    tx,
                    &actor,
                    id,
                    &Changes {
                        status: changes.status,
                        priority: changes.priority,
                        assignee_id: changes.assignee_id,
                        tags,
                        ..Changes::default()
                    },
                )
            })
            .await;
        match result {
            Ok(()) => outcome.updated.push(id),
            Err(e) => {
                let status = e.status();
                outcome.failed.push(BulkFailure {
                    id,
                    status: status.code,
                    title: status.reason_lossy().to_string(),
                    detail: match &e {
                        Error::Validation(errors) => errors
                            .iter()
                            .map(|f| format!("{}: {}", f.field, f.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                        other => other.public_detail(),
                    },
                });
            }
        }
    }
    Ok(outcome)
}

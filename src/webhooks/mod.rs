//! Webhooks: admins point events at a URL (their own service, or Slack,
//! Teams, Discord); each event becomes a delivery row in the transaction of
//! the change (`repo::enqueue_event`, called by `events`), which the
//! dispatcher (`send`) sends with retries through the shared worker of
//! `queue`.

pub mod format;
pub mod model;
pub mod repo;
pub mod send;

use std::time::Duration;

use rand::RngCore as _;
use rusqlite::Connection;
use serde_json::json;

use crate::actor::Actor;
use crate::audit::{self, ActorRef, Target};
use crate::config::WebhooksConfig;
use crate::db::{now, Db};
use crate::error::{Error, FieldError};
use crate::paging::{Page, Pagination};

pub use crate::events::kind::WEBHOOK_EVENTS as EVENTS;
pub use model::{CreatedWebhook, Delivery, DeliveryStatus, Format, Webhook, PING};
pub use send::Dispatcher;

const URL_MAX_CHARS: usize = 2000;
const DESCRIPTION_MAX_CHARS: usize = 200;
/// How long a target's name may take to resolve when it is checked.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a create or a change asks for; `None` leaves a field alone (on
/// create, the default).
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub format: Option<Format>,
    pub include_internal: Option<bool>,
    pub active: Option<bool>,
    pub description: Option<Option<String>>,
}

/// Checks the fields that are given; the URL's target against private
/// networks unless the configuration allows them (names are resolved: a
/// name that does not resolve now is checked again at each delivery).
async fn check(changes: &Changes, config: &WebhooksConfig) -> Result<(), Error> {
    let mut errors = Vec::new();
    if let Some(url) = &changes.url {
        if let Err(message) = check_url(url, config.allow_private).await {
            errors.push(FieldError::new("url", message));
        }
    }
    if let Some(events) = &changes.events {
        if events.is_empty() {
            errors.push(FieldError::new("events", "must name at least one event"));
        }
        for event in events {
            if event != "*" && !EVENTS.contains(&event.as_str()) {
                errors.push(FieldError::new(
                    "events",
                    format!("`{event}` is not an event; use * or {}", EVENTS.join(", ")),
                ));
            }
        }
    }
    if let Some(Some(text)) = &changes.description {
        if text.chars().count() > DESCRIPTION_MAX_CHARS || text.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "description",
                format!(
                    "must be at most {DESCRIPTION_MAX_CHARS} characters, no control characters"
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

async fn check_url(raw: &str, allow_private: bool) -> Result<(), String> {
    if raw.chars().count() > URL_MAX_CHARS {
        return Err(format!("must be at most {URL_MAX_CHARS} characters"));
    }
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if allow_private {
        return Ok(());
    }
    crate::net::check_url(&url)?;
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    match tokio::time::timeout(RESOLVE_TIMEOUT, crate::net::resolve_public(&host, port)).await {
        Ok(Err(message)) if message.contains("allow_private") => Err(message),
        // Not resolvable now: each delivery resolves and checks it again.
        _ => Ok(()),
    }
}

pub async fn list(db: &Db) -> Result<Vec<Webhook>, Error> {
    db.read(repo::list).await
}

pub async fn get(db: &Db, id: i64) -> Result<Webhook, Error> {
    db.read(move |c| repo::get(c, id)?.ok_or(Error::NotFound("webhook")))
        .await
}

/// Creates a webhook with a new signing secret (in the answer, once).
pub async fn create(
    db: &Db,
    config: &WebhooksConfig,
    actor: &Actor,
    new: Changes,
) -> Result<CreatedWebhook, Error> {
    let mut missing = Vec::new();
    if new.url.is_none() {
        missing.push(FieldError::new("url", "is required"));
    }
    if new.events.is_none() {
        missing.push(FieldError::new("events", "is required"));
    }
    if !missing.is_empty() {
        return Err(Error::Validation(missing));
    }
    check(&new, config).await?;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!("whsec_{}", hex::encode(bytes));
    let by = ActorRef::from(actor);
    let at = now();
    let webhook = Webhook {
        id: 0,
        url: new.url.unwrap_or_default().trim().to_string(),
        events: new.events.unwrap_or_default(),
        format: new.format.unwrap_or(Format::Json),
        include_internal: new.include_internal.unwrap_or(false),
        active: new.active.unwrap_or(true),
        description: new.description.flatten(),
        created_at: at.clone(),
        updated_at: at,
    };
    db.write(move |tx| {
        let id = repo::insert(tx, &webhook, &secret)?;
        audit_change(tx, &by, "webhook.created", id)?;
        let webhook = repo::get(tx, id)?.ok_or(Error::NotFound("webhook"))?;
        Ok(CreatedWebhook { webhook, secret })
    })
    .await
}

pub async fn update(
    db: &Db,
    config: &WebhooksConfig,
    actor: &Actor,
    id: i64,
    changes: Changes,
) -> Result<Webhook, Error> {
    check(&changes, config).await?;
    let by = ActorRef::from(actor);
    db.write(move |tx| {
        let mut w = repo::get(tx, id)?.ok_or(Error::NotFound("webhook"))?;
        if let Some(url) = changes.url {
            w.url = url.trim().to_string();
        }
        if let Some(events) = changes.events {
            w.events = events;
        }
        if let Some(format) = changes.format {
            w.format = format;
        }
        if let Some(on) = changes.include_internal {
            w.include_internal = on;
        }
        if let Some(on) = changes.active {
            w.active = on;
        }
        if let Some(description) = changes.description {
            w.description = description;
        }
        w.updated_at = now();
        repo::update(tx, &w)?;
        audit_change(tx, &by, "webhook.updated", id)?;
        Ok(w)
    })
    .await
}

/// Deletes a webhook and its delivery log (waiting deliveries are not sent).
pub async fn delete(db: &Db, actor: &Actor, id: i64) -> Result<(), Error> {
    let by = ActorRef::from(actor);
    db.write(move |tx| {
        if !repo::delete(tx, id)? {
            return Err(Error::NotFound("webhook"));
        }
        audit_change(tx, &by, "webhook.deleted", id)
    })
    .await
}

/// A webhook's deliveries, newest first.
pub async fn deliveries(
    db: &Db,
    id: i64,
    status: Option<DeliveryStatus>,
    pagination: Pagination,
) -> Result<Page<Delivery>, Error> {
    db.read(move |c| {
        repo::get(c, id)?.ok_or(Error::NotFound("webhook"))?;
        let (items, total) = repo::deliveries(c, id, status, pagination)?;
        Ok(Page::new(items, pagination, total))
    })
    .await
}

/// Sends a delivery again: due now, with a fresh attempt budget, under the
/// same delivery id (409 while it still waits for an attempt).
pub async fn redeliver(db: &Db, actor: &Actor, id: i64, delivery: i64) -> Result<Delivery, Error> {
    let by = ActorRef::from(actor);
    db.write(move |tx| {
        let found = repo::delivery(tx, id, delivery)?.ok_or(Error::NotFound("delivery"))?;
        if found.status == DeliveryStatus::Pending || repo::in_flight(tx, delivery)? {
            return Err(Error::Conflict(
                "the delivery is waiting or being sent; it goes out at its next attempt".into(),
            ));
        }
        let hook = repo::target(tx, id)?.ok_or(Error::NotFound("webhook"))?;
        if !hook.active {
            return Err(Error::Conflict(
                "the webhook is off; turn it on before sending again".into(),
            ));
        }
        if !hook.include_internal && repo::is_internal(tx, delivery)? {
            return Err(Error::Conflict(
                "the delivery is an internal note and the webhook no longer takes those".into(),
            ));
        }
        repo::requeue(tx, delivery)?;
        audit::record(
            tx,
            &by,
            "webhook.redelivered",
            Some(Target {
                kind: "webhook",
                id,
            }),
            found.ticket_id.map(|t| t.0),
            &json!({ "delivery_id": delivery, "event": found.event }),
        )?;
        repo::delivery(tx, id, delivery)?.ok_or(Error::NotFound("delivery"))
    })
    .await
}

/// Queues a `ping` delivery to the webhook, whatever events it takes.
pub async fn ping(db: &Db, actor: &Actor, id: i64) -> Result<Delivery, Error> {
    let by = ActorRef::from(actor);
    db.write(move |tx| {
        repo::get(tx, id)?.ok_or(Error::NotFound("webhook"))?;
        let data = json!({ "webhook_id": id, "message": "Helpline says hello" });
        let delivery = repo::enqueue_one(tx, id, PING, &data.to_string())?;
        audit::record(
            tx,
            &by,
            "webhook.pinged",
            Some(Target {
                kind: "webhook",
                id,
            }),
            None,
            &json!({ "delivery_id": delivery }),
        )?;
        repo::delivery(tx, id, delivery)?.ok_or(Error::NotFound("delivery"))
    })
    .await
}

/// Audited without the URL (a chat app's URL is its secret) or the secret.
fn audit_change(conn: &Connection, by: &ActorRef, action: &str, id: i64) -> Result<(), Error> {
    audit::record(
        conn,
        by,
        action,
        Some(Target {
            kind: "webhook",
            id,
        }),
        None,
        &json!({}),
    )
}

//! Suggested replies: similar resolved tickets with the team's answers
//! (full-text search, no model needed) and, when a model is configured, a
//! drafted reply streamed to the agent. Drafts go into the agent's reply
//! box; only the agent sends anything.

pub mod ai;
pub mod prompt;
pub mod similar;

use serde_json::json;
use tokio::sync::mpsc;

use crate::actor::Actor;
use crate::audit::{self, ActorRef, Target};
use crate::auth::rate_limit::Limiter;
use crate::config::Config;
use crate::db::Db;
use crate::error::Error;
use crate::ids::TicketId;

pub use ai::{Failure, Piece};
pub use similar::SimilarTicket;

/// Similar tickets shown beside a ticket.
pub const SIMILAR_SHOWN: usize = 5;

/// Resolved tickets like `ticket`, most alike first (404 for no ticket).
pub async fn similar(db: &Db, ticket: TicketId) -> Result<Vec<SimilarTicket>, Error> {
    db.read(move |c| similar::find(c, ticket, SIMILAR_SHOWN)?.ok_or(Error::NotFound("ticket")))
        .await
}

/// The configured model, if any, and how often each agent may use it.
pub struct Suggester {
    model: Option<ai::Model>,
    limiter: Limiter,
}

impl Suggester {
    pub fn new(config: &Config) -> Result<Self, Error> {
        Ok(Self {
            model: ai::Model::new(&config.ai)?,
            limiter: Limiter::per_hour(config.ai.per_agent_per_hour),
        })
    }

    /// Starts drafting a reply on `ticket` for `actor`: checks that a model
    /// is configured and the agent's hourly allowance, builds the prompt and
    /// records the use in the audit log (which model, never the text).
    pub async fn draft(
        &self,
        db: &Db,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<mpsc::Receiver<Piece>, Error> {
        let model = self.model.as_ref().ok_or_else(|| Error::NotConfigured {
            slug: "ai-not-configured",
            detail: "no model is configured for suggested replies; set `ai.base_url` and \
                     `ai.model` (any OpenAI-compatible server, e.g. a local Ollama)"
                .into(),
        })?;
        let key = match (actor.user_id(), actor.api_key_id()) {
            (Some(user), _) => format!("user:{}", user.0),
            (None, Some(key)) => format!("key:{}", key.0),
            (None, None) => "anonymous".into(),
        };
        self.limiter.check(&key)?;
        let agent = actor
            .user()
            .map_or_else(|| "the support team".to_string(), |u| u.name.clone());
        let include_internal = model.include_internal();
        let model_name = model.name().to_string();
        let by = ActorRef::from(actor);
        // The prompt is read (search included) off the writer; the audit
        // entry is a short write of its own.
        let turns = db
            .read(move |c| {
                let helpdesk = crate::settings::load(c)?.helpdesk_name;
                let asking = prompt::Asking {
                    helpdesk: &helpdesk,
                    agent: &agent,
                    include_internal,
                };
                prompt::build(c, ticket, &asking)?.ok_or(Error::NotFound("ticket"))
            })
            .await?;
        db.write(move |tx| {
            audit::record(
                tx,
                &by,
                "ai.reply_suggested",
                Some(Target {
                    kind: "ticket",
                    id: ticket.0,
                }),
                Some(ticket.0),
                &json!({ "model": model_name, "internal_notes_sent": include_internal }),
            )
        })
        .await?;
        Ok(model.draft(turns))
    }
}

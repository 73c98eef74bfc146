//! What a webhook and a delivery are, as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::TicketId;

/// The event of a test delivery ("send a ping").
pub const PING: &str = "ping";

/// How a delivery's body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{id, event, created_at, data}`, signed.
    Json,
    /// A Slack incoming-webhook message.
    Slack,
    /// A Microsoft Teams (Workflows) message with an Adaptive Card.
    Teams,
    /// A Discord webhook message.
    Discord,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Slack => "slack",
            Self::Teams => "teams",
            Self::Discord => "discord",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Json, Self::Slack, Self::Teams, Self::Discord]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// A webhook (its signing secret is shown only when it is created).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// Event names (`ticket.created`, `message.created`, ...), or `*` for all.
    pub events: Vec<String>,
    pub format: Format,
    /// Whether internal notes (`message.created` of a note) are sent.
    pub include_internal: bool,
    pub active: bool,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A new webhook with its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of `Helpline-Signature`; it is not shown again.
    pub secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt.
    Pending,
    /// A 2xx answer came.
    Sent,
    /// An attempt failed; another is scheduled (`next_attempt_at`).
    Failed,
    /// Given up after the last attempt.
    Dead,
}

impl DeliveryStatus {
    pub const ALL: &'static [Self] = &[Self::Pending, Self::Sent, Self::Failed, Self::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Pending or failed: another attempt will come.
    pub fn waiting(self) -> bool {
        matches!(self, Self::Pending | Self::Failed)
    }
}

/// One event sent (or to be sent) to one webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// Also the `Helpline-Delivery` header and the body's `id`, the same on every attempt.
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub ticket_id: Option<TicketId>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The HTTP status of the last answer, if one came.
    pub response_status: Option<u16>,
    /// What went wrong last, in words.
    pub last_error: Option<String>,
    pub created_at: String,
    /// When the next attempt is due (pending and failed only).
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
}

//! Ticket and message types: statuses, priorities, channels and what the API shows.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actor::Role;
use crate::ids::{AttachmentId, MessageId, TicketId, UserId};

/// Stored as integers in lifecycle order, so sorting by status is meaningful.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    /// Waiting on the customer.
    Pending,
    Resolved,
    Closed,
}

/// Stored as integers, low to urgent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Web,
    Email,
    Chat,
    Phone,
    Api,
    Portal,
}

/// An enum whose values have names in the API and codes in the database.
macro_rules! coded_enum {
    ($ty:ident, $( $variant:ident = $name:literal / $code:expr ),+ $(,)?) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value { $($name => Some($ty::$variant),)+ _ => None }
            }

            fn code(self) -> i64 {
                match self { $($ty::$variant => $code),+ }
            }

            fn from_code(code: i64) -> Option<Self> {
                $(if code == $code { return Some($ty::$variant); })+
                None
            }

            /// `a, b or c`, for error messages.
            pub fn names() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                names.join(", ")
            }
        }

        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.code()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let code = value.as_i64()?;
                Self::from_code(code).ok_or(FromSqlError::OutOfRange(code))
            }
        }
    };
}

coded_enum!(
    TicketStatus,
    Open = "open" / 1,
    InProgress = "in_progress" / 2,
    Pending = "pending" / 3,
    Resolved = "resolved" / 4,
    Closed = "closed" / 5,
);

coded_enum!(
    Priority,
    Low = "low" / 1,
    Medium = "medium" / 2,
    High = "high" / 3,
    Urgent = "urgent" / 4,
);

impl Channel {
    pub const ALL: &'static [Channel] = &[
        Self::Web,
        Self::Email,
        Self::Chat,
        Self::Phone,
        Self::Api,
        Self::Portal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Email => "email",
            Self::Chat => "chat",
            Self::Phone => "phone",
            Self::Api => "api",
            Self::Portal => "portal",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == value)
    }

    pub fn names() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
        names.join(", ")
    }
}

impl ToSql for Channel {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Channel {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown channel {text}").into()))
    }
}

/// The requester as shown on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Requester {
    pub id: UserId,
    pub name: String,
    pub email: String,
}

/// The assignee as shown on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Assignee {
    pub id: UserId,
    pub name: String,
}

/// The author of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Author {
    pub id: UserId,
    pub name: String,
    pub role: Role,
}

/// A ticket as the API shows it. `message_count` counts only what the viewer may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Ticket {
    pub id: TicketId,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub channel: Channel,
    pub tags: Vec<String>,
    pub requester: Requester,
    pub assignee: Option<Assignee>,
    pub created_at: String,
    pub updated_at: String,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub message_count: i64,
    /// The ticket this one was merged into (it is closed then), or `null`.
    pub merged_into: Option<TicketId>,
    /// For agents: a public message from the requester arrived after the
    /// caller last saw the ticket (absent for customers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<bool>,
    /// For agents: whether the caller follows the ticket (absent for customers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<bool>,
    /// The requester's latest public message (what `unread` compares with).
    #[serde(skip)]
    pub requester_message_id: i64,
    /// Service-level due times, for agents when a policy is on (`null` otherwise).
    pub sla: Option<TicketSla>,
    /// How the requester rated the help (`null` before a rating; absent for
    /// customers).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Rating>)]
    pub rating: Option<Option<Rating>>,
}

/// How a requester rated the help on their ticket (CSAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Score {
    Good,
    Okay,
    Bad,
}

impl Score {
    pub const ALL: [Self; 3] = [Self::Good, Self::Okay, Self::Bad];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Okay => "okay",
            Self::Bad => "bad",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A rating as agents see it on the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rating {
    pub score: Score,
    pub comment: Option<String>,
    pub created_at: String,
}

/// A ticket's service-level targets and whether they were missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TicketSla {
    pub first_response_due_at: String,
    pub resolution_due_at: String,
    /// The first public team reply came (or, without one, the ticket was
    /// resolved, or it is now) after its due time.
    pub first_response_breached: bool,
    /// The resolution clock passed its due time (by now, or before it
    /// stopped).
    pub resolution_breached: bool,
    /// The resolution clock stands while the ticket is pending.
    pub paused: bool,
}

impl TicketSla {
    /// From the stored clock; `None` without one. Times are stored in one
    /// format, so they compare as text.
    pub fn of(
        status: TicketStatus,
        first_response_at: Option<&str>,
        resolved_at: Option<&str>,
        first_response_due_at: Option<String>,
        resolution_due_at: Option<String>,
        paused_at: Option<String>,
    ) -> Option<Self> {
        let (first_due, resolution_due) = (first_response_due_at?, resolution_due_at?);
        let now = crate::db::now();
        let finished = matches!(status, TicketStatus::Resolved | TicketStatus::Closed);
        let answered_by = first_response_at
            .or(if finished { resolved_at } else { None })
            .unwrap_or(&now);
        let stood_at = paused_at.as_deref().unwrap_or(&now);
        Some(Self {
            first_response_breached: answered_by > first_due.as_str(),
            resolution_breached: stood_at > resolution_due.as_str(),
            paused: status == TicketStatus::Pending,
            first_response_due_at: first_due,
            resolution_due_at: resolution_due,
        })
    }
}

/// A ticket with its conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketWithMessages {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub ticket_id: TicketId,
    /// `null` for messages from the system.
    pub author: Option<Author>,
    /// As written: plain text, Markdown allowed.
    pub body: String,
    /// The body rendered from Markdown and sanitised: formatting and safe
    /// links only (raw HTML is shown as text, images become links).
    pub body_html: String,
    /// Internal notes are seen by agents and admins only.
    pub internal: bool,
    pub channel: Channel,
    pub created_at: String,
    /// The message's files.
    pub attachments: Vec<AttachmentRef>,
}

/// A file on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttachmentRef {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Where to download it (for the portal, under the link's path).
    pub url: String,
}

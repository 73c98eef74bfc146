//! Typed ids: bind as SQL values, serialize as integers (`api::params`
//! parses them from paths).

use std::fmt;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map(Self)
            }
        }
    };
}

id_type!(
    /// Id of a user.
    UserId
);
id_type!(
    /// Id of an API key.
    ApiKeyId
);
id_type!(
    /// Id of a ticket.
    TicketId
);
id_type!(
    /// Id of a message.
    MessageId
);
id_type!(
    /// Id of a portal link.
    PortalTokenId
);
id_type!(
    /// Id of an attachment (an upload, or a file on a message).
    AttachmentId
);
id_type!(
    /// Id of a saved reply.
    SavedReplyId
);

//! Path parameters: typed ids from the path segments of a route.

use rocket::request::FromParam;

use crate::ids::{
    ApiKeyId, AttachmentId, MessageId, PortalTokenId, SavedReplyId, TicketId, UserId,
};

macro_rules! id_param {
    ($($name:ident),+) => {$(
        impl<'a> FromParam<'a> for $name {
            type Error = &'a str;

            /// Positive integers only; anything else does not match the route.
            fn from_param(param: &'a str) -> Result<Self, Self::Error> {
                match param.parse::<i64>() {
                    Ok(id) if id > 0 => Ok(Self(id)),
                    _ => Err(param),
                }
            }
        }
    )+};
}

id_param!(
    UserId,
    ApiKeyId,
    TicketId,
    MessageId,
    PortalTokenId,
    AttachmentId,
    SavedReplyId
);

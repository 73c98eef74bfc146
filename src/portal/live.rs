//! A portal page's live updates: which tickets it follows, and whether its
//! link still opens them.

use super::access::Portal;
use super::Scope;
use crate::error::Error;

/// The tickets a live page of the link `token` follows (admitted by the rate
/// limits like any other use of the link).
pub async fn live_scope(
    ctx: &Portal<'_>,
    token: String,
    ip: &str,
) -> Result<(Scope, Vec<crate::ids::TicketId>), Error> {
    ctx.admit(&token, ip)?;
    let scope = {
        let token = token.clone();
        ctx.db
            .read(move |conn| super::resolve(conn, &token)?.ok_or(Error::NotFound("portal link")))
            .await?
    };
    let tickets = {
        let scope = scope.clone();
        ctx.db
            .read(move |conn| super::tickets_in_scope(conn, &scope))
            .await?
    };
    Ok((scope, tickets))
}

/// Whether the link still opens anything (not revoked, expired, or its requester deactivated).
pub async fn still_valid(db: &crate::db::Db, token: String) -> bool {
    db.read(move |conn| super::resolve(conn, &token))
        .await
        .is_ok_and(|scope| scope.is_some())
}

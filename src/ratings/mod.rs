//! Satisfaction (CSAT): the mail that tells a requester their ticket is
//! resolved carries three one-click links (good / okay / bad). Each link
//! holds a signed token naming the ticket, valid for 30 days; the page it
//! opens records the score at once and offers a comment. A second rating
//! replaces the first. Agents see the rating on the ticket.

use rusqlite::{params, Connection, OptionalExtension};

use crate::auth::keys::JwtKeys;
use crate::auth::tokens;
use crate::db::now;
use crate::error::Error;
use crate::ids::TicketId;
pub use crate::tickets::model::{Rating, Score};

/// Audience of rating link tokens.
pub const AUDIENCE: &str = "helpline:rating";
/// How long a rating link works.
pub const LINK_TTL_SECS: u64 = 30 * 86_400;
/// The longest comment kept.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// The three links of a resolved ticket's mail, one per score.
pub fn links(
    keys: &JwtKeys,
    ticket: TicketId,
    public_url: &str,
) -> Result<serde_json::Value, Error> {
    let token = tokens::issue_purpose(keys, AUDIENCE, &ticket.0.to_string(), 0, LINK_TTL_SECS)?;
    let mut links = serde_json::Map::new();
    for score in Score::ALL {
        links.insert(
            score.as_str().into(),
            // The token rides in the fragment: never sent to a server, never logged.
            format!("{public_url}/rate?score={}#token={token}", score.as_str()).into(),
        );
    }
    Ok(links.into())
}

/// The ticket a rating token names, when the token is sound and unexpired.
pub fn ticket_of(keys: &JwtKeys, token: &str) -> Option<TicketId> {
    let claims = tokens::verify_purpose(keys, token, AUDIENCE).ok()?;
    claims
        .sub
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(TicketId)
}

/// Records (or replaces) the rating of `ticket`; `None` when the ticket is
/// gone.
pub fn record(
    conn: &Connection,
    ticket: TicketId,
    score: Score,
    comment: Option<&str>,
) -> Result<Option<Rating>, Error> {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(Error::validation(
            "comment",
            format!("at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    let now = now();
    let written = conn
        .prepare_cached(
            "INSERT INTO ratings (ticket_id, score, comment, agent_id, created_at, updated_at)
             SELECT id, ?2, ?3, assignee_id, ?4, ?4 FROM tickets WHERE id = ?1
             ON CONFLICT (ticket_id) DO UPDATE SET score = excluded.score,
                 comment = COALESCE(excluded.comment, ratings.comment),
                 agent_id = excluded.agent_id, created_at = excluded.created_at, updated_at = excluded.updated_at",
        )?
        .execute(params![ticket, score.as_str(), comment, now])?;
    if written == 0 {
        return Ok(None);
    }
    of_ticket(conn, ticket)
}

/// The rating of `ticket`, if it has one.
pub fn of_ticket(conn: &Connection, ticket: TicketId) -> Result<Option<Rating>, Error> {
    Ok(conn
        .prepare_cached("SELECT score, comment, created_at FROM ratings WHERE ticket_id = ?1")?
        .query_row([ticket], |r| {
            let score: String = r.get(0)?;
            Ok((score, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .and_then(|(score, comment, created_at)| {
            Some(Rating {
                score: Score::parse(&score)?,
                comment,
                created_at,
            })
        }))
}

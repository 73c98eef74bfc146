//! The prompt of a drafted reply: who writes for which help desk, the
//! answers the team gave on the most similar resolved tickets, and the
//! ticket's conversation (internal notes only when the configuration says
//! so), newest kept when it is long.

use std::fmt::Write as _;

use rusqlite::{Connection, OptionalExtension};

use super::ai::Turn;
use super::similar;
use crate::error::Error;
use crate::ids::TicketId;

/// Characters of conversation sent; older messages go first.
const CONVERSATION_MAX_CHARS: usize = 24_000;
/// Similar tickets whose answers go into the prompt.
const EXAMPLES: usize = 3;
const EXAMPLE_MAX_CHARS: usize = 2_000;

/// Who is asking, and what may be sent.
pub struct Asking<'a> {
    pub helpdesk: &'a str,
    pub agent: &'a str,
    pub include_internal: bool,
}

/// The prompt for `ticket`; `None` when it does not exist.
pub fn build(
    conn: &Connection,
    ticket: TicketId,
    asking: &Asking<'_>,
) -> Result<Option<Vec<Turn>>, Error> {
    let Some((subject, requester)) = conn
        .prepare_cached(
            "SELECT t.subject, u.name FROM tickets t JOIN users u ON u.id = t.requester_id
             WHERE t.id = ?1",
        )?
        .query_row([ticket], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let mut system = format!(
        "You draft replies for {agent}, a support agent of {helpdesk}. Write only the text of \
         the next reply to the customer, in the customer's language: friendly, brief and \
         concrete. Do not invent facts, prices or promises the conversation does not support; \
         when something is unknown, say what the team will check. Sign with the agent's first \
         name.",
        agent = asking.agent,
        helpdesk = asking.helpdesk,
    );
    let examples = similar::find(conn, ticket, EXAMPLES)?.unwrap_or_default();
    let answered: Vec<_> = examples.iter().filter(|s| s.answer.is_some()).collect();
    if !answered.is_empty() {
        system.push_str(
            "\n\nAnswers the team gave on similar resolved tickets (use them when they fit):",
        );
        for s in answered {
            let answer: String = s
                .answer
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(EXAMPLE_MAX_CHARS)
                .collect();
            let _ = write!(system, "\n\n---\nTicket: {}\nAnswer:\n{answer}", s.subject);
        }
    }
    let mut user = format!(
        "Ticket #{}: {subject}\nCustomer: {requester}\n\nConversation:\n",
        ticket.0
    );
    user.push_str(&conversation(conn, ticket, asking.include_internal)?);
    let _ = write!(
        user,
        "\n\nWrite the next reply from {} to the customer.",
        asking.agent
    );
    Ok(Some(vec![
        Turn {
            role: "system",
            content: system,
        },
        Turn {
            role: "user",
            content: user,
        },
    ]))
}

/// The messages as lines of a transcript, the newest that fit.
fn conversation(conn: &Connection, ticket: TicketId, internal: bool) -> Result<String, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.body, m.internal, m.created_at, u.name, u.role FROM messages m
         LEFT JOIN users u ON u.id = m.author_id
         WHERE m.ticket_id = ?1 AND (?2 OR m.internal = 0)
         ORDER BY m.id DESC LIMIT 200",
    )?;
    let mut parts = Vec::new();
    let mut used = 0;
    let mut rows = stmt.query(rusqlite::params![ticket, internal])?;
    while let Some(row) = rows.next()? {
        let (body, note, at): (String, bool, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let (name, role): (Option<String>, Option<String>) = (row.get(3)?, row.get(4)?);
        let who = match (role.as_deref(), note) {
            (_, true) => format!("Internal note by {}", name.unwrap_or_default()),
            (Some("customer"), _) => format!("Customer {}", name.unwrap_or_default()),
            (Some(_), _) => format!("Agent {}", name.unwrap_or_default()),
            (None, _) => "System".to_string(),
        };
        let part = format!(
            "[{who}, {}]\n{}\n",
            at.get(..16).unwrap_or(&at),
            body.trim()
        );
        if used + part.len() > CONVERSATION_MAX_CHARS && !parts.is_empty() {
            break;
        }
        used += part.len();
        parts.push(part);
    }
    parts.reverse();
    Ok(parts.join("\n"))
}

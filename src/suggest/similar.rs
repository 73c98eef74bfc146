//! Similar tickets without any model: the words of this ticket's subject and
//! of the customer's messages that are rare in the help desk are searched
//! for (one FTS5 query, ranked by bm25 inside FTS5) among resolved and
//! closed tickets, and each found ticket brings the team's last public
//! answer on it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;
use crate::ids::TicketId;
use crate::tickets::model::TicketStatus;

/// Words of the ticket considered, subject first.
const CANDIDATES: usize = 40;
/// Words searched for: the rarest of the candidates.
const QUERY_WORDS: usize = 12;
/// A word found in at least this many tickets says little and is not
/// searched for (ranking every ticket that holds it would take seconds at a
/// million tickets).
const COMMON: i64 = 5000;
/// Best matches ranked before the resolved ones are picked from them; when
/// open tickets crowd those out, once more with the wider number.
const RANKED: [u32; 2] = [300, 5000];
/// Text of the ticket read for its words.
const TEXT_MAX_CHARS: usize = 20_000;
const EXCERPT_CHARS: usize = 300;

const STOPWORDS: &[&str] = &[
    "about", "after", "again", "all", "also", "and", "any", "are", "been", "before", "but", "can",
    "cannot", "could", "did", "does", "doing", "don", "for", "from", "get", "got", "had", "has",
    "have", "hello", "help", "her", "here", "him", "his", "how", "into", "its", "just", "let",
    "like", "more", "most", "much", "need", "not", "now", "off", "once", "only", "other", "our",
    "out", "over", "please", "same", "she", "should", "some", "still", "such", "than", "thank",
    "thanks", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "too", "very", "was", "way", "were", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "would", "you", "your", "regards", "best", "dear", "team", "hi", "hey",
];

/// A resolved ticket like the one asked about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimilarTicket {
    pub ticket_id: TicketId,
    pub subject: String,
    /// Higher is more alike (bm25 of the shared words).
    pub score: f64,
    /// The start of the team's last public answer (`null` when none).
    pub answer_excerpt: Option<String>,
    /// That answer in full, to insert into a reply.
    pub answer: Option<String>,
}

/// The ticket's subject and the customer's public messages.
fn ticket_text(conn: &Connection, ticket: TicketId) -> Result<Option<String>, Error> {
    let subject: Option<String> = conn
        .prepare_cached("SELECT subject FROM tickets WHERE id = ?1")?
        .query_row([ticket], |r| r.get(0))
        .optional()?;
    let Some(mut text) = subject else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT m.body FROM messages m JOIN users u ON u.id = m.author_id
         WHERE m.ticket_id = ?1 AND m.internal = 0 AND u.role = 'customer'
         ORDER BY m.id LIMIT 20",
    )?;
    let mut rows = stmt.query([ticket])?;
    while let Some(row) = rows.next()? {
        if text.len() >= TEXT_MAX_CHARS {
            break;
        }
        text.push('\n');
        text.push_str(&row.get::<_, String>(0)?);
    }
    Ok(Some(text))
}

/// Distinct words worth searching for, in order of appearance.
fn candidates(text: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
    {
        let chars = word.chars().count();
        if (3..=40).contains(&chars)
            && !word.chars().all(|c| c.is_ascii_digit())
            && !STOPWORDS.contains(&word.as_str())
            && !seen.contains(&word)
        {
            seen.push(word);
            if seen.len() == CANDIDATES {
                break;
            }
        }
    }
    seen
}

/// An FTS5 query over the subject and public text for `words`.
fn query(words: &[&str]) -> String {
    let terms: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    format!("{{subject public}} : ({})", terms.join(" OR "))
}

/// In how many tickets `word` appears, counted up to `COMMON`.
fn frequency(conn: &Connection, word: &str) -> Result<i64, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM (SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?1 LIMIT ?2)",
        )?
        .query_row(params![query(&[word]), COMMON], |r| r.get(0))?)
}

/// Up to `limit` resolved or closed tickets like `ticket`, most alike first;
/// `None` when the ticket does not exist.
pub fn find(
    conn: &Connection,
    ticket: TicketId,
    limit: usize,
) -> Result<Option<Vec<SimilarTicket>>, Error> {
    let Some(text) = ticket_text(conn, ticket)? else {
        return Ok(None);
    };
    let mut scored = Vec::new();
    for word in candidates(&text) {
        let n = frequency(conn, &word)?;
        // Found only in this ticket it matches nothing else; in thousands it
        // says little.
        if n > 1 && n < COMMON {
            scored.push((n, word));
        }
    }
    scored.sort();
    let words: Vec<&str> = scored
        .iter()
        .take(QUERY_WORDS)
        .map(|(_, w)| w.as_str())
        .collect();
    if words.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut found = Vec::new();
    for ranked in RANKED {
        found = ranked_resolved(conn, ticket, &query(&words), ranked, limit)?;
        if found.len() >= limit {
            break;
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for (id, subject, rank) in found {
        let answer = last_answer(conn, id)?;
        out.push(SimilarTicket {
            ticket_id: id,
            subject,
            score: (-rank * 1000.0).round() / 1000.0,
            answer_excerpt: answer.as_deref().map(excerpt),
            answer,
        });
    }
    Ok(Some(out))
}

/// The resolved or closed tickets among the `ranked` best matches of
/// `fts_query`, best first, at most `limit`.
fn ranked_resolved(
    conn: &Connection,
    ticket: TicketId,
    fts_query: &str,
    ranked: u32,
    limit: usize,
) -> Result<Vec<(TicketId, String, f64)>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.subject, h.score FROM (
             SELECT rowid AS id, rank AS score FROM ticket_text
             WHERE ticket_text MATCH ?1 ORDER BY rank LIMIT ?2) h
         JOIN tickets t ON t.id = h.id
         WHERE t.status IN (?5, ?6) AND t.id <> ?3 AND t.merged_into IS NULL
         ORDER BY h.score LIMIT ?4",
    )?;
    let rows = stmt
        .query_map(
            params![
                fts_query,
                ranked,
                ticket,
                i64::try_from(limit).unwrap_or(10),
                TicketStatus::Resolved,
                TicketStatus::Closed
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The team's last public message on `ticket`.
pub fn last_answer(conn: &Connection, ticket: TicketId) -> Result<Option<String>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.body FROM messages m JOIN users u ON u.id = m.author_id
         WHERE m.ticket_id = ?1 AND m.internal = 0 AND u.role IN ('agent', 'admin')
         ORDER BY m.id DESC LIMIT 1",
    )?;
    let mut rows = stmt.query([ticket])?;
    Ok(match rows.next()? {
        Some(row) => Some(row.get(0)?),
        None => None,
    })
}

/// The first words of `text`, cut at a word boundary.
fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(EXCERPT_CHARS).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_skip_short_common_and_repeated_words() {
        let words =
            candidates("Hi team, the VAT number is missing on my invoice PDF. The invoice 2024!");
        assert_eq!(words, ["vat", "number", "missing", "invoice", "pdf"]);
    }

    #[test]
    fn the_query_quotes_each_word() {
        assert_eq!(
            query(&["vat", "pdf"]),
            "{subject public} : (\"vat\" OR \"pdf\")"
        );
    }

    #[test]
    fn excerpts_end_at_a_word() {
        let long = "word ".repeat(100);
        let e = excerpt(&long);
        assert!(
            e.ends_with("word…") && e.chars().count() <= EXCERPT_CHARS + 1,
            "{e}"
        );
        assert_eq!(excerpt("short  answer\n"), "short answer");
    }
}

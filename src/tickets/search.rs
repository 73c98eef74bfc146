//! Turns what people type into a safe FTS5 query: words become prefix terms,
//! "quoted text" a phrase, OR an alternative, -word an exclusion. Nothing the
//! user types reaches FTS5 syntax unescaped.

use crate::error::Error;
use crate::ids::TicketId;

pub const QUERY_MAX_CHARS: usize = 200;
const TERMS_MAX: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchQuery {
    /// `#1234`: that ticket.
    Ticket(TicketId),
    /// Words, phrases and operators, applied to whole tickets.
    Text(TextSearch),
}

/// How a term combines with everything before it (left to right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    And,
    Or,
    Not,
}

/// A search over tickets: a ticket matches a term when its subject or any
/// message it may see matches, so words may sit in different messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSearch {
    /// FTS5 expressions of single terms (`"word"*` or `"a phrase"`); the
    /// first one's `Combine` is always `And`.
    pub terms: Vec<(Combine, String)>,
}

impl TextSearch {
    /// The whole search as one FTS5 expression over a ticket's document,
    /// combined left to right; `public_only` keeps it to the subject and the
    /// public text (what a customer may see).
    pub fn fts_expression(&self, public_only: bool) -> String {
        let mut expr = String::new();
        for (how, term) in &self.terms {
            if expr.is_empty() {
                expr.clone_from(term);
                continue;
            }
            let op = match how {
                Combine::And => "AND",
                Combine::Or => "OR",
                Combine::Not => "NOT",
            };
            expr = format!("({expr}) {op} {term}");
        }
        if public_only {
            format!("{{subject public}} : ({expr})")
        } else {
            expr
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Term {
        text: String,
        exclude: bool,
        phrase: bool,
    },
    Or,
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn lex(input: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = input;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix('"') {
            // A phrase runs to the next quote, or to the end when unbalanced.
            let (inside, tail) = after.split_once('"').unwrap_or((after, ""));
            let joined: Vec<&str> = words(inside).collect();
            if !joined.is_empty() {
                pieces.push(Piece::Term {
                    text: joined.join(" "),
                    exclude: false,
                    phrase: true,
                });
            }
            rest = tail;
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        let token = &rest[..end];
        rest = &rest[end..];
        if token == "OR" {
            pieces.push(Piece::Or);
            continue;
        }
        let exclude = token.starts_with('-');
        for word in words(token) {
            pieces.push(Piece::Term {
                text: word.to_string(),
                exclude,
                phrase: false,
            });
        }
    }
    pieces
}

/// Parses a search box entry. Empty input is `None`; input with no words is 422.
pub fn parse(raw: &str) -> Result<Option<SearchQuery>, Error> {
    let q = raw.trim();
    if q.is_empty() {
        return Ok(None);
    }
    if q.chars().count() > QUERY_MAX_CHARS {
        return Err(Error::validation(
            "q",
            format!("must be at most {QUERY_MAX_CHARS} characters"),
        ));
    }
    if let Some(digits) = q.strip_prefix('#') {
        if let Ok(id) = digits.parse::<i64>() {
            if id > 0 {
                return Ok(Some(SearchQuery::Ticket(TicketId(id))));
            }
        }
    }
    let mut terms: Vec<(Combine, String)> = Vec::new();
    let mut pending_or = false;
    for piece in lex(q) {
        match piece {
            Piece::Or => pending_or = !terms.is_empty(),
            Piece::Term {
                text,
                exclude,
                phrase,
            } => {
                // One-letter prefixes would match half the index; they match whole words only.
                let term = if phrase || text.chars().count() < 2 {
                    format!("\"{text}\"")
                } else {
                    format!("\"{text}\"*")
                };
                let how = if terms.is_empty() {
                    if exclude {
                        return Err(Error::validation(
                            "q",
                            "a search cannot start with an excluded word",
                        ));
                    }
                    Combine::And
                } else if exclude {
                    Combine::Not
                } else if pending_or {
                    Combine::Or
                } else {
                    Combine::And
                };
                terms.push((how, term));
                pending_or = false;
            }
        }
    }
    if terms.is_empty() {
        return Err(Error::validation(
            "q",
            "the search has no words to look for",
        ));
    }
    if terms.len() > TERMS_MAX {
        return Err(Error::validation(
            "q",
            format!("use at most {TERMS_MAX} words"),
        ));
    }
    Ok(Some(SearchQuery::Text(TextSearch { terms })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> Vec<(Combine, String)> {
        match parse(q).unwrap().unwrap() {
            SearchQuery::Text(t) => t.terms,
            SearchQuery::Ticket(id) => panic!("ticket {id}"),
        }
    }

    fn t(how: Combine, term: &str) -> (Combine, String) {
        (how, term.to_string())
    }

    #[test]
    fn words_phrases_or_and_not() {
        use Combine::{And, Not, Or};
        assert_eq!(
            terms("printer fire"),
            [t(And, "\"printer\"*"), t(And, "\"fire\"*")]
        );
        assert_eq!(
            terms("\"paper jam\" tray"),
            [t(And, "\"paper jam\""), t(And, "\"tray\"*")]
        );
        assert_eq!(
            terms("refund OR chargeback"),
            [t(And, "\"refund\"*"), t(Or, "\"chargeback\"*")]
        );
        assert_eq!(
            terms("invoice -draft"),
            [t(And, "\"invoice\"*"), t(Not, "\"draft\"*")]
        );
        assert_eq!(
            terms("e-mail x"),
            [t(And, "\"e\""), t(And, "\"mail\"*"), t(And, "\"x\"")]
        );
        let search = TextSearch {
            terms: terms("a1 OR b2 -c3"),
        };
        assert_eq!(
            search.fts_expression(false),
            "((\"a1\"*) OR \"b2\"*) NOT \"c3\"*"
        );
        assert_eq!(
            search.fts_expression(true),
            "{subject public} : (((\"a1\"*) OR \"b2\"*) NOT \"c3\"*)"
        );
    }

    #[test]
    fn hostile_input_becomes_quoted_terms_or_422() {
        for q in [
            "\"",
            "\"\"\"",
            "NEAR(",
            "*",
            "a\" OR \"b",
            "foo*bar",
            "col:value",
            "^start",
            "(((",
            "x AND",
            "OR",
        ] {
            match parse(q) {
                Ok(Some(SearchQuery::Text(search))) => {
                    for (_, term) in search.terms {
                        let inner = term.trim_end_matches('*');
                        assert!(
                            inner.starts_with('"') && inner.ends_with('"'),
                            "{q} -> {term}"
                        );
                        assert!(!inner[1..inner.len() - 1].contains('"'), "{q} -> {term}");
                    }
                }
                Ok(other) => panic!("{q}: {other:?}"),
                Err(Error::Validation(_)) => {}
                Err(e) => panic!("{q}: {e}"),
            }
        }
        assert_eq!(terms("NEAR(a b)").len(), 3);
        assert_eq!(terms("unbalanced \"quote here")[1].1, "\"quote here\"");
    }

    #[test]
    fn ticket_numbers_and_limits() {
        assert_eq!(
            parse("#1234").unwrap(),
            Some(SearchQuery::Ticket(TicketId(1234)))
        );
        assert_eq!(parse("  ").unwrap(), None);
        assert!(parse(&"ab ".repeat(60)).is_err());
        assert!(parse(&"ab ".repeat(21)).is_err());
        assert!(parse("-alone").is_err());
    }
}

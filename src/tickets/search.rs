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
    /// An FTS5 MATCH expression.
    Text(String),
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
    let pieces = lex(q);
    let mut out = String::new();
    let mut terms = 0;
    let mut pending_or = false;
    for piece in pieces {
        match piece {
            Piece::Or => pending_or = terms > 0,
            Piece::Term {
                text,
                exclude,
                phrase,
            } => {
                terms += 1;
                let quoted = if phrase {
                    format!("\"{text}\"")
                } else {
                    format!("\"{text}\"*")
                };
                if out.is_empty() {
                    if exclude {
                        return Err(Error::validation(
                            "q",
                            "a search cannot start with an excluded word",
                        ));
                    }
                    out = quoted;
                } else if exclude {
                    out = format!("({out}) NOT {quoted}");
                } else if pending_or {
                    out = format!("{out} OR {quoted}");
                } else {
                    out = format!("{out} AND {quoted}");
                }
                pending_or = false;
            }
        }
    }
    if terms == 0 {
        return Err(Error::validation(
            "q",
            "the search has no words to look for",
        ));
    }
    if terms > TERMS_MAX {
        return Err(Error::validation(
            "q",
            format!("use at most {TERMS_MAX} words"),
        ));
    }
    Ok(Some(SearchQuery::Text(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(q: &str) -> String {
        match parse(q).unwrap().unwrap() {
            SearchQuery::Text(t) => t,
            SearchQuery::Ticket(id) => panic!("ticket {id}"),
        }
    }

    #[test]
    fn words_phrases_or_and_not() {
        assert_eq!(text("printer fire"), "\"printer\"* AND \"fire\"*");
        assert_eq!(text("\"paper jam\" tray"), "\"paper jam\" AND \"tray\"*");
        assert_eq!(
            text("refund OR chargeback"),
            "\"refund\"* OR \"chargeback\"*"
        );
        assert_eq!(text("invoice -draft"), "(\"invoice\"*) NOT \"draft\"*");
        assert_eq!(text("e-mail"), "\"e\"* AND \"mail\"*");
    }

    #[test]
    fn hostile_input_is_neutralised() {
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
                Ok(Some(SearchQuery::Text(t))) => {
                    // Only quoted terms and our own operators remain.
                    let outside_quotes: String = t.split('"').step_by(2).collect();
                    let operators = outside_quotes
                        .replace(['*', '(', ')', ' '], "")
                        .replace("AND", "")
                        .replace("OR", "")
                        .replace("NOT", "");
                    assert!(operators.is_empty(), "{q} -> {t}");
                }
                Ok(other) => panic!("{q}: {other:?}"),
                Err(Error::Validation(_)) => {}
                Err(e) => panic!("{q}: {e}"),
            }
        }
        assert_eq!(text("NEAR(a b)"), "\"NEAR\"* AND \"a\"* AND \"b\"*");
        assert_eq!(
            text("unbalanced \"quote here"),
            "\"unbalanced\"* AND \"quote here\""
        );
    }

    #[test]
    fn ticket_numbers() {
        assert_eq!(
            parse("#1234").unwrap(),
            Some(SearchQuery::Ticket(TicketId(1234)))
        );
        assert_eq!(parse("  ").unwrap(), None);
        assert!(matches!(parse("#0").unwrap(), Some(SearchQuery::Text(_))) || parse("#0").is_err());
        assert!(parse(&"a ".repeat(150)).is_err());
        assert!(parse("-alone").is_err());
    }
}

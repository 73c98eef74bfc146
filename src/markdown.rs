//! Message bodies are Markdown as people type it; this renders them to HTML
//! that is safe to put in a page or a mail. Stored bodies stay as written.
//!
//! Line breaks are kept (people type them meaning them), plain `http(s)://`
//! and `www.` addresses become links, raw HTML is shown as the text it is,
//! images become links (no remote image loads itself into an agent's
//! browser or a customer's mail), and the result passes through ammonia, so
//! only plain formatting, `http`, `https` and `mailto` links with
//! `rel="noopener noreferrer nofollow"` survive.

use std::sync::OnceLock;

use ammonia::Builder;
use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// The sanitiser, built once.
fn cleaner() -> &'static Builder<'static> {
    static CLEANER: OnceLock<Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut b = Builder::default();
        b.url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("noopener noreferrer nofollow"))
            .rm_tags(["img"])
            .url_relative(ammonia::UrlRelative::Deny);
        b
    })
}

/// The body as sanitised HTML.
pub fn to_html(text: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events = Vec::new();
    let mut in_link = 0usize;
    let mut in_code = false;
    for event in merged_text(Parser::new_ext(text, options)) {
        match event {
            Event::SoftBreak => events.push(Event::HardBreak),
            // Raw HTML is shown as typed, never interpreted.
            Event::Html(raw) | Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            Event::Start(Tag::Image {
                dest_url,
                title,
                id,
                ..
            }) => {
                in_link += 1;
                events.push(Event::Start(Tag::Link {
                    link_type: LinkType::Inline,
                    dest_url,
                    title,
                    id,
                }));
            }
            Event::End(TagEnd::Image) => {
                in_link -= 1;
                events.push(Event::End(TagEnd::Link));
            }
            Event::Start(Tag::Link { .. }) => {
                in_link += 1;
                events.push(event);
            }
            Event::End(TagEnd::Link) => {
                in_link = in_link.saturating_sub(1);
                events.push(event);
            }
            Event::Start(Tag::CodeBlock(_)) => {
                in_code = true;
                events.push(event);
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                events.push(event);
            }
            Event::Text(t) if in_link == 0 && !in_code => linkify(t, &mut events),
            other => events.push(other),
        }
    }
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    cleaner().clean(&out).to_string()
}

/// The parser's events with each run of adjacent text joined (the parser
/// splits text at characters that might have been markup, such as `_`).
fn merged_text<'a>(events: impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut out: Vec<Event<'a>> = Vec::new();
    for event in events {
        match (out.last_mut(), event) {
            (Some(Event::Text(run)), Event::Text(more)) => {
                *run = CowStr::from(format!("{run}{more}"));
            }
            (_, event) => out.push(event),
        }
    }
    out
}

/// Splits a text run around the web addresses in it, each made a link.
fn linkify<'a>(text: CowStr<'a>, events: &mut Vec<Event<'a>>) {
    let s: &str = &text;
    let mut rest = 0;
    let mut i = 0;
    while i < s.len() {
        let starts_word = i == 0 || !s.as_bytes()[i - 1].is_ascii_alphanumeric();
        let scheme = ["https://", "http://", "www."].into_iter().find(|p| {
            starts_word
                && s[i..]
                    .get(..p.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
        });
        let Some(scheme) = scheme else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let end = address_end(s, i);
        if end <= i + scheme.len() {
            i += scheme.len();
            continue;
        }
        if rest < i {
            events.push(Event::Text(CowStr::from(s[rest..i].to_string())));
        }
        let shown = &s[i..end];
        let href = if scheme == "www." {
            format!("https://{shown}")
        } else {
            shown.to_string()
        };
        events.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: CowStr::from(href),
            title: CowStr::from(""),
            id: CowStr::from(""),
        }));
        events.push(Event::Text(CowStr::from(shown.to_string())));
        events.push(Event::End(TagEnd::Link));
        rest = end;
        i = end;
    }
    if rest == 0 {
        events.push(Event::Text(text));
    } else if rest < s.len() {
        events.push(Event::Text(CowStr::from(s[rest..].to_string())));
    }
}

/// Where an address starting at `from` ends: at white space or `<`, without
/// trailing punctuation, and without a closing bracket it did not open.
fn address_end(s: &str, from: usize) -> usize {
    let mut end = s[from..]
        .find(|c: char| c.is_whitespace() || c == '<' || c == '"')
        .map_or(s.len(), |n| from + n);
    loop {
        let Some(last) = s[from..end].chars().next_back() else {
            return end;
        };
        let unbalanced =
            last == ')' && s[from..end].matches('(').count() < s[from..end].matches(')').count();
        if matches!(last, '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '_') || unbalanced {
            end -= last.len_utf8();
        } else {
            return end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn formatting_and_line_breaks_survive() {
        let html = to_html("**Hello** _there_\nsecond line\n\n- one\n- two\n\n`code`");
        assert!(html.contains("<strong>Hello</strong>"), "{html}");
        assert!(html.contains("<em>there</em>"), "{html}");
        assert!(html.contains("<br>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
    }

    #[test]
    fn plain_addresses_become_safe_links() {
        let html = to_html("See https://example.com/a_(b), or www.example.org.");
        assert!(
            html.contains(r#"<a href="https://example.com/a_(b)" rel="noopener noreferrer nofollow">https://example.com/a_(b)</a>, or"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="https://www.example.org" rel="noopener noreferrer nofollow">www.example.org</a>."#), "{html}");
        let code = to_html("```\nhttps://example.com\n```");
        assert!(!code.contains("<a "), "{code}");
    }

    #[test]
    fn nothing_active_survives() {
        for hostile in [
            "<script>alert(1)</script>",
            "[click](javascript:alert(1))",
            "<img src=x onerror=alert(1)>",
            "![x](https://tracker.example/p.png)",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "<iframe src=https://evil.example></iframe>",
            "<p style=\"background:url(x)\" onclick=\"x()\">hi</p>",
        ] {
            let html = to_html(hostile);
            // Shown as text is fine (every `<` left is a real tag): no tag
            // may be active or carry an address that runs or loads.
            for tag in html
                .split('<')
                .skip(1)
                .map(|t| t.split('>').next().unwrap_or(""))
            {
                let name = tag
                    .trim_start_matches('/')
                    .split([' ', '/'])
                    .next()
                    .unwrap_or("");
                assert!(
                    ["p", "a", "br", "em", "strong", "code", "pre"].contains(&name),
                    "{hostile:?} gave {html:?}"
                );
                for bad in ["javascript:", "data:", " on", "style", "src"] {
                    assert!(!tag.contains(bad), "{hostile:?} gave {html:?}");
                }
            }
        }
        // Raw HTML is shown as the text it is.
        assert!(to_html("<b>x</b>").contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(to_html("![pic](https://x.example/p.png)")
            .contains(r#"<a href="https://x.example/p.png""#));
    }
}

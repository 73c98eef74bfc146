//! Cuts quoted history and signatures off an emailed reply, so the ticket
//! keeps what the person wrote this time (the raw message is kept apart).

/// What the person wrote, without the quoted earlier mail and the signature.
/// Returns the whole text when cutting would leave nothing.
pub fn strip_reply(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if starts_quoted_history(&lines, i) || is_signature_start(line) {
            end = i;
            break;
        }
    }
    // A block of `>` lines (and blanks) at the very end is the quote.
    while end > 0 {
        let line = lines[end - 1].trim();
        if line.is_empty() || line.starts_with('>') {
            end -= 1;
        } else {
            break;
        }
    }
    let kept = lines[..end].join("\n");
    let kept = kept.trim();
    if kept.is_empty() {
        text.trim().to_string()
    } else {
        kept.to_string()
    }
}

/// Whether line `i` opens the quoted earlier message.
fn starts_quoted_history(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    let lower = line.to_lowercase();
    if is_separator(&lower) {
        return true;
    }
    // "On Mon, 3 Nov 2026 at 10:02, Ana <ana@example.com> wrote:" (Gmail,
    // Apple Mail, Thunderbird), sometimes wrapped onto a second line.
    let attribution = |l: &str| {
        (l.starts_with("on ") && (l.ends_with("wrote:") || l.ends_with("writes:")))
            || (l.starts_with("am ") && l.ends_with("schrieb:"))
            || (l.starts_with("le ") && (l.ends_with("a écrit :") || l.ends_with("a écrit:")))
            || (l.starts_with("el ") && l.ends_with("escribió:"))
    };
    if attribution(&lower) {
        return true;
    }
    if let Some(next) = lines.get(i + 1) {
        let joined = format!("{lower} {}", next.trim().to_lowercase());
        if !lower.is_empty() && !lower.ends_with(':') && attribution(&joined) {
            return true;
        }
    }
    // Outlook: "From: ..." followed by "Sent:"/"Date:" and "To:"/"Subject:" lines.
    if is_header_line(&lower, &["from:", "von:", "de:"]) {
        let following: Vec<String> = lines[i + 1..]
            .iter()
            .take(4)
            .map(|l| l.trim().to_lowercase())
            .collect();
        let has = |names: &[&str]| following.iter().any(|l| is_header_line(l, names));
        return has(&["sent:", "date:", "gesendet:", "envoyé :", "envoyé:"])
            && has(&["to:", "subject:", "an:", "betreff:", "à :", "objet :"]);
    }
    false
}

fn is_separator(lower: &str) -> bool {
    let dashes = lower.trim_matches('-').trim();
    (lower.starts_with("---") && dashes == "original message")
        || lower.starts_with("-----original message-----")
        || (lower.len() >= 20 && lower.chars().all(|c| c == '_'))
}

fn is_header_line(lower: &str, names: &[&str]) -> bool {
    let lower = lower.trim_start_matches('*');
    names.iter().any(|n| lower.starts_with(n))
}

fn is_signature_start(line: &str) -> bool {
    let trimmed = line.trim_end();
    if trimmed == "--" || line == "-- " {
        return true;
    }
    let lower = trimmed.to_lowercase();
    [
        "sent from my iphone",
        "sent from my ipad",
        "sent from my android",
        "sent from my samsung",
        "sent from mail for windows",
        "sent from outlook",
        "get outlook for ios",
        "get outlook for android",
        "sent from yahoo mail",
    ]
    .iter()
    .any(|s| lower.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::strip_reply;

    #[test]
    fn gmail_attribution_and_quote() {
        let text = "Thanks, that fixed it.\r\n\r\nOn Mon, 3 Nov 2026 at 10:02, Support <support@example.com> wrote:\r\n> Try turning it off\r\n> and on again.\r\n";
        assert_eq!(strip_reply(text), "Thanks, that fixed it.");
    }

    #[test]
    fn wrapped_attribution() {
        let text = "Still broken.\n\nOn Mon, 3 Nov 2026 at 10:02, Acme Support\n<support+t1-abc@example.com> wrote:\n> Hello\n";
        assert_eq!(strip_reply(text), "Still broken.");
    }

    #[test]
    fn outlook_header_block() {
        let text = "It works now.\n\nBest regards\nAna\n\n________________________________\nFrom: Support <support@example.com>\nSent: Monday, November 3, 2026 10:02\nTo: Ana\nSubject: [#4] Printer\n\nTry again.\n";
        assert_eq!(strip_reply(text), "It works now.\n\nBest regards\nAna");
        let bare =
            "Yes.\n\nFrom: Support <support@example.com>\nSent: Monday\nTo: Ana\nSubject: x\n";
        assert_eq!(strip_reply(bare), "Yes.");
    }

    #[test]
    fn signatures() {
        assert_eq!(
            strip_reply("Here it is.\n-- \nAna\nACME Ltd"),
            "Here it is."
        );
        assert_eq!(
            strip_reply("Here it is.\n\nSent from my iPhone"),
            "Here it is."
        );
    }

    #[test]
    fn a_dash_list_is_not_a_signature_and_inline_answers_stay() {
        let text = "Steps:\n- one\n- two\n> your question\nmy answer\n";
        assert_eq!(
            strip_reply(text),
            "Steps:\n- one\n- two\n> your question\nmy answer"
        );
    }

    #[test]
    fn only_quote_keeps_everything() {
        assert_eq!(strip_reply("> just a quote\n"), "> just a quote");
    }
}

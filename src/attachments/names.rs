//! Filenames people send are kept readable but made harmless, and a file is
//! served with a type a browser cannot turn into a page of ours.

use std::fmt::Write as _;

/// Longest stored filename, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A filename safe to store and show: the last path component only, without
/// control or bidirectional-override characters, leading dots or characters
/// that file systems refuse, at most 200 characters (the extension kept).
pub fn clean_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    // No leading dots (hidden files, `..`), no trailing dots or spaces
    // (Windows drops them), no device names Windows refuses to create.
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim();
    let stem = trimmed
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    let renamed;
    let name = if trimmed.is_empty() {
        "file"
    } else if device {
        renamed = format!("_{trimmed}");
        &renamed
    } else {
        trimmed
    };
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_string();
    }
    // Keep a short extension; shorten the stem.
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 16 => (stem, ext),
        _ => (name, ""),
    };
    let keep = MAX_NAME_CHARS - ext.chars().count() - usize::from(!ext.is_empty());
    let mut short: String = stem.chars().take(keep).collect();
    if !ext.is_empty() {
        short.push('.');
        short.push_str(ext);
    }
    short
}

/// Characters that reorder how text is shown (`evil\u{202E}fdp.exe`).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A media type as `type/subtype` in lower case without parameters, or
/// `None` when `raw` is not one.
pub fn normalize_type(raw: &str) -> Option<String> {
    let essence = raw.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    (token(kind) && token(sub)).then_some(essence)
}

/// The type to record for a file: what the sender declared, unless that is
/// missing or generic; then what the bytes look like; then the extension.
pub fn content_type(declared: Option<&str>, filename: &str, head: &[u8]) -> String {
    let declared = declared.and_then(normalize_type);
    match declared.as_deref() {
        Some(t) if t != "application/octet-stream" => return t.to_string(),
        _ => {}
    }
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_string();
    }
    by_extension(filename)
        .unwrap_or("application/octet-stream")
        .to_string()
}

fn by_extension(filename: &str) -> Option<&'static str> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "md" | "markdown" => "text/markdown",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "json" => "application/json",
        "zip" => "application/zip",
        "eml" => "message/rfc822",
        _ => return None,
    })
}

/// Raster image types a browser may show in a page (never SVG: it runs scripts).
const INLINE_IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// How a stored file is served: its `Content-Type`, and whether it may be
/// shown `inline`. Only raster images whose bytes agree with their type are
/// inline; types a browser would run as a document are served as bytes.
pub fn served_as(content_type: &str, head: &[u8]) -> (String, bool) {
    if INLINE_IMAGES.contains(&content_type)
        && infer::get(head).is_some_and(|k| k.mime_type() == content_type)
    {
        return (content_type.to_string(), true);
    }
    let active = content_type.starts_with("text/html")
        || content_type.contains("xml")
        || content_type.contains("javascript")
        || content_type.contains("ecmascript")
        || content_type.starts_with("multipart/")
        || content_type.starts_with("image/");
    if active {
        ("application/octet-stream".into(), false)
    } else {
        (content_type.to_string(), false)
    }
}

/// `Content-Disposition` for `filename`: an ASCII fallback and the exact
/// name as RFC 6266 / RFC 8187 `filename*`.
pub fn disposition(filename: &str, inline: bool) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_harmless() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(clean_filename("..."), "file");
        assert_eq!(clean_filename(".htaccess"), "htaccess");
        assert_eq!(clean_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_filename("a<b>:c?.txt"), "a_b__c_.txt");
        assert_eq!(clean_filename("report.pdf. . "), "report.pdf");
        assert_eq!(clean_filename("nul.txt"), "_nul.txt");
        assert_eq!(clean_filename("com1"), "_com1");
        assert_eq!(clean_filename("console.log"), "console.log");
        let long = format!("{}.txt", "a".repeat(300));
        let short = clean_filename(&long);
        assert_eq!(short.chars().count(), 200);
        assert!(std::path::Path::new(&short)
            .extension()
            .is_some_and(|e| e == "txt"));
        assert_eq!(
            clean_filename("Überweisung März.pdf"),
            "Überweisung März.pdf"
        );
    }

    #[test]
    fn types_are_normalized_and_sniffed() {
        assert_eq!(
            normalize_type("Text/Plain; charset=utf-8").as_deref(),
            Some("text/plain")
        );
        assert_eq!(normalize_type("nonsense"), None);
        assert_eq!(normalize_type("a/b c"), None);
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(content_type(None, "x", png), "image/png");
        assert_eq!(
            content_type(Some("application/octet-stream"), "a.csv", b"a,b"),
            "text/csv"
        );
        assert_eq!(
            content_type(Some("image/png"), "x.png", b"<html>"),
            "image/png"
        );
    }

    #[test]
    fn only_true_raster_images_are_inline() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(served_as("image/png", png), ("image/png".into(), true));
        assert_eq!(
            served_as("image/png", b"<html><script>alert(1)</script>"),
            ("application/octet-stream".into(), false)
        );
        assert_eq!(
            served_as("text/html", b"<html>").0,
            "application/octet-stream"
        );
        assert_eq!(
            served_as("image/svg+xml", b"<svg>").0,
            "application/octet-stream"
        );
        assert_eq!(served_as("text/plain", b"hi"), ("text/plain".into(), false));
    }

    #[test]
    fn disposition_has_a_fallback_and_the_exact_name() {
        assert!(disposition("100%.txt", false).starts_with("attachment; filename=\"100_.txt\""));
        assert_eq!(
            disposition("a \"b\".pdf", false),
            "attachment; filename=\"a _b_.pdf\"; filename*=UTF-8''a%20%22b%22.pdf"
        );
        assert_eq!(
            disposition("März.png", true),
            "inline; filename=\"M_rz.png\"; filename*=UTF-8''M%C3%A4rz.png"
        );
    }
}

//! The searchable text of a file: plain text, CSV and Markdown as they are,
//! PDF through `pdf-extract`. Anything else has none.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Most text kept per file for search.
const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// PDFs larger than this are kept without their text.
const MAX_PDF_BYTES: usize = 16 * 1024 * 1024;

/// How long a PDF may take to give up its text.
const PDF_PATIENCE: Duration = Duration::from_secs(20);

/// PDFs being read at once; a file that never finishes keeps its slot, so
/// hostile files can tie up at most this many threads.
const MAX_PDF_READERS: usize = 2;

static PDF_READERS: AtomicUsize = AtomicUsize::new(0);

/// Whether files of this type (or name) carry text worth indexing.
fn kind(content_type: &str, filename: &str) -> Option<Kind> {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match content_type {
        "application/pdf" => Some(Kind::Pdf),
        "text/plain"
        | "text/csv"
        | "text/markdown"
        | "text/x-markdown"
        | "text/tab-separated-values" => Some(Kind::Plain),
        _ if matches!(
            ext.as_str(),
            "txt" | "csv" | "md" | "markdown" | "log" | "tsv"
        ) && !content_type.starts_with("image/") =>
        {
            Some(Kind::Plain)
        }
        _ if ext == "pdf" => Some(Kind::Pdf),
        _ => None,
    }
}

enum Kind {
    Plain,
    Pdf,
}

/// The text of the file at `path`, read with bounded memory for plain text
/// (a PDF is parsed whole). A PDF that cannot be parsed, or makes the parser
/// panic, has no text; the file itself is kept.
pub fn of_file(path: &Path, content_type: &str, filename: &str) -> Option<String> {
    match kind(content_type, filename)? {
        Kind::Plain => {
            let file = std::fs::File::open(path).ok()?;
            let mut bytes = Vec::new();
            file.take(MAX_TEXT_BYTES as u64)
                .read_to_end(&mut bytes)
                .ok()?;
            plain(&bytes)
        }
        Kind::Pdf => {
            let size = std::fs::metadata(path).ok()?.len();
            if size > MAX_PDF_BYTES as u64 {
                return None;
            }
            pdf(std::fs::read(path).ok()?)
        }
    }
}

/// The same for bytes already in memory (files in mail).
pub fn of_bytes(bytes: &[u8], content_type: &str, filename: &str) -> Option<String> {
    match kind(content_type, filename)? {
        Kind::Plain => plain(&bytes[..bytes.len().min(MAX_TEXT_BYTES)]),
        Kind::Pdf if bytes.len() <= MAX_PDF_BYTES => pdf(bytes.to_vec()),
        Kind::Pdf => None,
    }
}

fn plain(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Reads a PDF's text on a thread of its own (a deep stack, a deadline), so
/// a hostile file can neither overflow the caller's stack nor hold it.
fn pdf(bytes: Vec<u8>) -> Option<String> {
    if !bytes.starts_with(b"%PDF") {
        return None;
    }
    if PDF_READERS.fetch_add(1, Ordering::SeqCst) >= MAX_PDF_READERS {
        PDF_READERS.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!("PDF readers are busy; a PDF is kept without its text");
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("pdf-text".into())
        .stack_size(256 * 1024 * 1024)
        .spawn(move || {
            // Untrusted input into a large parser: a panic ends only this thread.
            let result = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(&bytes));
            PDF_READERS.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        PDF_READERS.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    match rx.recv_timeout(PDF_PATIENCE) {
        Ok(Ok(Ok(text))) => {
            let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.len() > MAX_TEXT_BYTES {
                let mut end = MAX_TEXT_BYTES;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
            }
            (!text.is_empty()).then_some(text)
        }
        Ok(Ok(Err(e))) => {
            tracing::info!(error = %e, "no text from a PDF file");
            None
        }
        Ok(Err(_)) => {
            tracing::warn!("the PDF parser failed on a file; it is kept without its text");
            None
        }
        Err(_) => {
            tracing::warn!("a PDF took too long to read; it is kept without its text");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_like_files_have_text() {
        assert_eq!(
            of_bytes(b"sku,name\n1,tangerine", "text/csv", "p.csv").as_deref(),
            Some("sku,name\n1,tangerine")
        );
        assert_eq!(
            of_bytes(b"# Notes", "application/octet-stream", "n.md").as_deref(),
            Some("# Notes")
        );
        assert_eq!(of_bytes(b"\x89PNG", "image/png", "a.png"), None);
        assert_eq!(of_bytes(b"not a pdf", "application/pdf", "a.pdf"), None);
        assert_eq!(
            of_bytes(b"%PDF-1.4 garbage", "application/pdf", "a.pdf"),
            None
        );
    }
}

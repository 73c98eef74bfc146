//! Serving a stored file: its headers (a safe name and type, `nosniff`, a
//! sandboxing CSP, `ETag`), conditional and range requests, and a body read
//! from the database a piece at a time while it is sent.

use std::io::Cursor;

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder};
use rocket::{Request, Response};
use tokio::io::AsyncWriteExt;

use crate::attachments::names;
use crate::attachments::repo::Stored;
use crate::attachments::store::read_chunk;
use crate::db::Db;
use crate::error::Error;

/// Bytes read from the database per step while sending.
const CHUNK: usize = 256 * 1024;

/// A download's sandbox: nothing in the response may run or load anything.
const SANDBOX_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// The request headers a download honours.
pub struct Conditions {
    range: Option<String>,
    if_range: Option<String>,
    if_none_match: Option<String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Conditions {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let get = |name: &str| req.headers().get_one(name).map(String::from);
        Outcome::Success(Conditions {
            range: get("Range"),
            if_range: get("If-Range"),
            if_none_match: get("If-None-Match"),
        })
    }
}

/// What is sent: the whole file, a range of it, or nothing new.
enum Part {
    Whole,
    Range(u64, u64),
    NotModified,
}

pub struct Download {
    db: Db,
    blob_id: i64,
    size: u64,
    etag: String,
    content_type: String,
    disposition: String,
    part: Part,
}

impl Download {
    /// Reads the first bytes (to tell a real image from a file claiming to be
    /// one) and decides what the conditions ask for.
    pub async fn new(db: &Db, stored: Stored, conditions: &Conditions) -> Result<Self, Error> {
        let blob_id = stored.blob_id;
        let head = db
            .read(move |conn| read_chunk(conn, blob_id, 0, 512))
            .await?;
        let (content_type, inline) = names::served_as(&stored.upload.content_type, &head);
        let size = u64::try_from(stored.upload.size).unwrap_or(0);
        let etag = format!("\"{}\"", stored.upload.sha256);
        let part = if conditions
            .if_none_match
            .as_deref()
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
        {
            Part::NotModified
        } else {
            let fresh = conditions.if_range.as_deref().is_none_or(|v| v == etag);
            match conditions.range.as_deref().filter(|_| fresh) {
                Some(range) => match parse_range(range, size) {
                    Some(Ok((start, end))) => Part::Range(start, end),
                    Some(Err(())) => {
                        return Err(Error::RangeNotSatisfiable(size));
                    }
                    None => Part::Whole,
                },
                None => Part::Whole,
            }
        };
        Ok(Self {
            db: db.clone(),
            blob_id,
            size,
            etag,
            content_type,
            disposition: names::disposition(&stored.upload.filename, inline),
            part,
        })
    }
}

/// One `bytes=` range of a file of `size` bytes: `None` when the header is
/// not one we serve (several ranges, other units: the whole file is sent),
/// `Err` when it lies outside the file.
fn parse_range(header: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (from, to) = spec.split_once('-')?;
    let (from, to) = (from.trim(), to.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(from.is_empty() || digits(from)) || !(to.is_empty() || digits(to)) {
        return None;
    }
    let range = if from.is_empty() {
        let n: u64 = to.parse().ok()?;
        if n == 0 || size == 0 {
            return Some(Err(()));
        }
        (size.saturating_sub(n), size - 1)
    } else {
        let start: u64 = from.parse().ok()?;
        let last = size.saturating_sub(1);
        // An end past the file (however many digits) means its last byte.
        let end = if to.is_empty() {
            last
        } else {
            to.parse::<u64>().map_or(last, |end| end.min(last))
        };
        // A range that ends before it starts is no range: the whole file.
        if to.parse::<u64>().is_ok_and(|end| end < start) {
            return None;
        }
        if start >= size {
            return Some(Err(()));
        }
        (start, end)
    };
    Some(Ok(range))
}

impl<'r> Responder<'r, 'static> for Download {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.raw_header("ETag", self.etag.clone())
            .raw_header("Cache-Control", "private, no-cache")
            .raw_header("X-Content-Type-Options", "nosniff")
            .raw_header("Content-Security-Policy", SANDBOX_CSP)
            .raw_header("Accept-Ranges", "bytes");
        let (start, end) = match self.part {
            Part::NotModified => return res.status(Status::NotModified).ok(),
            Part::Whole => (0, self.size.saturating_sub(1)),
            Part::Range(start, end) => {
                res.status(Status::PartialContent).raw_header(
                    "Content-Range",
                    format!("bytes {start}-{end}/{}", self.size),
                );
                (start, end)
            }
        };
        res.raw_header("Content-Type", self.content_type)
            .raw_header("Content-Disposition", self.disposition);
        if self.size == 0 {
            return res.sized_body(0, Cursor::new(Vec::new())).ok();
        }
        let length = end - start + 1;
        // The body is written into a small pipe by a task that reads the
        // blob a piece at a time; a client that goes away ends the task.
        let (mut writer, reader) = tokio::io::duplex(CHUNK);
        let (db, blob) = (self.db, self.blob_id);
        tokio::spawn(async move {
            let mut at = start;
            while at <= end {
                let want = usize::try_from((end - at + 1).min(CHUNK as u64)).unwrap_or(CHUNK);
                let chunk = match db.read(move |conn| read_chunk(conn, blob, at, want)).await {
                    Ok(chunk) if !chunk.is_empty() => chunk,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading a file for a download failed");
                        break;
                    }
                };
                if writer.write_all(&chunk).await.is_err() {
                    break;
                }
                at += chunk.len() as u64;
            }
        });
        res.header(Header::new("Content-Length", length.to_string()))
            .streamed_body(reader)
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Some(Ok((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(
            parse_range("bytes=0-99999999999999999999999", 100),
            Some(Ok((0, 99)))
        );
        assert_eq!(parse_range("bytes=+1-2", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}

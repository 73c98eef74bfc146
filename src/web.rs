//! The embedded web assets: content types, ETag/304, caching, and the SPA fallback.

use std::borrow::Cow;
use std::io::Cursor;
use std::path::PathBuf;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder, Response};
use rocket::{get, routes, Request, Route};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

pub fn routes() -> Vec<Route> {
    routes![index, docs, asset]
}

/// Whether a mounted route is one of the web app's (not part of the API).
pub fn is_web_route(route: &Route) -> bool {
    routes().iter().any(|web| {
        web.method == route.method
            && web.uri.to_string() == route.uri.to_string()
            && web.rank == route.rank
    })
}

/// Paths under these prefixes never fall back to the web app.
const NON_APP_PREFIXES: &[&str] = &["api/", "api"];

#[get("/")]
fn index(cache: IfNoneMatch) -> Option<Asset> {
    Asset::load("index.html", cache)
}

#[get("/docs")]
fn docs(cache: IfNoneMatch) -> Option<Asset> {
    Asset::load("docs/index.html", cache)
}

/// Any other GET: the file if it exists; else, for app paths, `index.html` so
/// the web app's own router can answer deep links.
#[get("/<path..>", rank = 20)]
fn asset(path: PathBuf, cache: IfNoneMatch) -> Option<Asset> {
    let path = path.to_str()?.to_string();
    if let Some(asset) = Asset::load(&path, cache.clone()) {
        return Some(asset);
    }
    if let Some(asset) = Asset::load(&format!("{path}/index.html"), cache.clone()) {
        return Some(asset);
    }
    let is_app_path = !NON_APP_PREFIXES
        .iter()
        .any(|p| path == *p || path.starts_with(p))
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
    if is_app_path {
        Asset::load("index.html", cache)
    } else {
        None
    }
}

/// The `If-None-Match` request header, if any.
#[derive(Clone)]
pub struct IfNoneMatch(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(IfNoneMatch(
            req.headers().get_one("If-None-Match").map(String::from),
        ))
    }
}

impl IfNoneMatch {
    fn matches(&self, etag: &str) -> bool {
        self.0.as_deref().is_some_and(|header| {
            header.trim() == "*"
                || header
                    .split(',')
                    .any(|tag| tag.trim().trim_start_matches("W/") == etag)
        })
    }
}

pub struct Asset {
    body: Option<Cow<'static, [u8]>>,
    content_type: ContentType,
    etag: String,
    immutable: bool,
}

impl Asset {
    fn load(path: &str, cache: IfNoneMatch) -> Option<Self> {
        let file = Assets::get(path)?;
        let hash = file.metadata.sha256_hash();
        let mut etag = format!("\"{}", hex::encode(&hash[..12]));
        let mut data = file.data;
        if path == "index.html" {
            // The app shell shows the running version.
            let text =
                String::from_utf8_lossy(&data).replace("{{version}}", env!("CARGO_PKG_VERSION"));
            data = Cow::Owned(text.into_bytes());
            etag.push('-');
            etag.push_str(env!("CARGO_PKG_VERSION"));
        }
        etag.push('"');
        let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
        let content_type = ContentType::from_extension(extension).unwrap_or(ContentType::Binary);
        let body = (!cache.matches(&etag)).then_some(data);
        Some(Self {
            body,
            content_type,
            etag,
            immutable: is_fingerprinted(path),
        })
    }
}

/// A file whose name changes with its content (`app.3f9a1c2b.js`) or that sits
/// in a versioned folder (`vendor/swagger-ui-5.35.0/`) can be cached forever.
fn is_fingerprinted(path: &str) -> bool {
    let mut segments = path.split('/');
    let file = segments.next_back().unwrap_or("");
    let parts: Vec<&str> = file.split('.').collect();
    let hashed_name = parts.len() >= 3
        && parts[1..parts.len() - 1]
            .iter()
            .any(|part| part.len() >= 8 && part.bytes().all(|b| b.is_ascii_hexdigit()));
    let versioned_dir = segments.any(|dir| {
        dir.rsplit_once('-').is_some_and(|(_, version)| {
            let parts: Vec<_> = version.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
    });
    hashed_name || versioned_dir
}

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .header(Header::new("ETag", self.etag))
            .header(Header::new(
                "Cache-Control",
                if self.immutable {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                },
            ));
        match self.body {
            Some(body) => {
                response
                    .header(self.content_type)
                    .sized_body(body.len(), Cursor::new(body));
            }
            None => {
                response.status(Status::NotModified);
            }
        }
        response.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::is_fingerprinted;

    #[test]
    fn fingerprints_are_recognised() {
        assert!(is_fingerprinted("app.3f9a1c2b.js"));
        assert!(is_fingerprinted(
            "docs/vendor/swagger-ui-5.35.0/swagger-ui.css"
        ));
        assert!(!is_fingerprinted("index.html"));
        assert!(!is_fingerprinted("docs/init.js"));
        assert!(!is_fingerprinted("landing.css"));
        assert!(
            !is_fingerprinted("deadbeef.js"),
            "the name itself is not a fingerprint"
        );
    }
}

//! CORS for the configured origins: headers on API answers and preflight replies.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Request, Response};

pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    pub fn new(origins: Vec<String>) -> Self {
        Self { origins }
    }

    fn allows_any(&self) -> bool {
        self.origins.iter().any(|o| o == "*")
    }

    fn allowed(&self, origin: &str) -> bool {
        self.allows_any() || self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, X-API-Key, X-Request-Id, Last-Event-ID";
const EXPOSED_HEADERS: &str = "X-Request-Id, Retry-After, ETag, Location";

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "CORS",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(origin) = req.headers().get_one("Origin") else {
            return;
        };
        if self.origins.is_empty() || !self.allowed(origin) {
            return;
        }
        let preflight = req.method() == Method::Options
            && req.headers().contains("Access-Control-Request-Method");
        if self.allows_any() {
            res.set_header(Header::new("Access-Control-Allow-Origin", "*"));
        } else {
            res.set_header(Header::new(
                "Access-Control-Allow-Origin",
                origin.to_string(),
            ));
            res.set_header(Header::new("Access-Control-Allow-Credentials", "true"));
            res.adjoin_header(Header::new("Vary", "Origin"));
        }
        if preflight {
            res.set_status(Status::NoContent);
            res.set_sized_body(0, std::io::Cursor::new(Vec::new()));
            res.remove_header("Content-Type");
            res.set_header(Header::new("Access-Control-Allow-Methods", ALLOWED_METHODS));
            res.set_header(Header::new("Access-Control-Allow-Headers", ALLOWED_HEADERS));
            res.set_header(Header::new("Access-Control-Max-Age", "600"));
        } else {
            res.set_header(Header::new(
                "Access-Control-Expose-Headers",
                EXPOSED_HEADERS,
            ));
        }
    }
}

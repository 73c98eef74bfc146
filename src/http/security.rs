//! Security headers on every response.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

/// Scripts and styles only from this origin (inline styles allowed for the
/// API viewer); never framed by another site.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
frame-ancestors 'none'";

/// The security headers fairing; `hsts` when the public URL is https.
pub struct SecurityHeaders {
    pub hsts: bool,
}

/// Browsers keep to https for two years once they have seen it.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000";

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _req: &'r Request<'_>, res: &mut Response<'r>) {
        apply(res);
        if self.hsts {
            res.set_header(Header::new(
                "Strict-Transport-Security",
                STRICT_TRANSPORT_SECURITY,
            ));
        }
    }
}

/// Sets the security headers on `res`; also used by answers that bypass the
/// fairings (Rocket answers a request it cannot parse from the catcher alone).
pub fn apply(res: &mut Response<'_>) {
    if !res.headers().contains("Content-Security-Policy") {
        res.set_header(Header::new(
            "Content-Security-Policy",
            CONTENT_SECURITY_POLICY,
        ));
    }
    res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
    res.set_header(Header::new(
        "Referrer-Policy",
        "strict-origin-when-cross-origin",
    ));
    res.set_header(Header::new("X-Frame-Options", "DENY"));
    res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
    res.set_header(Header::new(
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=()",
    ));
}

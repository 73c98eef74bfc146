//! The HTTP API: every resource is mounted here and only here, and its
//! OpenAPI description is assembled from the same table.

mod api_keys;
mod attachments;
mod audit;
mod auth;
mod catch;
mod chat;
mod constraints;
mod download;
mod email_log;
mod events;
pub mod guards;
mod inbound;
mod intake;
mod mailboxes;
mod openapi;
mod params;
mod portal;
mod portal_events;
mod ratings;
mod reports;
mod saved_replies;
mod service;
mod settings;
mod sla;
mod suggest;
mod ticket_attention;
mod ticket_bulk;
mod ticket_messages;
mod tickets;
mod users;
mod webhooks;

use rocket::{Build, Request, Rocket, Route};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::OpenApi;

pub use catch::catchers;
pub use openapi::openapi;

/// One API resource: where it is mounted, its routes and its OpenAPI paths.
struct Resource {
    base: &'static str,
    routes: fn() -> Vec<Route>,
    doc: fn() -> OpenApiDoc,
}

const RESOURCES: &[Resource] = &[
    Resource {
        base: "/",
        routes: service::routes,
        doc: service::Doc::openapi,
    },
    Resource {
        base: "/api/v1",
        routes: service::openapi_routes,
        doc: service::OpenApiJsonDoc::openapi,
    },
    Resource {
        base: "/api/v1/auth",
        routes: auth::routes,
        doc: auth::Doc::openapi,
    },
    Resource {
        base: "/api/v1/users",
        routes: users::routes,
        doc: users::Doc::openapi,
    },
    Resource {
        base: "/api/v1/api-keys",
        routes: api_keys::routes,
        doc: api_keys::Doc::openapi,
    },
    Resource {
        base: "/api/v1/tickets",
        routes: tickets::routes,
        doc: tickets::Doc::openapi,
    },
    Resource {
        base: "/api/v1/tickets",
        routes: ticket_attention::routes,
        doc: ticket_attention::Doc::openapi,
    },
    Resource {
        base: "/api/v1/tickets",
        routes: ticket_bulk::routes,
        doc: ticket_bulk::Doc::openapi,
    },
    Resource {
        base: "/api/v1/tickets",
        routes: ticket_messages::routes,
        doc: ticket_messages::Doc::openapi,
    },
    Resource {
        base: "/api/v1/tickets",
        routes: chat::routes,
        doc: chat::Doc::openapi,
    },
    Resource {
        base: "/api/v1/uploads",
        routes: attachments::upload_routes,
        doc: attachments::UploadDoc::openapi,
    },
    Resource {
        base: "/api/v1/attachments",
        routes: attachments::routes,
        doc: attachments::Doc::openapi,
    },
    Resource {
        base: "/api/v1/tickets",
        routes: suggest::routes,
        doc: suggest::Doc::openapi,
    },
    Resource {
        base: "/api/v1/webhooks",
        routes: webhooks::routes,
        doc: webhooks::Doc::openapi,
    },
    Resource {
        base: "/api/v1/saved-replies",
        routes: saved_replies::routes,
        doc: saved_replies::Doc::openapi,
    },
    Resource {
        base: "/api/v1/support",
        routes: intake::routes,
        doc: intake::Doc::openapi,
    },
    Resource {
        base: "/api/v1/portal-tokens",
        routes: portal::token_routes,
        doc: portal::TokenDoc::openapi,
    },
    Resource {
        base: "/api/v1/portal",
        routes: portal::portal_routes,
        doc: portal::PortalDoc::openapi,
    },
    Resource {
        base: "/api/v1/portal",
        routes: portal_events::routes,
        doc: portal_events::Doc::openapi,
    },
    Resource {
        base: "/api/v1/settings",
        routes: settings::routes,
        doc: settings::Doc::openapi,
    },
    Resource {
        base: "/api/v1/reports",
        routes: reports::routes,
        doc: reports::Doc::openapi,
    },
    Resource {
        base: "/api/v1/ratings",
        routes: ratings::routes,
        doc: ratings::Doc::openapi,
    },
    Resource {
        base: "/api/v1/sla",
        routes: sla::routes,
        doc: sla::Doc::openapi,
    },
    Resource {
        base: "/api/v1/admin",
        routes: audit::routes,
        doc: audit::Doc::openapi,
    },
    Resource {
        base: "/api/v1/admin",
        routes: email_log::routes,
        doc: email_log::Doc::openapi,
    },
    Resource {
        base: "/api/v1/admin",
        routes: mailboxes::routes,
        doc: mailboxes::Doc::openapi,
    },
    Resource {
        base: "/api/v1",
        routes: events::routes,
        doc: events::Doc::openapi,
    },
    Resource {
        base: "/api/v1/inbound",
        routes: inbound::routes,
        doc: inbound::Doc::openapi,
    },
];

/// Mounts every API route.
pub fn mount(mut rocket: Rocket<Build>) -> Rocket<Build> {
    for resource in RESOURCES {
        rocket = rocket.mount(resource.base, (resource.routes)());
    }
    rocket
}

/// Methods that have a route at this request's path, but `except` (for 405
/// answers). The web app's catch-all route does not count.
pub fn allowed_methods(req: &Request<'_>, except: Option<rocket::http::Method>) -> Vec<String> {
    let path: Vec<&str> = req
        .uri()
        .path()
        .segments()
        .filter(|s| !s.is_empty())
        .collect();
    let mut methods: Vec<String> = req
        .rocket()
        .routes()
        .filter(|route| Some(route.method) != except && !is_catch_all(route))
        .filter(|route| template_matches(route.uri.path(), &path))
        .map(|route| route.method.as_str().to_string())
        .collect();
    if methods.iter().any(|m| m == "GET") {
        methods.push("HEAD".into());
    }
    methods.sort();
    methods.dedup();
    methods
}

fn is_catch_all(route: &Route) -> bool {
    let template = route.uri.path().to_string();
    template
        .trim_start_matches('/')
        .split('/')
        .next()
        .is_some_and(|first| first.starts_with('<') && first.ends_with("..>"))
}

/// Does a route template (`/api/v1/tickets/<id>`) match these path segments?
fn template_matches(template: &str, path: &[&str]) -> bool {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        if part.starts_with('<') && part.ends_with("..>") {
            return true;
        }
        match path.get(i) {
            None => return false,
            Some(segment) => {
                let dynamic = part.starts_with('<') && part.ends_with('>');
                if !dynamic && part != segment {
                    return false;
                }
                // An id segment takes only what an id can be (`/users/me` is
                // not `/users/<id>`).
                if *part == "<id>" && !segment.parse::<i64>().is_ok_and(|id| id > 0) {
                    return false;
                }
            }
        }
    }
    parts.len() == path.len()
}

#[cfg(test)]
mod tests {
    use super::template_matches;

    #[test]
    fn templates_match_paths() {
        assert!(template_matches(
            "/api/v1/tickets/<id>",
            &["api", "v1", "tickets", "7"]
        ));
        assert!(!template_matches(
            "/api/v1/tickets/<id>",
            &["api", "v1", "tickets"]
        ));
        assert!(!template_matches(
            "/api/v1/tickets",
            &["api", "v1", "tickets", "7"]
        ));
        assert!(template_matches("/health", &["health"]));
        for not_an_id in ["0", "-1", "abc", "1.5", "9223372036854775808", "me"] {
            assert!(!template_matches(
                "/api/v1/users/<id>",
                &["api", "v1", "users", not_an_id]
            ));
        }
        assert!(template_matches("/files/<rest..>", &["files", "a", "b"]));
    }
}

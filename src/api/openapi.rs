//! The OpenAPI document: assembled from every resource's route attributes,
//! then completed with what every operation shares (the problem answers of
//! the body guard, the credential guards and path ids), so that it says
//! exactly what the server does.

use serde_json::{json, Map, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi as OpenApiDoc, OpenApiBuilder};

use super::{constraints, RESOURCES};
use crate::error::Error;

/// The OpenAPI 3.1 document of the whole API, as served at `/api/v1/openapi.json`.
pub fn openapi() -> Result<Value, Error> {
    let mut doc = serde_json::to_value(assembled())
        .map_err(|e| Error::Internal(format!("serializing the OpenAPI document: {e}")))?;
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if let (true, Some(operation)) = (
                    METHODS.contains(&method.as_str()),
                    operation.as_object_mut(),
                ) {
                    complete(path, operation);
                }
            }
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        for (schema, property, rule) in constraints::rules() {
            match schemas.pointer_mut(&format!("/{schema}/properties/{property}")) {
                Some(target) => constraints::apply(target, &rule),
                None => {
                    return Err(Error::Internal(format!(
                        "the OpenAPI document has no {schema}.{property} to constrain"
                    )))
                }
            }
        }
    }
    Ok(doc)
}

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// The document as the route attributes give it.
fn assembled() -> OpenApiDoc {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Helpline API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The JSON API of Helpline, a help desk in one binary. Errors are RFC 9457 \
                     problem documents (application/problem+json).",
                ))
                .build(),
        )
        .build();
    for resource in RESOURCES {
        let part = (resource.doc)();
        doc = if resource.base == "/" {
            doc.merge_from(part)
        } else {
            doc.nest(resource.base, part)
        };
    }
    // A route at its mount point (`/`) nests as `/base/`; Rocket serves it as `/base`.
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, item) in paths {
        let path = match path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => trimmed.to_string(),
            _ => path,
        };
        doc.paths.paths.insert(path, item);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components.add_security_scheme(
        "inbound_secret",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("the `inbound_secret` of the configuration"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
    );
    for (name, schema) in [
        (
            "Problem",
            <crate::http::problem::Problem as utoipa::PartialSchema>::schema(),
        ),
        (
            "FieldError",
            <crate::error::FieldError as utoipa::PartialSchema>::schema(),
        ),
    ] {
        components.schemas.entry(name.to_string()).or_insert(schema);
    }
    doc
}

/// What every operation shares, added where its attributes left it out.
fn complete(path: &str, operation: &mut Map<String, Value>) {
    // Unique ids: `users_list`, not `list`.
    let tag = operation
        .get("tags")
        .and_then(|t| t.get(0))
        .and_then(Value::as_str)
        .map(|t| t.replace('-', "_"));
    if let (Some(tag), Some(Value::String(id))) = (tag, operation.get_mut("operationId")) {
        *id = format!("{tag}_{id}");
    }
    let places = type_parameters(path, operation);
    let json_body = operation
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .is_some_and(|c| c.get("application/json").is_some());
    // Every alternative names a scheme: no anonymous way in.
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| {
            !reqs.is_empty()
                && reqs
                    .iter()
                    .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        });
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_string())
            .or_insert_with(|| json!({ "description": description }));
    };
    if json_body {
        add("400", "the body is not valid JSON");
        add("413", "the body is larger than the limit");
        add("415", "the body is not sent as `application/json`");
        add(
            "422",
            "fields are missing, unknown or invalid (see `errors`)",
        );
    }
    if places.contains(&"query") {
        add("422", "a query parameter is invalid (see `errors`)");
    }
    if places.contains(&"path") {
        add("404", "no such resource (also for an id that cannot exist)");
    }
    if secured {
        add(
            "401",
            "credentials are missing, invalid, expired or revoked",
        );
    }
    for (status, response) in responses.iter_mut() {
        if let Some(response) = response.as_object_mut() {
            describe(status, response);
        }
    }
}

/// Gives path ids and the query parameters handlers read as text their
/// schemas; answers where the operation's parameters are (`query`, `path`).
fn type_parameters(path: &str, operation: &mut Map<String, Value>) -> Vec<&'static str> {
    let mut places = Vec::new();
    for param in operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let name = param
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let schema = match param.get("in").and_then(Value::as_str) {
            Some("query") => {
                places.push("query");
                constraints::query(path, name)
            }
            Some("path") => {
                places.push("path");
                (name == "id")
                    .then(|| json!({ "type": "integer", "format": "int64", "minimum": 1 }))
            }
            _ => None,
        };
        if let Some(schema) = schema {
            param["schema"] = schema;
        }
    }
    places
}

/// Every answer has a description; every error answer is a problem document.
fn describe(status: &str, response: &mut Map<String, Value>) {
    let is_error = status.starts_with('4') || status.starts_with('5');
    if response
        .get("description")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        let text = if is_error {
            "a problem document (RFC 9457)"
        } else {
            status
                .parse::<u16>()
                .ok()
                .and_then(rocket::http::Status::from_code)
                .map_or("", |s| s.reason_lossy())
        };
        response.insert("description".into(), Value::String(text.to_string()));
    }
    if is_error {
        let content = response.entry("content").or_insert_with(|| json!({}));
        if let Some(content) = content.as_object_mut() {
            let schema = content
                .remove("application/json")
                .unwrap_or_else(|| json!({ "schema": { "$ref": "#/components/schemas/Problem" } }));
            content.entry("application/problem+json").or_insert(schema);
        }
    }
}

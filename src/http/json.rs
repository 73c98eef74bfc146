//! `ApiJson<T>`: the JSON body guard. Wrong content type is 415, too large 413,
//! malformed JSON 400, wrong shape or unknown fields 422, each as problem JSON.

use rocket::data::{Data, FromData, Outcome};
use rocket::Request;
use serde::de::DeserializeOwned;

use crate::error::{Error, FieldError};
use crate::http::problem::Problem;

/// A JSON request body of type `T`. DTOs use `#[serde(deny_unknown_fields)]`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Send> FromData<'r> for ApiJson<T> {
    type Error = Error;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        match read(req, data).await {
            Ok(value) => Outcome::Success(ApiJson(value)),
            Err(error) => {
                let status = error.status();
                Problem::from_error(&error, req).stash(req);
                Outcome::Error((status, error))
            }
        }
    }
}

async fn read<T: DeserializeOwned>(req: &Request<'_>, data: Data<'_>) -> Result<T, Error> {
    let is_json = req.content_type().is_some_and(|ct| {
        ct.top() == "application" && (ct.sub() == "json" || ct.sub().as_str().ends_with("+json"))
    });
    if !is_json {
        return Err(Error::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        ));
    }
    let limit = req
        .limits()
        .get("json")
        .unwrap_or(rocket::data::Limits::JSON);
    let bytes = data
        .open(limit)
        .into_bytes()
        .await
        .map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
    if !bytes.is_complete() {
        return Err(Error::PayloadTooLarge(limit.to_string()));
    }
    parse(&bytes)
}

/// For `Option<Option<T>>` fields: absent is `None`, `null` is `Some(None)`.
/// Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// Parses a JSON body, telling syntax errors (400) from shape errors (422).
/// Every body is an object: an array in its place is 422 (serde would read
/// a struct from one, field by position).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Err(Error::validation(
                "",
                "the body must be a JSON object, not an array",
            )),
            Err(e) => Err(Error::BadRequest(format!(
                "the request body is not valid JSON: {e}"
            ))),
        };
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                // The path ends with the offending field, unknown ones included;
                // a missing field is named only in the message.
                let parent = if path == "." { String::new() } else { path };
                let field = match message
                    .strip_prefix("missing field `")
                    .and_then(|r| r.split('`').next())
                {
                    Some(name) if parent.is_empty() => name.to_string(),
                    Some(name) => format!("{parent}.{name}"),
                    None => parent,
                };
                Error::Validation(vec![FieldError::new(field, message)])
            }
            _ => Error::BadRequest(format!("the request body is not valid JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| Error::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn fields(err: Error) -> Vec<FieldError> {
        match err {
            Error::Validation(f) => f,
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(
            parse::<Body>(b"{\"name\":"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            parse::<Body>(b"not json"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            parse::<Body>(b"{\"name\":\"a\"} x"),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn shape_errors_name_the_field() {
        let f = fields(parse::<Body>(b"{\"name\":\"a\",\"nmae\":1}").unwrap_err());
        assert_eq!(f[0].field, "nmae");
        let f = fields(parse::<Body>(b"{\"name\":5}").unwrap_err());
        assert_eq!(f[0].field, "name");
        let f = fields(parse::<Body>(b"{\"name\":\"a\",\"inner\":{\"count\":-1}}").unwrap_err());
        assert_eq!(f[0].field, "inner.count");
        let f = fields(parse::<Body>(b"{}").unwrap_err());
        assert!(f[0].message.contains("missing field `name`"), "{f:?}");
        assert_eq!(f[0].field, "name");
        let f = fields(parse::<Body>(b"{\"name\":\"a\",\"inner\":{}}").unwrap_err());
        assert_eq!(f[0].field, "inner.count");
    }

    #[test]
    fn a_body_is_an_object_not_an_array() {
        let f = fields(parse::<Body>(b" [\"a\", null]").unwrap_err());
        assert!(f[0].message.contains("JSON object"), "{f:?}");
        assert!(matches!(
            parse::<Body>(b"[\"a\","),
            Err(Error::BadRequest(_))
        ));
        assert!(parse::<Body>(b"{\"name\":\"a\"}").is_ok());
    }
}

//! A drafted reply from a model that speaks the `OpenAI` chat-completions
//! protocol with streaming: the prompt (the conversation, the help desk's
//! and the agent's names, the answers of the most similar resolved tickets)
//! is posted with `stream: true`, and the `data:` lines of the answer become
//! pieces of text as they arrive. Provider failures (refused key, rate
//! limits, timeouts, a stream that breaks off) become a `Failure` the agent
//! can read. Nothing is ever sent to the customer from here.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::config::AiConfig;
use crate::error::Error;
use crate::net::{self, Targets};

/// One piece of a drafted reply, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Text to append.
    Delta(String),
    /// The whole reply; the last piece.
    Done(String),
    /// What went wrong; the last piece.
    Failed(Failure),
}

/// A provider failure, for a problem document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status that describes it (502 upstream error, 504 timeout, ...).
    pub status: u16,
    /// The problem type's last part.
    pub slug: &'static str,
    pub detail: String,
}

impl Failure {
    fn new(status: u16, slug: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            slug,
            detail: detail.into(),
        }
    }
}

/// One chat message of the prompt.
#[derive(Debug, Clone)]
pub struct Turn {
    pub role: &'static str,
    pub content: String,
}

/// The model client of the configuration.
pub struct Model {
    config: AiConfig,
    client: reqwest::Client,
}

impl Model {
    /// `None` when no model is configured.
    pub fn new(config: &AiConfig) -> Result<Option<Self>, Error> {
        if !config.enabled() {
            return Ok(None);
        }
        // The operator names this server (often a local one): no private-target guard.
        let client = net::client(Targets::Any, None).map_err(Error::Internal)?;
        Ok(Some(Self {
            config: config.clone(),
            client,
        }))
    }

    pub fn name(&self) -> &str {
        self.config.model.as_deref().unwrap_or_default()
    }

    pub fn include_internal(&self) -> bool {
        self.config.include_internal
    }

    /// Streams the reply to `prompt` into the returned receiver. Dropping the
    /// receiver (the agent stopped it) ends the request to the model.
    pub fn draft(&self, prompt: Vec<Turn>) -> mpsc::Receiver<Piece> {
        let (tx, rx) = mpsc::channel(64);
        let (client, config) = (self.client.clone(), self.config.clone());
        tokio::spawn(async move {
            let last = match stream(&client, &config, prompt, &tx).await {
                Ok(text) => Piece::Done(text),
                Err(failure) => Piece::Failed(failure),
            };
            let _ = tx.send(last).await;
        });
        rx
    }
}

fn endpoint(base: &str) -> String {
    format!("{}/chat/completions", base.trim_end_matches('/'))
}

/// Runs one streamed completion, sending each piece of text to `tx`;
/// returns the whole text.
async fn stream(
    client: &reqwest::Client,
    config: &AiConfig,
    prompt: Vec<Turn>,
    tx: &mpsc::Sender<Piece>,
) -> Result<String, Failure> {
    let wait = Duration::from_secs(config.timeout_secs);
    let messages: Vec<Value> = prompt
        .iter()
        .map(|t| json!({ "role": t.role, "content": t.content }))
        .collect();
    let mut request = client
        .post(endpoint(config.base_url.as_deref().unwrap_or_default()))
        .header("Accept", "text/event-stream")
        .json(&json!({
            "model": config.model,
            "messages": messages,
            "stream": true,
            "max_tokens": config.max_tokens,
        }));
    if let Some(key) = &config.api_key {
        request = request.bearer_auth(key.expose());
    }
    let response = match tokio::time::timeout(wait, request.send()).await {
        Err(_) => return Err(timed_out(config)),
        Ok(Err(e)) => {
            return Err(Failure::new(
                502,
                "ai-unreachable",
                format!("the model server could not be reached: {}", root_cause(&e)),
            ))
        }
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    if !status.is_success() {
        let body = tokio::time::timeout(wait, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        return Err(refused(status.as_u16(), &body));
    }
    let mut body = response.bytes_stream();
    let mut lines = Lines::default();
    let mut text = String::new();
    let mut finished = false;
    loop {
        let chunk = match tokio::time::timeout(wait, body.next()).await {
            Err(_) => return Err(timed_out(config)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(broke_off(&root_cause(&e))),
            Ok(Some(Ok(bytes))) => bytes,
        };
        for line in lines.push(&chunk) {
            match read_line(&line)? {
                Line::Done => return Ok(text),
                Line::Text { delta, finish } => {
                    finished |= finish;
                    if !delta.is_empty() {
                        text.push_str(&delta);
                        if tx.send(Piece::Delta(delta)).await.is_err() {
                            // The agent went away: stop asking the model.
                            return Ok(text);
                        }
                    }
                }
                Line::Other => {}
            }
        }
    }
    if finished {
        Ok(text)
    } else {
        Err(broke_off("the stream ended before the reply was complete"))
    }
}

fn timed_out(config: &AiConfig) -> Failure {
    Failure::new(
        504,
        "ai-timeout",
        format!(
            "the model server sent nothing for {} s (`ai.timeout_secs`)",
            config.timeout_secs
        ),
    )
}

fn broke_off(why: &str) -> Failure {
    Failure::new(
        502,
        "ai-stream-broken",
        format!("the model server broke off the reply: {why}"),
    )
}

/// A non-2xx answer from the provider, with its own message when it sent one.
fn refused(status: u16, body: &str) -> Failure {
    let said = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .map(String::from)
        })
        .map(|m| format!(" ({})", m.chars().take(300).collect::<String>()))
        .unwrap_or_default();
    match status {
        401 | 403 => Failure::new(
            502,
            "ai-unauthorized",
            format!("the model server refused the API key with {status}{said}; check `HELPLINE_AI__API_KEY`"),
        ),
        429 => Failure::new(
            429,
            "ai-rate-limited",
            format!("the model server is rate limiting requests (429){said}; try again shortly"),
        ),
        404 => Failure::new(
            502,
            "ai-model-not-found",
            format!("the model server answered 404{said}; check `ai.base_url` and `ai.model`"),
        ),
        _ => Failure::new(
            502,
            "ai-upstream-error",
            format!("the model server answered {status}{said}"),
        ),
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        last = cause.to_string();
        source = cause.source();
    }
    last
}

/// Splits a byte stream into lines, across chunk boundaries.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(at) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=at).collect();
            let text = String::from_utf8_lossy(&line);
            out.push(text.trim_end_matches(['\n', '\r']).to_string());
        }
        out
    }
}

enum Line {
    Text { delta: String, finish: bool },
    Done,
    Other,
}

/// Reads one line of the event stream: a `data:` line holds a chunk (or
/// `[DONE]`); an error object in it is the provider's failure mid-stream.
fn read_line(line: &str) -> Result<Line, Failure> {
    let Some(data) = line.strip_prefix("data:") else {
        return Ok(Line::Other);
    };
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Line::Done);
    }
    let Ok(value) = serde_json::from_str::<Value>(data) else {
        return Ok(Line::Other);
    };
    if value.get("error").is_some() {
        return Err(refused(502, data));
    }
    let choice = &value["choices"][0];
    Ok(Line::Text {
        delta: choice["delta"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        finish: choice["finish_reason"].is_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_chunks() {
        let mut lines = Lines::default();
        assert!(lines.push(b"data: {\"a\"").is_empty());
        assert_eq!(lines.push(b":1}\r\n\r\ndata: [DO"), ["data: {\"a\":1}", ""]);
        assert_eq!(lines.push(b"NE]\n"), ["data: [DONE]"]);
    }

    #[test]
    fn chunks_give_their_delta_and_finish() {
        let line =
            r#"data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#;
        assert!(
            matches!(read_line(line), Ok(Line::Text { ref delta, finish: false }) if delta == "Hi")
        );
        let end = r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        assert!(matches!(
            read_line(end),
            Ok(Line::Text { finish: true, .. })
        ));
        assert!(matches!(read_line("data: [DONE]"), Ok(Line::Done)));
        assert!(matches!(read_line(": keep-alive"), Ok(Line::Other)));
    }

    #[test]
    fn provider_errors_say_what_to_check() {
        let f = refused(401, r#"{"error":{"message":"Invalid API key"}}"#);
        assert_eq!(f.slug, "ai-unauthorized");
        assert!(f.detail.contains("Invalid API key") && f.detail.contains("HELPLINE_AI__API_KEY"));
        assert_eq!(refused(429, "").status, 429);
    }
}

//! Outgoing integrations: webhooks (`[webhooks]`) and the model that drafts
//! suggested replies (`[ai]`).

use serde::{Deserialize, Serialize};

use super::Secret;

/// Delivery of webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allow targets on loopback, link-local and private networks (off: such
    /// URLs are refused, also when a name resolves to one at send time).
    pub allow_private: bool,
    /// Seconds one delivery may take, connecting included.
    pub timeout_secs: u64,
    /// Delivery attempts before a delivery is `dead`.
    pub max_attempts: u32,
    /// Delay before the first retry; each further retry waits twice as long (plus jitter).
    pub retry_base_secs: u64,
    /// How long a worker may hold a delivery it is sending before another takes it.
    pub lease_secs: u64,
    /// Days the delivery log keeps sent and dead deliveries.
    pub keep_days: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout_secs: 10,
            max_attempts: 8,
            retry_base_secs: 30,
            lease_secs: 120,
            keep_days: 30,
        }
    }
}

/// A model that speaks the `OpenAI` chat-completions protocol with streaming
/// (`OpenAI`, Groq, a local Ollama or llama.cpp server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiConfig {
    /// The API root, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:11434/v1`; without it and `model`, AI is off.
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Sent as a bearer token; set it through `HELPLINE_AI__API_KEY`.
    pub api_key: Option<Secret>,
    /// Seconds to wait for the model's first words and between pieces.
    pub timeout_secs: u64,
    pub max_tokens: u32,
    /// Send the team's internal notes to the model too.
    pub include_internal: bool,
    /// Drafts one agent may ask for per hour (0: no limit).
    pub per_agent_per_hour: u32,
}

impl Default for AiConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key: None,
            timeout_secs: 60,
            max_tokens: 800,
            include_internal: false,
            per_agent_per_hour: 60,
        }
    }
}

impl AiConfig {
    /// Whether a model is configured.
    pub fn enabled(&self) -> bool {
        self.base_url.is_some() && self.model.is_some()
    }

    pub(super) fn check(&self, bad: &mut impl FnMut(&str, String)) {
        if let Some(url) = &self.base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bad("ai.base_url", "must be an http or https URL".into());
            }
            if self.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
                bad("ai.model", "must be set when `ai.base_url` is".into());
            }
        }
        if !(1..=600).contains(&self.timeout_secs) {
            bad("ai.timeout_secs", "must be between 1 and 600".into());
        }
        if !(16..=32_000).contains(&self.max_tokens) {
            bad("ai.max_tokens", "must be between 16 and 32000".into());
        }
    }
}

impl WebhooksConfig {
    pub(super) fn check(&self, bad: &mut impl FnMut(&str, String)) {
        if !(1..=120).contains(&self.timeout_secs) {
            bad("webhooks.timeout_secs", "must be between 1 and 120".into());
        }
        if !(1..=50).contains(&self.max_attempts) {
            bad("webhooks.max_attempts", "must be between 1 and 50".into());
        }
        if self.retry_base_secs == 0 {
            bad("webhooks.retry_base_secs", "must be at least 1".into());
        }
        if self.lease_secs <= self.timeout_secs {
            bad(
                "webhooks.lease_secs",
                "must be longer than `webhooks.timeout_secs`".into(),
            );
        }
        if self.keep_days == 0 {
            bad("webhooks.keep_days", "must be at least 1".into());
        }
    }
}

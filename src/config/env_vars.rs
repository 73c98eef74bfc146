//! `HELPLINE_*` environment variables as a configuration source.

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::ENV_PREFIX;

/// `HELPLINE_*` variables as a figment provider; `__` separates nested keys
/// (`HELPLINE_SMTP__HOST` is `smtp.host`). Errors name the variable.
pub(super) struct EnvVars {
    vars: Vec<(String, String)>,
}

/// Variables with our prefix that are not configuration keys.
const NON_KEY_VARS: &[&str] = &["config"];

impl EnvVars {
    pub(super) fn new(env: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = env
            .into_iter()
            .filter_map(|(name, value)| {
                let key = name.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
                (!key.is_empty() && !NON_KEY_VARS.contains(&key.as_str()))
                    .then(|| (key.replace("__", "."), value))
            })
            .collect();
        Self { vars }
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_profile, keys| {
            format!("{ENV_PREFIX}{}", keys.join("__").to_ascii_uppercase())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (key, raw) in &self.vars {
            let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.clone()));
            // Strings that look like numbers stay strings where a string is wanted;
            // figment converts between the two on extraction.
            insert_nested(&mut root, key, value);
        }
        Ok(Profile::Default.collect(root))
    }
}

fn insert_nested(dict: &mut Dict, dotted: &str, value: Value) {
    match dotted.split_once('.') {
        None => {
            dict.insert(dotted.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_nested(inner, rest, value);
            } else {
                let mut inner = Dict::new();
                insert_nested(&mut inner, rest, value);
                *entry = Value::from(inner);
            }
        }
    }
}

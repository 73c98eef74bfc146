//! Validation: values that parse but make no sense, each message naming its key.

use rocket::data::ByteUnit;

use super::Config;
use crate::error::Error;

impl Config {
    /// Checks values that parse but make no sense; each message names the key.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, msg: String| problems.push(format!("`{key}`: {msg}"));

        if self.data_dir.as_os_str().is_empty() {
            bad("data_dir", "must not be empty".into());
        }
        if let Some(url) = &self.base_url {
            if let Err(msg) = check_base_url(url) {
                bad("base_url", msg);
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            bad(
                "log",
                format!(
                    "`{}` is not a log filter ({e}); try `info` or `helpline=debug`",
                    self.log
                ),
            );
        }
        if self.body_limit < ByteUnit::Kibibyte(1) || self.body_limit > ByteUnit::Mebibyte(256) {
            bad("body_limit", "must be between 1KiB and 256MiB".into());
        }
        self.check_attachments(&mut bad);
        self.check_mailboxes(&mut bad);
        for origin in &self.cors_origins {
            if let Err(msg) = check_origin(origin) {
                bad("cors_origins", msg);
            }
        }
        self.check_smtp(&mut bad);
        self.webhooks.check(&mut bad);
        self.ai.check(&mut bad);
        if let Some(secret) = &self.jwt_secret {
            if secret.expose().len() < 32 {
                bad("jwt_secret", "must be at least 32 characters long".into());
            }
        }
        if let Some(secret) = &self.inbound_secret {
            if secret.expose().len() < 16 {
                bad(
                    "inbound_secret",
                    "must be at least 16 characters long".into(),
                );
            }
        }
        if !(60..=86_400).contains(&self.access_token_ttl_secs) {
            bad(
                "access_token_ttl_secs",
                "must be between 60 and 86400".into(),
            );
        }
        if self.refresh_token_ttl_secs <= self.access_token_ttl_secs
            || self.refresh_token_ttl_secs > 365 * 86_400
        {
            bad(
                "refresh_token_ttl_secs",
                "must be longer than access_token_ttl_secs and at most 31536000 (a year)".into(),
            );
        }
        if let Some(header) = &self.ip_header {
            let valid = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !valid {
                bad(
                    "ip_header",
                    format!("`{header}` is not a header name like X-Real-IP"),
                );
            }
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            bad("bcrypt_cost", "must be between 4 and 31".into());
        }
        if !(1..=64).contains(&self.database.read_pool_size) {
            bad("database.read_pool_size", "must be between 1 and 64".into());
        }
        if self.database.busy_timeout_ms > 60_000 {
            bad("database.busy_timeout_ms", "must be at most 60000".into());
        }
        self.check_realtime(&mut bad);
        if self.shutdown_grace_secs > 300 {
            bad("shutdown_grace_secs", "must be at most 300".into());
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "invalid configuration: {}",
                problems.join("; ")
            )))
        }
    }

    fn check_realtime(&self, bad: &mut impl FnMut(&str, String)) {
        let rt = &self.realtime;
        if !(1..=100_000).contains(&rt.max_connections) {
            bad(
                "realtime.max_connections",
                "must be between 1 and 100000".into(),
            );
        }
        if rt.max_connections_per_user == 0 || rt.max_connections_per_user > rt.max_connections {
            bad(
                "realtime.max_connections_per_user",
                "must be between 1 and realtime.max_connections".into(),
            );
        }
        if !(10..=1_000_000).contains(&rt.backlog) {
            bad("realtime.backlog", "must be between 10 and 1000000".into());
        }
        if !(1..=300).contains(&rt.heartbeat_secs) {
            bad(
                "realtime.heartbeat_secs",
                "must be between 1 and 300".into(),
            );
        }
        if !(1024..=16 * 1024 * 1024).contains(&rt.max_frame_bytes) {
            bad(
                "realtime.max_frame_bytes",
                "must be between 1024 and 16777216".into(),
            );
        }
    }

    fn check_mailboxes(&self, bad: &mut impl FnMut(&str, String)) {
        let mut names = std::collections::HashSet::new();
        for (i, mailbox) in self.mailboxes.iter().enumerate() {
            for (key, message) in mailbox.problems(i) {
                bad(&key, message);
            }
            if !names.insert(mailbox.name.as_str()) {
                bad(
                    &format!("mailboxes[{i}].name"),
                    format!("`{}` is used twice", mailbox.name),
                );
            }
        }
    }

    fn check_attachments(&self, bad: &mut impl FnMut(&str, String)) {
        let files = &self.attachments;
        if files.max_file_bytes < ByteUnit::Kibibyte(1)
            || files.max_file_bytes > ByteUnit::Mebibyte(256)
        {
            bad(
                "attachments.max_file_bytes",
                "must be between 1KiB and 256MiB".into(),
            );
        }
        // Inbound mail is read whole: 4/3 of this (base64) per message.
        if files.max_message_bytes < files.max_file_bytes
            || files.max_message_bytes > ByteUnit::Mebibyte(256)
        {
            bad(
                "attachments.max_message_bytes",
                "must be at least attachments.max_file_bytes and at most 256MiB".into(),
            );
        }
        if files.max_mail_bytes > ByteUnit::Mebibyte(100) {
            bad(
                "attachments.max_mail_bytes",
                "must be at most 100MiB".into(),
            );
        }
    }

    fn check_smtp(&self, bad: &mut impl FnMut(&str, String)) {
        if let Some(host) = &self.smtp.host {
            if host.trim().is_empty() || host.contains(char::is_whitespace) {
                bad("smtp.host", format!("`{host}` is not a host name"));
            }
            if self.smtp.port == Some(0) {
                bad("smtp.port", "must be between 1 and 65535".into());
            }
            if self.smtp.password.is_some() && self.smtp.username.is_none() {
                bad(
                    "smtp.username",
                    "is required when smtp.password is set".into(),
                );
            }
        }
        if !self.smtp.from.contains('@') {
            bad(
                "smtp.from",
                format!(
                    "`{}` is not an address like `Support <support@example.com>`",
                    self.smtp.from
                ),
            );
        }
        if self.smtp.timeout_secs == 0 || self.smtp.timeout_secs > 600 {
            bad("smtp.timeout_secs", "must be between 1 and 600".into());
        }
        if let Some(reply) = &self.mail.reply_address {
            let ok = reply.contains("{token}")
                && reply
                    .rsplit_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                && !reply.contains(char::is_whitespace);
            if !ok {
                bad(
                    "mail.reply_address",
                    format!("`{reply}` must be an address with `{{token}}` in it, like support+{{token}}@example.com"),
                );
            }
        }
        if let Some(dir) = &self.mail.templates_dir {
            if !dir.is_dir() {
                bad(
                    "mail.templates_dir",
                    format!("{} is not a directory", dir.display()),
                );
            }
        }
        if !(1..=100).contains(&self.mail.max_attempts) {
            bad("mail.max_attempts", "must be between 1 and 100".into());
        }
        if !(1..=86_400).contains(&self.mail.retry_base_secs) {
            bad("mail.retry_base_secs", "must be between 1 and 86400".into());
        }
        // One send may take up to three times the SMTP timeout (connect, talk, data).
        if self.mail.lease_secs <= 3 * self.smtp.timeout_secs || self.mail.lease_secs > 86_400 {
            bad(
                "mail.lease_secs",
                "must be longer than 3 × smtp.timeout_secs and at most 86400".into(),
            );
        }
    }
}

fn check_base_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(format!("`{url}` has no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!("`{url}` must not contain a query or fragment"));
    }
    Ok(())
}

fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    check_base_url(origin)?;
    let rest = origin.split_once("://").map_or("", |(_, rest)| rest);
    if rest.contains('/') {
        return Err(format!(
            "`{origin}` is not an origin (scheme://host[:port] with no path)"
        ));
    }
    Ok(())
}

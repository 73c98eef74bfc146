//! What only a command line does: install the logger, wait for signals.

use std::borrow::Cow;
use std::io::IsTerminal as _;

use tracing_subscriber::field::MakeExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{filter, fmt, EnvFilter, Layer as _};

use crate::config::{Config, LogFormat};

pub(super) fn init_logging(config: &Config) {
    // Rocket's own lines repeat what our request log and errors already say;
    // they stay available by naming `rocket` in the filter.
    let directives = if config.log.contains("rocket") {
        config.log.clone()
    } else {
        format!("{},rocket=off", config.log)
    };
    let filter =
        EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info,rocket=off"));
    let output = match config.log_format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => fmt::layer()
            .compact()
            .with_ansi(std::io::stderr().is_terminal())
            .fmt_fields(escaping_fields())
            .with_writer(std::io::stderr)
            .boxed(),
    };
    // Rocket's generated route code logs every refused request guard at WARN
    // (target `<module>::_`): a client's mistake, which the request line
    // already records with its status.
    let not_route_codegen = filter::filter_fn(|meta| !meta.target().ends_with("::_"));
    // The IMAP client traces every command it sends (LOGIN with the
    // password) and every mail it reads: never, whatever the filter says.
    let not_imap_traffic = filter::filter_fn(|meta| {
        !meta.target().starts_with("async_imap") || *meta.level() <= tracing::Level::INFO
    });
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(
            output
                .with_filter(not_route_codegen)
                .with_filter(not_imap_traffic),
        )
        .try_init();
    if let Err(e) = result {
        eprintln!("helpline: logging could not be set up: {e}");
    }
}

/// Formats fields as `name=value` with control characters escaped, so that
/// no logged value (an email typed at sign-in, a mail subject) can write
/// terminal escapes or fake lines into the operator's log.
fn escaping_fields() -> impl for<'w> fmt::FormatFields<'w> {
    fmt::format::debug_fn(|writer, field, value| {
        let text = format!("{value:?}");
        let text = escape_controls(&text);
        if field.name() == "message" {
            write!(writer, "{text}")
        } else {
            write!(writer, "{field}={text}")
        }
    })
    .delimited(" ")
}

/// `text` with every control character (ESC, CR, LF, C1 controls, ...)
/// written as a `\u{..}` escape.
fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Completes on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("plain@example.com"), "plain@example.com");
        assert_eq!(
            escape_controls("a\u{1b}[31mb\rc\nd\u{9b}e"),
            "a\\u{1b}[31mb\\u{d}c\\u{a}d\\u{9b}e"
        );
    }
}

//! `helpline mail`: file a message from an MTA pipe, send a test message.

use std::path::PathBuf;
use std::process::ExitCode;

use super::runtime;
use crate::config::{Config, Overrides};
use crate::{App, Error};

/// sysexits codes an MTA understands: bounce the message, or keep it and retry.
pub(super) const EX_DATAERR: u8 = 65;
pub(super) const EX_TEMPFAIL: u8 = 75;

pub(super) fn mail_test(config: Config, to: &str) -> Result<(), Error> {
    runtime()?.block_on(async {
        let app = App::builder().config(config).build()?;
        let delivery = &app.state().delivery;
        let transport = delivery.mailer().describe();
        match delivery.send_test(to).await {
            Ok(()) => {
                println!("test message sent to {to} through {transport}");
                Ok(())
            }
            Err(e) => Err(Error::Unavailable(format!(
                "sending to {to} through {transport} failed: {}",
                e.hint
            ))),
        }
    })
}

/// Connects to every mailbox and the SMTP server; one line each.
pub(super) fn mail_check(config: Config) -> Result<(), Error> {
    runtime()?.block_on(async {
        let mut failed = 0;
        for mailbox in &config.mailboxes {
            let what = format!(
                "mailbox {} ({}:{} {})",
                mailbox.name,
                mailbox.host,
                mailbox.port(),
                mailbox.folder
            );
            match crate::mail::imap::open(mailbox).await {
                Ok(mut opened) => {
                    let _ = opened.session.logout().await;
                    let idle = if opened.idle { "IDLE" } else { "no IDLE: polls" };
                    println!("ok   {what}: signed in, {idle}");
                }
                Err(hint) => {
                    failed += 1;
                    println!("FAIL {what}: {hint}");
                }
            }
        }
        let mailer = crate::mail::from_config(&config)?;
        let transport = mailer.describe();
        match mailer.check().await {
            Ok(()) => println!("ok   outgoing mail ({transport})"),
            Err(hint) => {
                failed += 1;
                println!("FAIL outgoing mail ({transport}): {hint}");
            }
        }
        if config.mailboxes.is_empty() {
            println!("     no [[mailboxes]] configured: mail comes in through `mail ingest` or the webhook");
        }
        if failed == 0 {
            Ok(())
        } else {
            Err(Error::Unavailable(format!("{failed} of the checks failed")))
        }
    })
}

/// Files the message on stdin. Anything but a bad message asks the MTA to
/// keep it and retry, so no mail is lost to a passing problem.
pub(super) fn mail_ingest(file: Option<&std::path::Path>, data_dir: Option<PathBuf>) -> ExitCode {
    use std::io::Read as _;
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut raw) {
        eprintln!("helpline: reading the message from standard input: {e}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    let outcome = Config::from_env(
        file,
        &Overrides {
            listen: None,
            data_dir,
        },
    )
    .and_then(|config| {
        runtime()?.block_on(async {
            let app = App::builder()
                .config(config)
                .background_delivery(false)
                .build()?;
            let state = app.state();
            let max_file = state.config.attachments.max_file_bytes.as_u64();
            crate::mail::inbound::receive(
                &state.db,
                &state.keys,
                &state.delivery,
                raw,
                (None, max_file),
            )
            .await
        })
    });
    match outcome {
        Ok(receipt) => {
            println!(
                "{}",
                serde_json::to_string(&receipt).unwrap_or_else(|_| "{}".into())
            );
            ExitCode::SUCCESS
        }
        Err(Error::Validation(errors)) => {
            for error in errors {
                eprintln!("helpline: {}: {}", error.field, error.message);
            }
            ExitCode::from(EX_DATAERR)
        }
        Err(e) => {
            eprintln!("helpline: {e}; the message was not filed, try again later");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

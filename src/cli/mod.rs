//! The `helpline` command: each subcommand calls the library. Used by the
//! binary; the one place that installs a logger and listens for signals.

mod args;
mod mail;
mod process;
mod users;

use std::process::ExitCode;

pub use args::{Cli, Command, MailCommand, UserCommand};
use mail::{mail_check, mail_ingest, mail_test};
use process::{init_logging, shutdown_signal};
use users::{run_demo, run_user_command};

use crate::config::{Config, Overrides};
use crate::users::provision::Provisioning;
use crate::{App, Error};

/// Runs the parsed command line and tells the exit code.
pub fn run(cli: Cli) -> ExitCode {
    if let Some(Command::Mail(MailCommand::Ingest)) = &cli.command {
        return mail_ingest(cli.config.as_deref(), cli.data_dir);
    }
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Validation(errors)) => {
            for error in errors {
                eprintln!("helpline: {}: {}", error.field, error.message);
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("helpline: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), Error> {
    let command = cli.command.unwrap_or(Command::Serve { listen: None });
    let mut overrides = Overrides {
        listen: None,
        data_dir: cli.data_dir,
    };
    match command {
        Command::Version => {
            println!("helpline {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Config { example: true, .. } => {
            print!("{}", crate::config::EXAMPLE);
            Ok(())
        }
        Command::Config { show, .. } => {
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            if show {
                let text = serde_json::to_string_pretty(&config)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                println!("{text}");
            } else {
                println!("configuration is valid (use --show to print it, --example for a documented file)");
            }
            Ok(())
        }
        Command::Migrate => {
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            init_logging(&config);
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| Error::io(format!("creating {}", config.data_dir.display()), e))?;
            let path = config.database_path();
            let report = crate::db::migrate::migrate_file(&path, &config.database)?;
            if report.from_version == report.to_version {
                println!(
                    "{}: schema version {}, nothing to do",
                    path.display(),
                    report.to_version
                );
            } else {
                println!(
                    "{}: migrated from schema version {} to {}",
                    path.display(),
                    report.from_version,
                    report.to_version
                );
            }
            Ok(())
        }
        Command::Backup { file } => {
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            crate::db::backup_database(&config.database_path(), &file)?;
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::Demo {
            tickets,
            seed,
            force,
        } => {
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            run_demo(
                &config,
                crate::demo::DemoOptions {
                    tickets,
                    seed,
                    force,
                },
            )
        }
        Command::Mail(MailCommand::Test { to }) => {
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            mail_test(config, &to)
        }
        Command::Mail(MailCommand::Ingest) => unreachable!("handled in run"),
        Command::Mail(MailCommand::Check) => {
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            mail_check(config)
        }
        Command::User(command) => {
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            let provisioning = Provisioning::open(config)?;
            run_user_command(&provisioning, command)
        }
        Command::Serve { listen } => {
            overrides.listen = listen;
            let config = Config::from_env(cli.config.as_deref(), &overrides)?;
            init_logging(&config);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .thread_name("rocket-worker-thread")
                .enable_all()
                .build()
                .map_err(|e| Error::io("starting the async runtime", e))?;
            runtime.block_on(async {
                let app = App::builder().config(config).build()?;
                app.serve(shutdown_signal()).await
            })
        }
    }
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))
}

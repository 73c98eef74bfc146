//! The `helpline` command line: serve, migrate, backup, config, version.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use helpline::config::{LogFormat, Overrides};
use std::io::IsTerminal as _;

use helpline::users::provision::Provisioning;
use helpline::users::Role;
use helpline::{App, Config, Error};

#[derive(Parser)]
#[command(name = "helpline", version, about = "A help desk in one binary.")]
struct Cli {
    /// Configuration file (default: ./helpline.toml when it exists).
    #[arg(long, global = true, env = "HELPLINE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (database, generated key, mail files).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default command).
    Serve {
        /// Address and port to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Write a consistent copy of the database to FILE, even while the server runs.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
    },
    /// Configuration helpers.
    Config {
        /// Print the documented example configuration.
        #[arg(long)]
        example: bool,
        /// Print the effective configuration (secrets hidden) after checking it.
        #[arg(long, conflicts_with = "example")]
        show: bool,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Fill the database with generated users, tickets and conversations.
    Demo {
        /// How many tickets to generate.
        #[arg(long, default_value_t = 1000)]
        tickets: u64,
        /// Seed of the generator: the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Add demo data even when the database already holds tickets.
        #[arg(long)]
        force: bool,
    },
    /// Email helpers.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum MailCommand {
    /// Read one RFC 5322 message on standard input and file it (for an MTA
    /// pipe). Exit 0 when filed or ignored, 65 when the input is not a mail
    /// message, 75 (try again later) when the database is busy or unavailable.
    Ingest,
    /// Send a test message now and report the outcome.
    Test {
        /// Recipient of the test message.
        #[arg(long, value_name = "ADDRESS")]
        to: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is prompted for, read with
    /// --password-stdin, or, when neither is possible, set through an invite link.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "agent", "customer"])]
        role: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a password reset link for EMAIL, or set a new password read
    /// from standard input with --password-stdin. Every session of the user ends.
    ResetPassword {
        email: String,
        /// Read the new password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// sysexits codes an MTA understands: bounce the message, or keep it and retry.
const EX_DATAERR: u8 = 65;
const EX_TEMPFAIL: u8 = 75;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Mail(MailCommand::Ingest)) = &cli.command {
        return mail_ingest(cli.config.as_deref(), cli.data_dir);
    }
    match run(cli) {
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

fn run(cli: Cli) -> Result<(), Error> {
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
            print!("{}", helpline::config::EXAMPLE);
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
            let report = helpline::db::migrate::migrate_file(&path, &config.database)?;
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
            helpline::db::backup_database(&config.database_path(), &file)?;
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
                helpline::demo::DemoOptions {
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
        Command::Mail(MailCommand::Ingest) => unreachable!("handled in main"),
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

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))
}

fn mail_test(config: Config, to: &str) -> Result<(), Error> {
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

/// Files the message on stdin. Anything but a bad message asks the MTA to
/// keep it and retry, so no mail is lost to a passing problem.
fn mail_ingest(file: Option<&std::path::Path>, data_dir: Option<PathBuf>) -> ExitCode {
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
            helpline::mail::inbound::receive(app.state(), raw, None).await
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

fn run_demo(config: &Config, options: helpline::demo::DemoOptions) -> Result<(), Error> {
    let seed = options.seed;
    let report = helpline::demo::fill(config, &options, |done, total| {
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        let filled = usize::try_from(percent / 4).unwrap_or(25);
        eprint!(
            "\r[{}{}] {done}/{total} tickets",
            "#".repeat(filled),
            " ".repeat(25 - filled)
        );
    })?;
    eprintln!();
    let secs = report.elapsed.as_secs_f64().max(0.001);
    let rate = u32::try_from(report.tickets).map_or(f64::MAX, f64::from) / secs;
    println!(
        "generated {} users, {} tickets and {} messages in {secs:.1} s ({rate:.0} tickets/s)",
        report.users, report.tickets, report.messages
    );
    println!(
        "sign in as admin-{seed}@demo.example (or agent0-{seed}@demo.example, customer0-{seed}@demo.example) \
         with the password \"{}\"",
        helpline::demo::DEMO_PASSWORD
    );
    Ok(())
}

fn run_user_command(provisioning: &Provisioning, command: UserCommand) -> Result<(), Error> {
    match command {
        UserCommand::Create {
            email,
            role,
            name,
            password_stdin,
        } => {
            let role =
                Role::parse(&role).ok_or_else(|| Error::Config(format!("unknown role {role}")))?;
            let password = if password_stdin {
                Some(read_stdin_password()?)
            } else if std::io::stdin().is_terminal() {
                Some(prompt_new_password()?)
            } else {
                None
            };
            let (user, invite) =
                provisioning.create_user(&email, name.as_deref(), role, password.as_deref())?;
            println!(
                "created {} {} (id {})",
                user.role.as_str(),
                user.email,
                user.id
            );
            if let Some(link) = invite {
                println!("no password was set; send this invite link (valid 7 days):\n{link}");
            }
            Ok(())
        }
        UserCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            let password = password_stdin.then(read_stdin_password).transpose()?;
            match provisioning.reset_password(&email, password.as_deref())? {
                Some(link) => println!("password reset link (valid 1 hour):\n{link}"),
                None => println!(
                    "password changed for {}; every session of the user has ended",
                    email.trim()
                ),
            }
            Ok(())
        }
    }
}

fn read_stdin_password() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::io("reading the password from standard input", e))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Error::Config("no password on standard input".into()));
    }
    Ok(password.to_string())
}

fn prompt_new_password() -> Result<String, Error> {
    let first = rpassword::prompt_password("Password (10 characters or more): ")
        .map_err(|e| Error::io("reading the password", e))?;
    let second = rpassword::prompt_password("Repeat the password: ")
        .map_err(|e| Error::io("reading the password", e))?;
    if first != second {
        return Err(Error::Config(
            "the passwords differ; nothing was created".into(),
        ));
    }
    Ok(first)
}

fn init_logging(config: &Config) {
    // Rocket's own lines repeat what our request log and errors already say;
    // they stay available by naming `rocket` in the filter.
    let directives = if config.log.contains("rocket") {
        config.log.clone()
    } else {
        format!("{},rocket=off", config.log)
    };
    let filter = tracing_subscriber::EnvFilter::try_new(directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rocket=off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    if let Err(e) = result {
        eprintln!("helpline: logging could not be set up: {e}");
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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

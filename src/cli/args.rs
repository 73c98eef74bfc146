//! The command line's arguments (clap): `serve`, `migrate`, `backup`, `config`,
//! `user`, `demo`, `mail`, `version`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "helpline", version, about = "A help desk in one binary.")]
pub struct Cli {
    /// Configuration file (default: ./helpline.toml when it exists).
    #[arg(long, global = true, env = "HELPLINE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (database, generated key, mail files).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
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
pub enum MailCommand {
    /// Read one RFC 5322 message on standard input and file it (for an MTA
    /// pipe). Exit 0 when filed or ignored, 65 when the input is not a mail
    /// message, 75 (try again later) when the database is busy or unavailable.
    Ingest,
    /// Connect to every configured IMAP mailbox and the SMTP server and
    /// report each on a line; exit 0 only when all of them work.
    Check,
    /// Send a test message now and report the outcome.
    Test {
        /// Recipient of the test message.
        #[arg(long, value_name = "ADDRESS")]
        to: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
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

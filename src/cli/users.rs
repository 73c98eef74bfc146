//! `helpline user` and `helpline demo`: accounts and demo data from the shell.

use std::io::IsTerminal as _;

use super::UserCommand;
use crate::actor::Role;
use crate::config::Config;
use crate::users::provision::Provisioning;
use crate::Error;

pub(super) fn run_demo(config: &Config, options: crate::demo::DemoOptions) -> Result<(), Error> {
    let seed = options.seed;
    let report = crate::demo::fill(config, &options, |done, total| {
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
        crate::demo::DEMO_PASSWORD
    );
    Ok(())
}

pub(super) fn run_user_command(
    provisioning: &Provisioning,
    command: UserCommand,
) -> Result<(), Error> {
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

pub(super) fn read_stdin_password() -> Result<String, Error> {
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

pub(super) fn prompt_new_password() -> Result<String, Error> {
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

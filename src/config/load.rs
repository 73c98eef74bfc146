//! Loading: defaults, then the file, then `HELPLINE_*` variables, then the
//! command line; the result is validated before anyone sees it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;

use super::env_vars::EnvVars;
use super::{Config, DEFAULT_FILE};
use crate::error::Error;

/// Values given on the command line; they win over every other source.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration the way the binary does: the given file (or
    /// `helpline.toml` in the working directory when it exists), then the
    /// process environment, then `overrides`. Then validates it.
    #[allow(clippy::disallowed_methods)] // the one place that reads the environment
    pub fn from_env(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Error> {
        Self::load(file, std::env::vars(), overrides)
    }

    /// Same as [`Config::from_env`] with the environment given explicitly.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, Error> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::Config(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        figment = figment.merge(EnvVars::new(env.iter().cloned()));
        if let Some(listen) = overrides.listen {
            figment = figment.merge(("listen", listen.to_string()));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(("data_dir", dir));
        }
        let mut config: Config = figment.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            Error::Config(messages.join("; "))
        })?;
        // Mailbox passwords may live in variables the mailbox names.
        for mailbox in &mut config.mailboxes {
            if let Some(var) = &mailbox.password_env {
                mailbox.password_from_env = env
                    .iter()
                    .find(|(name, _)| name == var)
                    .map(|(_, value)| super::Secret::new(value.clone()));
            }
        }
        config.validate()?;
        Ok(config)
    }
}

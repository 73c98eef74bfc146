//! Creating users and setting passwords from the command line, beside or
//! without a running server (the database allows it).

use super::repo::{self, NewUser};
use super::{check_password, normalize_email, normalize_name, Role, User};
use crate::audit::{self, ActorRef, Target};
use crate::auth::tokens::{self, audience};
use crate::auth::JwtKeys;
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, FieldError};

pub struct Provisioning {
    db: Db,
    keys: JwtKeys,
    config: Config,
}

impl Provisioning {
    pub fn open(config: Config) -> Result<Self, Error> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| Error::io(format!("creating {}", config.data_dir.display()), e))?;
        let db = Db::open(&config.database_path(), &config.database)?;
        let keys = JwtKeys::load(config.jwt_secret.as_ref(), &config.data_dir)?;
        Ok(Self { db, keys, config })
    }

    fn link(
        &self,
        page: &str,
        aud: &str,
        user: &super::UserRecord,
        ttl: u64,
    ) -> Result<String, Error> {
        let token = tokens::issue_purpose(
            &self.keys,
            aud,
            &user.user.id.to_string(),
            user.token_version,
            ttl,
        )?;
        Ok(format!("{}/{page}#token={token}", self.config.public_url()))
    }

    /// Creates a user; without a password, returns an invite link to pass on.
    pub fn create_user(
        &self,
        email: &str,
        name: Option<&str>,
        role: Role,
        password: Option<&str>,
    ) -> Result<(User, Option<String>), Error> {
        let mut errors: Vec<FieldError> = Vec::new();
        let email = normalize_email(email).map_err(|e| errors.push(e)).ok();
        let default_name = email
            .as_ref()
            .and_then(|(e, _)| e.split('@').next())
            .unwrap_or_default()
            .to_string();
        let name = normalize_name(name.unwrap_or(&default_name))
            .map_err(|e| errors.push(e))
            .ok();
        if let Some(password) = password {
            if let Err(e) = check_password("password", password) {
                errors.push(e);
            }
        }
        let (Some((email, key)), Some(name), true) = (email, name, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        let hash = password
            .map(|p| bcrypt::hash(p, self.config.bcrypt_cost))
            .transpose()
            .map_err(|e| Error::Internal(format!("hashing the password: {e}")))?;
        let user = self.db.write_now(|tx| {
            let user = repo::insert(
                tx,
                &NewUser { email: &email, email_key: &key, name: &name, role, password_hash: hash.as_deref() },
            )?;
            audit::record(
                tx,
                &ActorRef::SYSTEM,
                "user.created",
                Some(Target { kind: "user", id: user.user.id.0 }),
                None,
                &serde_json::json!({ "email": user.user.email, "role": role.as_str(), "via": "cli" }),
            )?;
            if user.password_hash.is_none() {
                repo::mark_invited(tx, user.user.id)?;
                return repo::get(tx, user.user.id)?.ok_or(Error::NotFound("user"));
            }
            Ok(user)
        })?;
        let invite = if user.password_hash.is_none() {
            Some(self.link(
                "accept-invite",
                audience::INVITE,
                &user,
                tokens::INVITE_TTL_SECS,
            )?)
        } else {
            None
        };
        Ok((user.user, invite))
    }

    /// Sets a new password (ending every session), or without one returns a reset link.
    pub fn reset_password(
        &self,
        email: &str,
        password: Option<&str>,
    ) -> Result<Option<String>, Error> {
        let key = email.trim().to_lowercase();
        let user = self
            .db
            .read_now(|conn| repo::get_by_email(conn, &key))?
            .ok_or_else(|| Error::Config(format!("no user with the email {}", email.trim())))?;
        let Some(password) = password else {
            return self
                .link(
                    "reset-password",
                    audience::PASSWORD_RESET,
                    &user,
                    tokens::PASSWORD_RESET_TTL_SECS,
                )
                .map(Some);
        };
        check_password("password", password).map_err(|e| Error::Validation(vec![e]))?;
        let hash = bcrypt::hash(password, self.config.bcrypt_cost)
            .map_err(|e| Error::Internal(format!("hashing the password: {e}")))?;
        let id = user.user.id;
        self.db.write_now(|tx| {
            repo::set_password(tx, id, &hash)?;
            // Open streams and chats in a running server end within a second.
            super::sessions::ended(tx, id)?;
            audit::record(
                tx,
                &ActorRef::SYSTEM,
                "user.password_reset",
                Some(Target {
                    kind: "user",
                    id: id.0,
                }),
                None,
                &serde_json::json!({ "via": "cli" }),
            )
        })?;
        Ok(None)
    }
}

//! Users and roles: the rules (validation, who may change what) and their storage.

pub mod account;
pub mod manage;
pub mod provision;
pub mod registration;
pub mod repo;
pub mod sessions;

pub use account::Accounts;

pub use crate::actor::{Role, User};
use crate::error::FieldError;
pub use crate::ids::UserId;

/// A user with the fields only the server needs.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    pub password_hash: Option<String>,
    pub token_version: i64,
}

pub const NAME_MAX_CHARS: usize = 100;
pub const EMAIL_MAX_BYTES: usize = 254;
pub const PASSWORD_MIN_CHARS: usize = 10;
/// bcrypt ignores everything past 72 bytes; longer passwords are refused, not truncated.
pub const PASSWORD_MAX_BYTES: usize = 72;

/// Trims and checks an email address; returns (as given, lookup key).
pub fn normalize_email(raw: &str) -> Result<(String, String), FieldError> {
    let email = raw.trim();
    let invalid = || FieldError::new("email", "must be an email address like name@example.com");
    if email.is_empty() || email.len() > EMAIL_MAX_BYTES {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.len() >= 3
        && domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if !domain_ok || !local_ok {
        return Err(invalid());
    }
    Ok((email.to_string(), email.to_lowercase()))
}

/// Trims a display name and checks its length.
pub fn normalize_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new("name", "must not be empty"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError::new(
            "name",
            format!("must be at most {NAME_MAX_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_string())
}

/// Checks a new password against the length rules.
pub fn check_password(field: &str, password: &str) -> Result<(), FieldError> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(FieldError::new(
            field,
            format!("must be at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(FieldError::new(
            field,
            format!("must be at most {PASSWORD_MAX_BYTES} bytes (bcrypt's limit)"),
        ));
    }
    if password.contains('\0') {
        return Err(FieldError::new(field, "must not contain NUL characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Customer < Role::Agent && Role::Agent < Role::Admin);
        assert!(Role::Agent.is_staff() && !Role::Customer.is_staff());
        for role in [Role::Customer, Role::Agent, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn emails_are_trimmed_and_keyed_case_insensitively() {
        let (email, key) = normalize_email("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email, "Ada.Lovelace@Example.COM");
        assert_eq!(key, "ada.lovelace@example.com");
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.com",
            "a@.example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a..b@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(normalize_name("  Ada  ").unwrap(), "Ada");
        assert!(normalize_name("   ").is_err());
        assert!(normalize_name(&"x".repeat(101)).is_err());
        assert!(normalize_name(&"é".repeat(100)).is_ok());
        assert!(normalize_name("a\u{7}b").is_err());
    }

    #[test]
    fn password_limits() {
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", "long enough").is_ok());
        assert!(check_password("password", &"a".repeat(72)).is_ok());
        let err = check_password("password", &"a".repeat(73)).unwrap_err();
        assert!(err.message.contains("72 bytes"));
        // 10 characters but 30 bytes is fine; 25 three-byte characters (75 bytes) is not.
        assert!(check_password("password", &"€".repeat(10)).is_ok());
        assert!(check_password("password", &"€".repeat(25)).is_err());
    }
}

//! Token formats: session JWTs, single-purpose JWTs (reset, invite, setup),
//! opaque refresh tokens and API keys (stored only as SHA-256 hashes).

use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::JwtKeys;
use crate::actor::Role;
use crate::error::Error;
use crate::ids::UserId;

/// Every token names what it is for; one kind is never accepted as another.
pub mod audience {
    pub const SESSION: &str = "helpline:session";
    pub const PASSWORD_RESET: &str = "helpline:password-reset";
    pub const INVITE: &str = "helpline:invite";
    pub const SETUP: &str = "helpline:setup";
    pub const VERIFY: &str = "helpline:verify";
}

pub const PASSWORD_RESET_TTL_SECS: u64 = 3600;
pub const INVITE_TTL_SECS: u64 = 7 * 86_400;
pub const SETUP_TTL_SECS: u64 = 30 * 86_400;
pub const VERIFY_TTL_SECS: u64 = 3 * 86_400;

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    pub role: Role,
    /// The user's token version when the session was issued.
    pub tv: i64,
    /// Session id (the refresh-token family).
    pub sid: String,
    pub jti: String,
    pub iat: u64,
    pub exp: u64,
    pub aud: String,
}

/// Claims of a single-purpose link token (password reset, invite, setup).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurposeClaims {
    /// User id, or `setup` for the first-admin link.
    pub sub: String,
    /// The user's token version: any password change spends the token.
    pub tv: i64,
    pub jti: String,
    pub iat: u64,
    pub exp: u64,
    pub aud: String,
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn issue_access(
    keys: &JwtKeys,
    user: UserId,
    role: Role,
    token_version: i64,
    session_id: &str,
    ttl_secs: u64,
) -> Result<String, Error> {
    let now = unix_now();
    keys.sign(&AccessClaims {
        sub: user.to_string(),
        role,
        tv: token_version,
        sid: session_id.to_string(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        exp: now + ttl_secs,
        aud: audience::SESSION.into(),
    })
}

pub fn verify_access(keys: &JwtKeys, token: &str) -> Option<(UserId, AccessClaims)> {
    let claims: AccessClaims = keys.verify(token, audience::SESSION).ok()?;
    let id = claims.sub.parse::<i64>().ok().filter(|id| *id > 0)?;
    Some((UserId(id), claims))
}

pub fn issue_purpose(
    keys: &JwtKeys,
    aud: &str,
    subject: &str,
    token_version: i64,
    ttl_secs: u64,
) -> Result<String, Error> {
    let now = unix_now();
    keys.sign(&PurposeClaims {
        sub: subject.to_string(),
        tv: token_version,
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        exp: now + ttl_secs,
        aud: aud.into(),
    })
}

/// Verifies a link token for `aud`; every failure reads the same to the client.
pub fn verify_purpose(keys: &JwtKeys, token: &str, aud: &str) -> Result<PurposeClaims, Error> {
    keys.verify(token, aud)
        .map_err(|_| Error::validation("token", "the link is invalid, expired or already used"))
}

/// A new random 256-bit secret, URL-safe base64 without padding.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a secret, hex encoded: what the database stores.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Prefix of every API key, so leaked keys are recognisable.
pub const API_KEY_PREFIX: &str = "hlk_";
/// Characters of a key shown in listings to tell keys apart.
pub const API_KEY_VISIBLE: usize = 12;

pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (tempfile::TempDir, JwtKeys) {
        let dir = tempfile::tempdir().unwrap();
        let keys = JwtKeys::load(None, dir.path()).unwrap();
        (dir, keys)
    }

    #[test]
    fn access_tokens_round_trip_and_audiences_do_not_mix() {
        let (_dir, keys) = keys();
        let token = issue_access(&keys, UserId(7), Role::Agent, 3, "sid", 60).unwrap();
        let (id, claims) = verify_access(&keys, &token).unwrap();
        assert_eq!(id, UserId(7));
        assert_eq!(claims.tv, 3);
        assert_eq!(claims.role, Role::Agent);

        let reset = issue_purpose(&keys, audience::PASSWORD_RESET, "7", 3, 60).unwrap();
        assert!(
            verify_access(&keys, &reset).is_none(),
            "a reset token is no session"
        );
        assert!(verify_purpose(&keys, &token, audience::PASSWORD_RESET).is_err());
        assert!(verify_purpose(&keys, &reset, audience::INVITE).is_err());
        assert!(verify_purpose(&keys, &reset, audience::PASSWORD_RESET).is_ok());
    }

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_eq!(secret_hash(&a).len(), 64);
        assert!(new_api_key().starts_with(API_KEY_PREFIX));
    }
}

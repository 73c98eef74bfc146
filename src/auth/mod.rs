//! Credentials: signing keys, JWTs and opaque secrets, password hashing, API
//! keys and rate limits. Knows no users module and no HTTP: accounts
//! (`users/`) and the request guards (`api/guards.rs`) are built on it.

pub mod api_keys;
pub mod keys;
pub mod password;
pub mod rate_limit;
pub mod tokens;

pub use keys::JwtKeys;

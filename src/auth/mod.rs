//! Authentication: signing keys now; sessions, guards and API keys build on them.

pub mod keys;

pub use keys::JwtKeys;

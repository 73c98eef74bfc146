//! Authentication: signing keys, passwords, sessions and tokens, API keys,
//! rate limits and the request guards built on them.

pub mod account;
pub mod api_keys;
pub mod guards;
pub mod keys;
pub mod password;
pub mod rate_limit;
pub mod sessions;
pub mod tokens;

pub use guards::{Actor, Admin, Agent, ClientIp, CurrentUser, LiveAuth};
pub use keys::JwtKeys;

//! Per-IP and per-account rate limits on sign-in, registration, refresh,
//! password reset and API-key lookups.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitConfig;
use crate::error::Error;

/// One keyed limit: `n` attempts a minute, refilled evenly. Off when `n` is 0.
pub struct Limiter {
    inner: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

/// Past this many tracked keys, idle ones are dropped before adding more.
const MAX_TRACKED_KEYS: usize = 100_000;

impl Limiter {
    pub fn per_minute(n: u32) -> Self {
        Self {
            inner: NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            clock: DefaultClock::default(),
        }
    }

    /// `n` attempts an hour, refilled evenly. Off when `n` is 0.
    pub fn per_hour(n: u32) -> Self {
        Self {
            inner: NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_hour(n))),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one attempt for `key`, or says when to retry.
    pub fn check(&self, key: &str) -> Result<(), Error> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        if limiter.len() > MAX_TRACKED_KEYS {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Error::RateLimited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }

    /// Takes one attempt for the client network of `ip` (see [`client_key`]).
    pub fn check_ip(&self, ip: &str) -> Result<(), Error> {
        self.check(&client_key(ip))
    }

    fn retain_recent(&self) {
        if let Some(limiter) = &self.inner {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The key a client's address counts under: an IPv4 address, or the /64 of
/// an IPv6 one (one subscriber gets a whole /64 and can rotate within it).
pub fn client_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.to_string();
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

pub struct RateLimits {
    pub login_per_ip: Limiter,
    pub login_per_account: Limiter,
    pub register_per_ip: Limiter,
    pub refresh_per_ip: Limiter,
    pub password_reset_per_ip: Limiter,
    pub password_reset_per_account: Limiter,
    pub api_key_failures_per_ip: Limiter,
    pub intake_per_ip: Limiter,
    pub portal_per_ip: Limiter,
    pub portal_per_token: Limiter,
    /// New tickets through one portal link, per hour.
    pub portal_tickets_per_token: Limiter,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            login_per_ip: Limiter::per_minute(config.login_per_ip),
            login_per_account: Limiter::per_minute(config.login_per_account),
            register_per_ip: Limiter::per_minute(config.register_per_ip),
            refresh_per_ip: Limiter::per_minute(config.refresh_per_ip),
            password_reset_per_ip: Limiter::per_minute(config.password_reset_per_ip),
            password_reset_per_account: Limiter::per_minute(config.password_reset_per_account),
            api_key_failures_per_ip: Limiter::per_minute(config.api_key_failures_per_ip),
            intake_per_ip: Limiter::per_minute(config.intake_per_ip),
            portal_per_ip: Limiter::per_minute(config.portal_per_ip),
            portal_per_token: Limiter::per_minute(config.portal_per_token),
            portal_tickets_per_token: Limiter::per_hour(config.portal_tickets_per_token),
        }
    }

    /// Forgets keys whose limits have fully recovered (bounded memory).
    pub fn retain_recent(&self) {
        for limiter in [
            &self.login_per_ip,
            &self.login_per_account,
            &self.register_per_ip,
            &self.refresh_per_ip,
            &self.password_reset_per_ip,
            &self.password_reset_per_account,
            &self.api_key_failures_per_ip,
            &self.intake_per_ip,
            &self.portal_per_ip,
            &self.portal_per_token,
            &self.portal_tickets_per_token,
        ] {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(client_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::/64");
        assert_ne!(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
        assert_eq!(client_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(client_key("192.0.2.7"), "192.0.2.7");
        let limiter = Limiter::per_minute(1);
        assert!(limiter.check_ip("2001:db8::1").is_ok());
        assert!(
            limiter.check_ip("2001:db8::abcd:1").is_err(),
            "the same /64"
        );
        assert!(limiter.check_ip("2001:db8:0:1::1").is_ok(), "another /64");
    }

    #[test]
    fn limits_per_key_with_retry_after() {
        let limiter = Limiter::per_minute(2);
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        match limiter.check("a") {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert!((1..=30).contains(&retry_after_secs));
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(limiter.check("b").is_ok(), "keys are independent");
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limiter = Limiter::per_minute(0);
        for _ in 0..1000 {
            limiter.check("a").unwrap();
        }
    }
}

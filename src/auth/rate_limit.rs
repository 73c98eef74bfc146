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

    fn retain_recent(&self) {
        if let Some(limiter) = &self.inner {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
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
        ] {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! Bounds on open streams and sockets, in total and per user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Error;

/// Who holds a connection: a user, or an API key.
pub type Holder = String;

/// The holder `actor`'s connections count against.
pub fn holder_of(actor: &crate::actor::Actor) -> Holder {
    match (actor.user_id(), actor.api_key_id()) {
        (Some(user), _) => format!("user:{}", user.0),
        (None, Some(key)) => format!("key:{}", key.0),
        (None, None) => "anonymous".into(),
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_holder: HashMap<Holder, usize>,
}

#[derive(Clone)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_holder: usize,
    counts: Arc<Mutex<Counts>>,
}

/// A held connection slot; dropping it frees the slot.
pub struct ConnectionPermit {
    holder: Holder,
    counts: Arc<Mutex<Counts>>,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_holder: usize) -> Self {
        Self {
            max_total,
            max_per_holder,
            counts: Arc::default(),
        }
    }

    /// Takes a slot for `holder`: 503 when the server is full, 429 when the
    /// holder already has as many as allowed.
    pub fn acquire(&self, holder: Holder) -> Result<ConnectionPermit, Error> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.total >= self.max_total {
            return Err(Error::Unavailable(
                "too many open live connections; try again later".into(),
            ));
        }
        let mine = counts.per_holder.entry(holder.clone()).or_default();
        if *mine >= self.max_per_holder {
            return Err(Error::RateLimited {
                retry_after_secs: 5,
            });
        }
        *mine += 1;
        counts.total += 1;
        Ok(ConnectionPermit {
            holder,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Open connections now (for metrics and tests).
    pub fn open(&self) -> usize {
        self.counts.lock().map_or(0, |c| c.total)
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_holder.get_mut(&self.holder) {
            *n -= 1;
            if *n == 0 {
                counts.per_holder.remove(&self.holder);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionLimits;

    #[test]
    fn slots_are_bounded_and_freed() {
        let limits = ConnectionLimits::new(3, 2);
        let a1 = limits.acquire("a".into()).unwrap();
        let _a2 = limits.acquire("a".into()).unwrap();
        assert!(limits.acquire("a".into()).is_err(), "per holder");
        let _b1 = limits.acquire("b".into()).unwrap();
        assert!(limits.acquire("c".into()).is_err(), "in total");
        drop(a1);
        assert_eq!(limits.open(), 2);
        let _c1 = limits.acquire("c".into()).unwrap();
    }
}

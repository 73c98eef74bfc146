//! Password hashing with bcrypt on the blocking pool, a bounded number at once.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::error::Error;

pub struct PasswordHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// A hash to verify against when the account has none, so that a login
    /// takes as long for an unknown email as for a known one.
    dummy: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    /// Hashing runs at most `parallelism` at once; the dummy hash is prepared
    /// in the background so start-up does not wait for it.
    pub fn new(cost: u32) -> Self {
        let parallelism = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let dummy = Arc::new(OnceLock::new());
        let slot = Arc::clone(&dummy);
        std::thread::spawn(move || {
            slot.get_or_init(|| make_dummy(cost));
        });
        Self {
            cost,
            permits: Arc::new(Semaphore::new(parallelism)),
            dummy,
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, Error> {
        let cost = self.cost;
        self.run(move || {
            bcrypt::hash(password, cost)
                .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
        })
        .await
    }

    /// Checks `password` against `hash`; without a hash, spends the same time and says no.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Error> {
        let cost = self.cost;
        let dummy = Arc::clone(&self.dummy);
        self.run(move || {
            let (target, real) = match &hash {
                Some(h) => (h.as_str(), true),
                None => (dummy.get_or_init(|| make_dummy(cost)).as_str(), false),
            };
            match bcrypt::verify(password, target) {
                Ok(ok) => Ok(ok && real),
                Err(e) => {
                    tracing::error!(error = %e, "a stored password hash is unreadable");
                    Ok(false)
                }
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("password hashing is shut down".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Internal(format!("password task failed: {e}")))?
    }
}

fn make_dummy(cost: u32) -> String {
    bcrypt::hash("helpline-timing-equaliser", cost).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let hasher = PasswordHasher::new(4);
        let hash = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$2"));
        assert!(hasher
            .verify("correct horse battery".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify("wrong horse battery".into(), Some(hash))
            .await
            .unwrap());
        assert!(!hasher.verify("anything at all".into(), None).await.unwrap());
        assert!(!hasher
            .verify("x".into(), Some("not a hash".into()))
            .await
            .unwrap());
    }
}

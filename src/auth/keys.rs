//! The JWT signing key: from config, or generated once into `<data_dir>/secret.key` (0600).

use std::fs;
use std::io::Write as _;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::error::Error;

pub const SECRET_FILE: &str = "secret.key";

/// Keys that sign and verify every token Helpline issues (one key; each token
/// purpose has its own audience).
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Key for the short MACs in mail addresses and Message-IDs, derived from
    /// the same secret so that they stay valid across restarts.
    mail_key: Vec<u8>,
}

impl JwtKeys {
    /// Uses the configured secret, or the one in the data directory, generating
    /// it on first start. Then proves that signing and verifying work.
    pub fn load(configured: Option<&Secret>, data_dir: &Path) -> Result<Self, Error> {
        let secret = match configured {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => load_or_generate(&data_dir.join(SECRET_FILE))?,
        };
        let keys = Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            mail_key: hmac_sha256(&secret, b"helpline mail identifiers").to_vec(),
        };
        keys.self_check()?;
        Ok(keys)
    }

    /// A 64-bit MAC of `data` in lower-case hex (16 characters): short enough
    /// for an email address, long enough that nobody guesses one.
    pub fn mail_mac(&self, data: &str) -> String {
        hex::encode(&hmac_sha256(&self.mail_key, data.as_bytes())[..8])
    }

    /// Checks a MAC made by [`JwtKeys::mail_mac`] in constant time.
    pub fn verify_mail_mac(&self, data: &str, mac: &str) -> bool {
        use hmac::Mac as _;
        let Ok(bytes) = hex::decode(mac) else {
            return false;
        };
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.mail_key)
            .expect("HMAC takes keys of any length");
        m.update(data.as_bytes());
        bytes.len() == 8 && m.verify_truncated_left(&bytes).is_ok()
    }

    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("signing a token failed: {e}")))
    }

    /// Verifies signature, expiry and audience.
    pub fn verify<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<T, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[audience]);
        validation.leeway = 5;
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation).map(|data| data.claims)
    }

    /// A sign-and-verify round trip, so a broken crypto backend stops the start
    /// instead of the first login.
    fn self_check(&self) -> Result<(), Error> {
        #[derive(Serialize, Deserialize)]
        struct Probe {
            sub: String,
            aud: String,
            exp: u64,
        }
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + 60;
        let token = self.sign(&Probe {
            sub: "self-check".into(),
            aud: "self-check".into(),
            exp,
        })?;
        let probe: Probe = self
            .verify(&token, "self-check")
            .map_err(|e| Error::Internal(format!("token self-check failed: {e}")))?;
        if probe.sub != "self-check" {
            return Err(Error::Internal(
                "token self-check returned other claims".into(),
            ));
        }
        if self.verify::<Probe>(&token, "other").is_ok() {
            return Err(Error::Internal(
                "token self-check accepted a wrong audience".into(),
            ));
        }
        Ok(())
    }
}

fn load_or_generate(path: &Path) -> Result<Vec<u8>, Error> {
    match fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            let secret = text.trim();
            if secret.len() < 32 {
                return Err(Error::Config(format!(
                    "{} holds a key shorter than 32 characters; delete it to generate a new one \
                     (this signs everybody out)",
                    path.display()
                )));
            }
            Ok(secret.as_bytes().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 48];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let secret = hex::encode(bytes);
            write_new_secret_file(path, &secret)?;
            tracing::info!(path = %path.display(), "generated a new signing key");
            Ok(secret.into_bytes())
        }
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

#[cfg(unix)]
fn write_new_secret_file(path: &Path, secret: &str) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    file.write_all(secret.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(not(unix))]
fn write_new_secret_file(path: &Path, secret: &str) -> Result<(), Error> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    file.write_all(secret.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the signing key is readable by other users; run chmod 600 on it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::Mac as _;
    let mut m =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct C {
        aud: String,
        exp: u64,
    }

    #[test]
    fn generated_key_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = JwtKeys::load(None, dir.path()).unwrap();
        let path = dir.path().join(SECRET_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let contents = fs::read_to_string(&path).unwrap();
        assert_eq!(contents.len(), 96);

        let token = first
            .sign(&C {
                aud: "session".into(),
                exp: u64::MAX / 2,
            })
            .unwrap();
        let second = JwtKeys::load(None, dir.path()).unwrap();
        assert!(
            second.verify::<C>(&token, "session").is_ok(),
            "same key after restart"
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            contents,
            "key file untouched"
        );
    }

    #[test]
    fn configured_secret_wins_and_keys_differ() {
        let dir = tempfile::tempdir().unwrap();
        let configured = Secret::new("a-configured-secret-of-sufficient-length");
        let keys = JwtKeys::load(Some(&configured), dir.path()).unwrap();
        assert!(
            !dir.path().join(SECRET_FILE).exists(),
            "no file when configured"
        );
        let token = keys
            .sign(&C {
                aud: "session".into(),
                exp: u64::MAX / 2,
            })
            .unwrap();
        let other = JwtKeys::load(None, dir.path()).unwrap();
        assert!(other.verify::<C>(&token, "session").is_err());
    }
}

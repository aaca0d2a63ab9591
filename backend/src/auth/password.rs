//! argon2id password hashing.
//!
//! Hashing is deliberately expensive, so it runs on the blocking pool, and a semaphore caps
//! how many hashes run at once: a login flood then queues up instead of starving the
//! threads that serve every other request.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use thiserror::Error;
use tokio::sync::Semaphore;

/// OWASP's recommended argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// Longest password accepted, in bytes. Checked before hashing so that nobody can make the
/// server hash megabytes per request.
pub const MAX_PASSWORD_BYTES: usize = 4096;

#[derive(Debug, Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("password hashing is shutting down")]
    Closed,
}

/// The result of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    /// Correct; `rehash` holds a new hash when the stored one used older parameters.
    Valid {
        rehash: Option<String>,
    },
}

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    params: Params,
    /// Verified against when the user does not exist, so that an unknown username costs the
    /// same time as a wrong password and cannot be told apart by timing.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

impl Passwords {
    pub fn new(max_concurrent_hashes: usize) -> Passwords {
        Self::with_params(max_concurrent_hashes, owasp_params())
    }

    fn with_params(max_concurrent_hashes: usize, params: Params) -> Passwords {
        let dummy_hash = hash_blocking(&params, "dummy password for timing equalisation")
            .expect("hashing a constant cannot fail");
        Passwords {
            permits: Arc::new(Semaphore::new(max_concurrent_hashes.max(1))),
            params,
            dummy_hash: dummy_hash.into(),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Closed)?;
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&params, &password))
            .await?
            .map_err(PasswordError::Hash)
    }

    /// Checks `password` against `stored` (`None`: no such user, or no password set).
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verification, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Closed)?;
        let params = self.params.clone();
        let password = password.to_owned();
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                // An unparseable stored hash (e.g. imported from elsewhere) never matches.
                return Ok(Verification::Invalid);
            };
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            if !matches || !known {
                return Ok(Verification::Invalid);
            }
            let rehash = if uses_params(&parsed, &params) {
                None
            } else {
                Some(hash_blocking(&params, &password).map_err(PasswordError::Hash)?)
            };
            Ok(Verification::Valid { rehash })
        })
        .await?
    }
}

fn owasp_params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters")
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
}

fn uses_params(hash: &PasswordHash<'_>, params: &Params) -> bool {
    hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into())
        && Params::try_from(hash).is_ok_and(|p| {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_at_owasp_parameters() {
        let passwords = Passwords::new(2);
        let hash = passwords
            .hash("correct horse battery staple")
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            passwords
                .verify("correct horse battery staple", Some(&hash))
                .await
                .unwrap(),
            Verification::Valid { rehash: None }
        );
        assert_eq!(
            passwords.verify("wrong", Some(&hash)).await.unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn passwords_are_not_trimmed() {
        let passwords = Passwords::new(1);
        let hash = passwords.hash(" secret ").await.unwrap();
        assert_eq!(
            passwords.verify("secret", Some(&hash)).await.unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn unknown_user_runs_a_real_verification_and_fails() {
        let passwords = Passwords::new(1);
        let started = std::time::Instant::now();
        let result = passwords
            .verify("dummy password for timing equalisation", None)
            .await
            .unwrap();
        // Even the dummy's own password is refused: there is no user.
        assert_eq!(result, Verification::Invalid);
        assert!(started.elapsed() > std::time::Duration::from_millis(1));
    }

    #[tokio::test]
    async fn old_parameters_are_upgraded_on_login() {
        let weak = Params::new(8 * 1024, 1, 1, None).unwrap();
        let old_hash = hash_blocking(&weak, "password-one").unwrap();
        let passwords = Passwords::new(1);
        let Verification::Valid {
            rehash: Some(new_hash),
        } = passwords
            .verify("password-one", Some(&old_hash))
            .await
            .unwrap()
        else {
            panic!("expected a rehash");
        };
        assert!(new_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[tokio::test]
    async fn garbage_stored_hash_never_matches() {
        let passwords = Passwords::new(1);
        assert_eq!(
            passwords.verify("x", Some("not a hash")).await.unwrap(),
            Verification::Invalid
        );
    }
}

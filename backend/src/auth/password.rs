//! argon2id password hashing.
//!
//! Hashing is deliberately expensive (19 MiB and tens of milliseconds of one core), so it
//! runs on a few dedicated threads, each reusing its own memory block: the number of
//! threads caps how many hashes run at once, so a login flood queues up instead of starving
//! the threads that serve every other request, and memory stays at threads × 19 MiB
//! instead of growing with every thread that ever hashed (the allocator keeps freed blocks
//! per thread).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use thiserror::Error;
use tokio::sync::oneshot;

use super::django_hashers::{self, DjangoHash};

/// OWASP's recommended argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
/// argon2id passes over memory (`t`); OWASP's value for 19 MiB.
pub const ITERATIONS: u32 = 2;
/// argon2id lanes (`p`); one, so each hash uses one core.
pub const PARALLELISM: u32 = 1;

/// Longest password accepted, in bytes. Checked before hashing so that nobody can make the
/// server hash megabytes per request.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Requests waiting for a hashing thread; beyond this, callers wait to enqueue.
const QUEUE: usize = 1024;

/// A hashing failure of ours, never a wrong password (that is [`Verification::Invalid`]).
#[derive(Debug, Error)]
pub enum PasswordError {
    /// Building or encoding the PHC string failed (salt, parameters, output).
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    /// argon2 itself failed (parameters, salt or memory block it would not take).
    #[error("password hashing failed: {0}")]
    Argon2(argon2::Error),
    /// The hashing threads are gone (stopped or panicked), so the job got no answer.
    #[error("password hashing threads are gone")]
    Closed,
    /// Reading the stored hashes to calibrate against failed.
    #[error("reading stored password hashes: {0}")]
    Calibration(String),
}

/// The result of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password, no such user, no password set, or a stored hash we cannot parse: all
    /// alike to the caller.
    Invalid,
    /// Correct; `rehash` holds a new hash when the stored one used older parameters.
    Valid {
        /// The password rehashed at the current parameters, to store; `None` when the stored hash
        /// is already current.
        rehash: Option<String>,
    },
}

enum Work {
    Hash(String),
    Verify {
        password: String,
        stored: String,
        known: bool,
    },
}

enum Done {
    Hashed(String),
    /// The verdict, and how long the hashing thread computed it.
    Verified(Verification, Duration),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, PasswordError>>,
    /// When it was queued, for the wait metric.
    queued_at: Instant,
}

/// The most [`Passwords::verify`] pads a check to: one very costly Django hash (or a check
/// slowed by a busy machine) must not slow every sign-in beyond this.
pub const FLOOR_CAP: Duration = Duration::from_secs(5);

/// A handle to the pool of hashing threads. Cheap to clone; the threads stop when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Passwords {
    jobs: flume::Sender<Job>,
    /// Verified against when the user does not exist, so that an unknown username costs the
    /// same time as a wrong password and cannot be told apart by timing.
    dummy_hash: Arc<str>,
    /// The longest a Django hash took to check (nanoseconds of one hashing thread): every
    /// check lasts at least this long, so that an account still on its Django hash (PBKDF2
    /// at 600,000 iterations takes several times our argon2id) answers a wrong password no
    /// slower than an unknown name or an account on argon2id does. Zero when no Django hash
    /// was checked since start-up (see [`calibrate`](Passwords::calibrate)).
    floor_nanos: Arc<AtomicU64>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("queued", &self.jobs.len())
            .finish()
    }
}

impl Passwords {
    /// Starts `threads` hashing threads (at least one) at the OWASP parameters.
    pub fn new(threads: usize) -> Passwords {
        Self::with_params(threads, owasp_params())
    }

    fn with_params(threads: usize, params: Params) -> Passwords {
        let (jobs, queue) = flume::bounded::<Job>(QUEUE);
        let mut memory = vec![Block::default(); params.block_count()];
        let dummy_hash = hash_with(
            &params,
            "dummy password for timing equalisation",
            &mut memory,
        )
        .expect("hashing a constant cannot fail");
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let params = params.clone();
            // The first thread inherits the block already allocated for the dummy hash.
            let memory = if i == 0 {
                std::mem::take(&mut memory)
            } else {
                Vec::new()
            };
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(queue, params, memory))
                .expect("spawn a password hashing thread");
        }
        Passwords {
            jobs,
            dummy_hash: dummy_hash.into(),
            floor_nanos: Arc::default(),
        }
    }

    async fn run(&self, work: Work) -> Result<Done, PasswordError> {
        let (reply, done) = oneshot::channel();
        self.jobs
            .send_async(Job {
                work,
                reply,
                queued_at: Instant::now(),
            })
            .await
            .map_err(|_| PasswordError::Closed)?;
        done.await.map_err(|_| PasswordError::Closed)?
    }

    /// A new argon2id PHC string for `password` (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a
    /// fresh random salt.
    ///
    /// The password is hashed as given, never trimmed; the `MAX_PASSWORD_BYTES` limit is the
    /// caller's to enforce. Waits for a free hashing thread. Errors: [`PasswordError`].
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        match self.run(Work::Hash(password.to_owned())).await? {
            Done::Hashed(hash) => Ok(hash),
            Done::Verified(..) => unreachable!("a hash job returns a hash"),
        }
    }

    /// Checks `password` against `stored` (`None`: no such user, or no password set).
    ///
    /// Takes at least as long as the slowest Django hash checked so far (the hashing thread
    /// computes, then the caller waits out the rest without holding a thread), so the time
    /// of a refusal does not tell an unknown name, an argon2id account and an imported
    /// account apart.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verification, PasswordError> {
        let django = stored.is_some_and(|s| {
            matches!(django_hashers::classify(s), DjangoHash::Known(_))
                && django_hashers::within_work_limits(s)
        });
        // A hash no password can match (Django's unusable `!…`, a format we cannot check)
        // gets an unknown name's work, so that it answers no sooner.
        let stored = stored.filter(|s| {
            django || (django_hashers::classify(s) == DjangoHash::Other && parse_phc(s).is_some())
        });
        let work = Work::Verify {
            password: password.to_owned(),
            known: stored.is_some(),
            stored: stored.unwrap_or(&self.dummy_hash).to_owned(),
        };
        let (verification, took) = match self.run(work).await? {
            Done::Verified(verification, took) => (verification, took),
            Done::Hashed(_) => unreachable!("a verify job returns a verification"),
        };
        let took_nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        if django {
            let cap = u64::try_from(FLOOR_CAP.as_nanos()).unwrap_or(u64::MAX);
            self.floor_nanos
                .fetch_max(took_nanos.min(cap), Ordering::Relaxed);
        }
        let floor = self.floor_nanos.load(Ordering::Relaxed);
        if floor > took_nanos {
            tokio::time::sleep(Duration::from_nanos(floor - took_nanos)).await;
        }
        Ok(verification)
    }

    /// Sets the floor of [`verify`](Self::verify) from the Django hashes still stored (the
    /// slowest of each format), so that it holds from the first sign-in after a start.
    /// A few hundred milliseconds of one hashing thread when there are any; nothing otherwise.
    pub async fn calibrate(&self, db: &crate::db::Db) -> Result<(), PasswordError> {
        for format in [
            "pbkdf2_sha256",
            "pbkdf2_sha1",
            "argon2",
            "bcrypt_sha256",
            "scrypt",
        ] {
            // The longest text is (nearly always) the highest cost: more iteration digits.
            let sample: Option<(String,)> = crate::db::with_db!(db, pool => {
                sqlx::query_as(
                    "SELECT password_hash FROM users WHERE password_hash LIKE $1 \
                     ORDER BY LENGTH(password_hash) DESC, password_hash DESC LIMIT 1",
                )
                .bind(format!("{format}$%"))
                .fetch_optional(pool)
                .await
            })
            .map_err(|e| PasswordError::Calibration(e.to_string()))?;
            if let Some((hash,)) = sample {
                self.verify("calibration", Some(&hash)).await?;
            }
        }
        Ok(())
    }

    /// Jobs waiting for a hashing thread now.
    pub fn queued(&self) -> usize {
        self.jobs.len()
    }

    /// The current floor of [`verify`](Self::verify).
    pub fn floor(&self) -> Duration {
        Duration::from_nanos(self.floor_nanos.load(Ordering::Relaxed))
    }
}

/// One hashing thread: runs jobs until every `Passwords` handle is dropped.
fn worker(queue: flume::Receiver<Job>, params: Params, mut memory: Vec<Block>) {
    if memory.len() < params.block_count() {
        memory = vec![Block::default(); params.block_count()];
    }
    for job in queue.iter() {
        metrics::histogram!(crate::metrics::HASH_WAIT)
            .record(job.queued_at.elapsed().as_secs_f64());
        let result = match job.work {
            Work::Hash(password) => hash_with(&params, &password, &mut memory).map(Done::Hashed),
            Work::Verify {
                password,
                stored,
                known,
            } => verify_with(&params, &password, &stored, known, &mut memory)
                .map(|(verdict, took)| Done::Verified(verdict, took)),
        };
        let _ = job.reply.send(result);
    }
}

fn owasp_params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters")
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for `password`.
fn hash_with(
    params: &Params,
    password: &str,
    memory: &mut [Block],
) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(PasswordError::Hash)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut out,
            &mut memory[..params.block_count()],
        )
        .map_err(PasswordError::Argon2)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(PasswordError::Hash)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(PasswordError::Hash)?),
    };
    Ok(phc.to_string())
}

/// The verdict, and how long the check itself took (a rehash after it not included: it
/// follows only a correct password, whose answer differs anyway).
fn verify_with(
    params: &Params,
    password: &str,
    stored: &str,
    known: bool,
    memory: &mut [Block],
) -> Result<(Verification, Duration), PasswordError> {
    let started = Instant::now();
    let refused = |started: Instant| Ok((Verification::Invalid, started.elapsed()));
    // A hash imported from Django is checked as Django made it, then replaced by ours.
    let (stored, imported) = match django_hashers::classify(stored) {
        DjangoHash::Other => (stored, false),
        DjangoHash::Unusable => return refused(started),
        DjangoHash::Known("argon2") => match django_hashers::argon2_phc(stored) {
            Some(phc) => (phc, true),
            None => return refused(started),
        },
        DjangoHash::Known(_) => {
            let matches = django_hashers::verify(password, stored) == Some(true);
            let took = started.elapsed();
            if !matches || !known {
                return Ok((Verification::Invalid, took));
            }
            let rehash = hash_with(params, password, memory)?;
            return Ok((
                Verification::Valid {
                    rehash: Some(rehash),
                },
                took,
            ));
        }
    };
    // Anything unparseable (e.g. a hash imported from elsewhere) never matches.
    let Some((stored_params, argon2, salt_bytes, expected)) = parse_phc(stored) else {
        return refused(started);
    };
    let salt = &salt_bytes.0[..salt_bytes.1];
    let mut out = vec![0u8; expected.len()];
    let needed = stored_params.block_count();
    let computed = if needed <= memory.len() {
        argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            &mut memory[..needed],
        )
    } else {
        // Stored with more memory than we use now: rare, allocate once for it.
        argon2.hash_password_into(password.as_bytes(), salt, &mut out)
    };
    // Output's equality is constant-time.
    let matches = computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected);
    let took = started.elapsed();
    if !matches || !known {
        return Ok((Verification::Invalid, took));
    }
    let current = !imported
        && stored.starts_with("$argon2id$v=19$")
        && stored_params.m_cost() == params.m_cost()
        && stored_params.t_cost() == params.t_cost()
        && stored_params.p_cost() == params.p_cost();
    let rehash = if current {
        None
    } else {
        Some(hash_with(params, password, memory)?)
    };
    Ok((Verification::Valid { rehash }, took))
}

type SaltBytes = ([u8; 64], usize);

fn parse_phc(stored: &str) -> Option<(Params, Argon2<'static>, SaltBytes, Output)> {
    let parsed = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    let mut salt = [0u8; 64];
    let len = parsed.salt?.decode_b64(&mut salt).ok()?.len();
    let expected = parsed.hash?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    Some((params, argon2, (salt, len), expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Once a Django hash was checked, no check is quicker than it was: not an unknown
    /// name's (the dummy hash), not a wrong password on argon2id.
    #[tokio::test]
    async fn refusals_last_as_long_as_the_slowest_django_hash() {
        use crate::auth::django_hashers::tests::PBKDF2_SHA256;
        let passwords = Passwords::new(1);
        assert_eq!(passwords.floor(), Duration::ZERO);
        passwords
            .verify("wrong", Some(PBKDF2_SHA256))
            .await
            .unwrap();
        let floor = passwords.floor();
        assert!(floor > Duration::ZERO);
        let started = Instant::now();
        let verdict = passwords.verify("wrong", None).await.unwrap();
        assert_eq!(verdict, Verification::Invalid);
        assert!(started.elapsed() >= floor);
        // A slower Django hash raises it; a quicker one does not lower it.
        passwords.floor_nanos.store(1, Ordering::Relaxed);
        passwords
            .verify("wrong", Some(PBKDF2_SHA256))
            .await
            .unwrap();
        assert!(passwords.floor() > Duration::from_nanos(1));
    }

    /// Users imported from Django sign in with their old passwords, whatever Django hashed
    /// them with; the answer carries our argon2id hash to store instead.
    #[tokio::test]
    async fn django_hashes_verify_and_are_replaced() {
        use crate::auth::django_hashers::tests::{ARGON2, PBKDF2_SHA256};
        let passwords = Passwords::new(1);
        for stored in [PBKDF2_SHA256, ARGON2] {
            match passwords
                .verify("correct horse", Some(stored))
                .await
                .unwrap()
            {
                Verification::Valid { rehash: Some(new) } => {
                    assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
                    assert_eq!(
                        passwords.verify("correct horse", Some(&new)).await.unwrap(),
                        Verification::Valid { rehash: None }
                    );
                }
                other => panic!("{stored}: {other:?}"),
            }
            assert_eq!(
                passwords
                    .verify("correct horsE", Some(stored))
                    .await
                    .unwrap(),
                Verification::Invalid
            );
        }
        // Django's unusable password never matches, not even itself.
        let unusable = "!dCT1mDbvZX9WHlFyBmG6Ya9WV4yZdCpWhHt1A0Ck";
        assert_eq!(
            passwords.verify(unusable, Some(unusable)).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            passwords.verify("", Some(unusable)).await.unwrap(),
            Verification::Invalid
        );
    }

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
        let mut memory = vec![Block::default(); weak.block_count()];
        let old_hash = hash_with(&weak, "password-one", &mut memory).unwrap();
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
    async fn reads_hashes_made_by_the_reference_api() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
            .hash_password(b"interop-password", &salt)
            .unwrap()
            .to_string();
        let passwords = Passwords::new(1);
        assert_eq!(
            passwords
                .verify("interop-password", Some(&reference))
                .await
                .unwrap(),
            Verification::Valid { rehash: None }
        );
        let ours = passwords.hash("interop-password").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        use argon2::PasswordVerifier;
        assert!(Argon2::default()
            .verify_password(b"interop-password", &parsed)
            .is_ok());
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

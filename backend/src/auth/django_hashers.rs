//! Password hashes made by Django (`auth_user.password`), verified as they are so that
//! imported users keep their passwords; the first successful sign-in replaces the hash with
//! our argon2id (see [`super::password`]).
//!
//! Django's default `PASSWORD_HASHERS` and their formats (Django 4.2, `contrib/auth/hashers.py`):
//!
//! | hasher | stored as |
//! |---|---|
//! | `PBKDF2PasswordHasher` | `pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>` |
//! | `PBKDF2SHA1PasswordHasher` | `pbkdf2_sha1$<iterations>$<salt>$<base64 of 20 bytes>` |
//! | `Argon2PasswordHasher` | `argon2` followed by a PHC string (`$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`) |
//! | `BCryptSHA256PasswordHasher` | `bcrypt_sha256$` followed by bcrypt's `$2b$<cost>$…` of the password's SHA-256 in hex |
//! | `ScryptPasswordHasher` | `scrypt$<N>$<salt>$<r>$<p>$<base64 of 64 bytes>` |
//!
//! Django's unusable passwords (`!` followed by random text) never match. Any other format
//! is not Django's default and is left to the caller (it never matches either).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a stored value is, as far as Django's hashers go.
#[derive(Debug, PartialEq, Eq)]
pub enum DjangoHash<'a> {
    /// One of the formats above, not yet checked.
    Known(&'a str),
    /// Django's unusable password (`!…`): no password can match.
    Unusable,
    /// Not a Django default format (ours, or another hasher's).
    Other,
}

/// Classifies `stored` by its algorithm prefix.
pub fn classify(stored: &str) -> DjangoHash<'_> {
    if stored.starts_with('!') {
        return DjangoHash::Unusable;
    }
    let algorithm = stored.split('$').next().unwrap_or_default();
    match algorithm {
        "pbkdf2_sha256" | "pbkdf2_sha1" | "argon2" | "bcrypt_sha256" | "scrypt" => {
            DjangoHash::Known(algorithm)
        }
        _ => DjangoHash::Other,
    }
}

/// The PHC string inside Django's `argon2…` value, for the argon2 verifier we already have.
pub fn argon2_phc(stored: &str) -> Option<&str> {
    stored
        .strip_prefix("argon2")
        .filter(|phc| phc.starts_with('$'))
}

/// Whether `password` matches the Django hash `stored` (PBKDF2, bcrypt-SHA256 or scrypt;
/// argon2 goes through [`argon2_phc`]). `None` when `stored` is malformed or of another
/// format. Comparisons of derived keys are constant-time.
pub fn verify(password: &str, stored: &str) -> Option<bool> {
    let mut parts = stored.split('$');
    match parts.next()? {
        "pbkdf2_sha256" => {
            let (iterations, salt, expected) = pbkdf2_parts(parts)?;
            let mut out = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
            Some(equal(&out, &expected))
        }
        "pbkdf2_sha1" => {
            let (iterations, salt, expected) = pbkdf2_parts(parts)?;
            let mut out = [0u8; 20];
            pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), salt, iterations, &mut out);
            Some(equal(&out, &expected))
        }
        "bcrypt_sha256" => {
            // `bcrypt_sha256$$2b$12$…`: the bcrypt string starts at the second `$`.
            let bcrypt_hash = stored.strip_prefix("bcrypt_sha256$")?;
            let digest = hex::encode(Sha256::digest(password.as_bytes()));
            bcrypt::verify(digest, bcrypt_hash).ok()
        }
        "scrypt" => {
            let n: u64 = parts.next()?.parse().ok()?;
            let salt = parts.next()?.as_bytes();
            let r: u32 = parts.next()?.parse().ok()?;
            let p: u32 = parts.next()?.parse().ok()?;
            let expected = STANDARD.decode(parts.next()?).ok()?;
            if parts.next().is_some() || !n.is_power_of_two() || n < 2 || expected.is_empty() {
                return None;
            }
            let log_n = u8::try_from(n.trailing_zeros()).ok()?;
            let params = scrypt::Params::new(log_n, r, p, expected.len()).ok()?;
            let mut out = vec![0u8; expected.len()];
            scrypt::scrypt(password.as_bytes(), salt, &params, &mut out).ok()?;
            Some(equal(&out, &expected))
        }
        _ => None,
    }
}

/// Whether the work factors of a Django hash stay within what one sign-in may cost: at most
/// 10,000,000 PBKDF2 iterations (Django 5.2 uses 1,000,000), bcrypt cost 16, scrypt
/// N = 2^20 with N·r ≤ 2^21 (256 MiB) and p ≤ 16, argon2 m ≤ 256 MiB, t ≤ 16, p ≤ 16. A
/// hash beyond them (only a hand-made one) would hold a hashing thread for minutes or
/// allocate gigabytes: it is never checked, and the import reports it. Other formats: true.
pub fn within_work_limits(stored: &str) -> bool {
    let mut parts = stored.split('$');
    let number = |part: Option<&str>| part.and_then(|p| p.parse::<u64>().ok());
    match parts.next() {
        Some("pbkdf2_sha256" | "pbkdf2_sha1") => {
            number(parts.next()).is_some_and(|n| n <= 10_000_000)
        }
        // `bcrypt_sha256$$2b$<cost>$…`
        Some("bcrypt_sha256") => number(parts.nth(2)).is_some_and(|cost| cost <= 16),
        Some("scrypt") => {
            let n = number(parts.next());
            let r = number(parts.nth(1));
            let p = number(parts.next());
            matches!((n, r, p), (Some(n), Some(r), Some(p))
                if n <= 1 << 20 && r <= 16 && n * r <= 1 << 21 && p <= 16)
        }
        // `argon2$argon2id$v=19$m=…,t=…,p=…$…`
        Some("argon2") => {
            let Some(params) = parts.nth(2) else {
                return false;
            };
            params.split(',').all(|param| match param.split_once('=') {
                Some(("m", v)) => number(Some(v)).is_some_and(|m| m <= 262_144),
                Some(("t" | "p", v)) => number(Some(v)).is_some_and(|x| x <= 16),
                _ => true,
            })
        }
        _ => true,
    }
}

/// `<iterations>$<salt>$<base64>` of a PBKDF2 hash.
fn pbkdf2_parts<'a>(mut parts: impl Iterator<Item = &'a str>) -> Option<(u32, &'a [u8], Vec<u8>)> {
    let iterations: u32 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    let salt = parts.next()?.as_bytes();
    let expected = STANDARD.decode(parts.next()?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((iterations, salt, expected))
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Made with Django 4.2.30's own hashers for "correct horse" (`Hasher().encode(…)`), at
    // small work factors to keep the tests fast; the argon2 one is checked in `password.rs`.
    pub(crate) const PBKDF2_SHA256: &str =
        "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=";
    const PBKDF2_SHA1: &str = "pbkdf2_sha1$1000$seasalt$iQvkNOF1wEL4Khh8eogJ8rUhipM=";
    pub(crate) const ARGON2: &str = "argon2$argon2id$v=19$m=64,t=1,p=1$\
        d2xiWHRnM1NXOGE2NTl1ZXNoWUI0dQ$B2qWjG1LPUTd8+s/fLqLvufYIZoBh0fkW1uwKK6qy5c";
    const BCRYPT_SHA256: &str =
        "bcrypt_sha256$$2b$04$11COUS3uIhbdUkOD1o1S3.ft7n/9wXM27.GsA8DmLc8JeYfvIzNMW";
    const SCRYPT: &str = "scrypt$1024$seasalt$8$1$b9vqOe0B5HZh2f10Q9RPN9OFNPtmb+ezp5YOlnZsJQ0v\
        Q5I3eq8Zt7GFMuqQ58xCxTIvVL1QCL/PTXEWr+RNHA==";
    const UNUSABLE: &str = "!dCT1mDbvZX9WHlFyBmG6Ya9WV4yZdCpWhHt1A0Ck";

    #[test]
    fn djangos_own_hashes_verify() {
        for stored in [PBKDF2_SHA256, PBKDF2_SHA1, BCRYPT_SHA256, SCRYPT] {
            assert_eq!(verify("correct horse", stored), Some(true), "{stored}");
            assert_eq!(verify("correct horse ", stored), Some(false), "{stored}");
            assert_eq!(verify("Correct horse", stored), Some(false), "{stored}");
        }
        assert_eq!(classify(UNUSABLE), DjangoHash::Unusable);
        assert_eq!(classify(ARGON2), DjangoHash::Known("argon2"));
    }

    #[test]
    fn classifies_django_formats() {
        assert_eq!(classify(PBKDF2_SHA256), DjangoHash::Known("pbkdf2_sha256"));
        assert_eq!(classify("!TpXg8H2mU2e0"), DjangoHash::Unusable);
        assert_eq!(
            classify("$argon2id$v=19$m=19456,t=2,p=1$x$y"),
            DjangoHash::Other
        );
        assert_eq!(classify("md5$salt$abc"), DjangoHash::Other);
        assert_eq!(
            argon2_phc("argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA"),
            Some("$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA")
        );
        assert_eq!(argon2_phc("argon2id$x"), None);
    }

    /// PBKDF2 against a hash computed here with the same construction Django uses
    /// (RFC 8018 PBKDF2-HMAC, base64 of the derived key), and against RFC 6070's vector.
    #[test]
    fn pbkdf2_round_trips_and_refuses() {
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"correct horse", b"seasalt", 1000, &mut key);
        let stored = format!("pbkdf2_sha256$1000$seasalt${}", STANDARD.encode(key));
        assert_eq!(verify("correct horse", &stored), Some(true));
        assert_eq!(verify("correct horse ", &stored), Some(false));
        assert_eq!(verify("wrong", &stored), Some(false));
        // RFC 6070, PBKDF2-HMAC-SHA1, "password"/"salt", 2 iterations.
        let rfc = hex::decode("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957").unwrap();
        let stored = format!("pbkdf2_sha1$2$salt${}", STANDARD.encode(rfc));
        assert_eq!(verify("password", &stored), Some(true));
        assert_eq!(verify("Password", &stored), Some(false));
        // Malformed values are not Django's: never a match, never a panic.
        for bad in [
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$x$salt$AAAA",
            "pbkdf2_sha256$10$salt",
            "pbkdf2_sha256$10$salt$***",
            "pbkdf2_sha256$10$salt$AAAA$extra",
        ] {
            assert_eq!(verify("password", bad), None, "{bad}");
        }
    }

    #[test]
    fn bcrypt_sha256_hashes_the_hex_digest() {
        let digest = hex::encode(Sha256::digest(b"correct horse"));
        let inner = bcrypt::hash(digest, 4).unwrap();
        let stored = format!("bcrypt_sha256${inner}");
        assert_eq!(verify("correct horse", &stored), Some(true));
        assert_eq!(verify("correct horsf", &stored), Some(false));
        assert_eq!(verify("x", "bcrypt_sha256$$2b$04$garbage"), None);
    }

    /// scrypt against RFC 7914's second test vector (N=1024, r=8, p=16, 64 bytes).
    #[test]
    fn scrypt_matches_rfc_7914() {
        let key = hex::decode(
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
             2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
        )
        .unwrap();
        let stored = format!("scrypt$1024$NaCl$8$16${}", STANDARD.encode(key));
        assert_eq!(verify("password", &stored), Some(true));
        assert_eq!(verify("passw0rd", &stored), Some(false));
        assert_eq!(
            verify("password", "scrypt$1000$NaCl$8$16$AAAA"),
            None,
            "N not a power of 2"
        );
    }

    #[test]
    fn absurd_work_factors_are_never_checked() {
        for ok in [
            PBKDF2_SHA256,
            ARGON2,
            BCRYPT_SHA256,
            PBKDF2_SHA1,
            SCRYPT,
            "md5$x$y",
        ] {
            assert!(within_work_limits(ok), "{ok}");
        }
        for absurd in [
            "pbkdf2_sha256$999999999$salt$hash=",
            "pbkdf2_sha256$lots$salt$hash=",
            "bcrypt_sha256$$2b$20$abc",
            "scrypt$1073741824$salt$8$1$hash=",
            "scrypt$16384$salt$1024$1$hash=",
            "argon2$argon2id$v=19$m=4194304,t=2,p=1$salt$hash",
        ] {
            assert!(!within_work_limits(absurd), "{absurd}");
        }
    }
}

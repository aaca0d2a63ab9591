//! Which of an account's factors a typed code matches, and what its row becomes once used:
//! six digits are an authenticator-app code (its step is recorded, so it cannot come back),
//! anything else is tried as a recovery code (which is struck off). Pure: the caller writes
//! the new `data` only if the row is unchanged (compare-and-set).

use super::keys::MfaKeys;
use super::store::{totp_context, Authenticator, TotpData};
use super::totp;

/// What a code proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    /// A code from the authenticator app.
    Totp,
    /// A recovery code; `remaining`: how many are left after it.
    RecoveryCode {
        /// Unused codes left.
        remaining: usize,
    },
}

/// A code that matched: the row to update and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The row's id.
    pub id: i64,
    /// Its `data` as read (the update's condition).
    pub old_data: String,
    /// Its `data` from now on.
    pub new_data: String,
    /// What the code was.
    pub used: Used,
}

/// The factor of `user_id` among `rows` that `code` matches at `now` (Unix seconds), if any.
pub fn match_code(
    keys: &MfaKeys,
    user_id: i64,
    rows: &[Authenticator],
    code: &str,
    now: u64,
) -> Option<Match> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == usize::from(totp::DIGITS) && digits.bytes().all(|b| b.is_ascii_digit()) {
        let row = rows.iter().find(|r| r.kind == super::store::TOTP)?;
        let data = row.totp()?;
        let secret = keys.open(&data.secret, &totp_context(user_id))?;
        let step = totp::verify(&secret, &digits, now, data.last_step)?;
        let new_data = serde_json::to_string(&TotpData {
            last_step: Some(step),
            ..data
        })
        .ok()?;
        return Some(Match {
            id: row.id,
            old_data: row.data.clone(),
            new_data,
            used: Used::Totp,
        });
    }
    let row = rows
        .iter()
        .find(|r| r.kind == super::store::RECOVERY_CODES)?;
    let spent = row.recovery_codes()?.spend(keys, user_id, code)?;
    Some(Match {
        id: row.id,
        old_data: row.data.clone(),
        new_data: serde_json::to_string(&spent).ok()?,
        used: Used::RecoveryCode {
            remaining: spent.remaining(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa::recovery_codes;
    use crate::mfa::store::{RECOVERY_CODES, TOTP};
    use crate::secret::Secret;

    fn account(keys: &MfaKeys, secret: &[u8]) -> (Vec<Authenticator>, Vec<String>) {
        let (codes, stored) = recovery_codes::generate(keys, 1);
        let totp = TotpData {
            secret: keys.seal(secret, &totp_context(1)),
            last_step: None,
        };
        let rows = vec![
            Authenticator {
                id: 10,
                kind: TOTP.into(),
                data: serde_json::to_string(&totp).unwrap(),
                created_at: 0,
                last_used_at: None,
            },
            Authenticator {
                id: 11,
                kind: RECOVERY_CODES.into(),
                data: serde_json::to_string(&stored).unwrap(),
                created_at: 0,
                last_used_at: None,
            },
        ];
        (rows, codes)
    }

    #[test]
    fn an_app_code_matches_once_then_its_row_refuses_it() {
        let keys = MfaKeys::new(&Secret::new("k".repeat(32)));
        let secret = totp::new_secret();
        let (mut rows, _) = account(&keys, &secret);
        let now = 1_800_000_000;
        let code = totp::code_at(&secret, now);
        let found = match_code(&keys, 1, &rows, &code, now).expect("fresh code");
        assert_eq!((found.id, found.used), (10, Used::Totp));
        rows[0].data = found.new_data;
        assert_eq!(match_code(&keys, 1, &rows, &code, now), None, "replayed");
        let later = totp::code_at(&secret, now + 30);
        assert!(match_code(&keys, 1, &rows, &later, now + 30).is_some());
    }

    #[test]
    fn recovery_codes_are_struck_off_one_by_one() {
        let keys = MfaKeys::new(&Secret::new("k".repeat(32)));
        let (mut rows, codes) = account(&keys, &totp::new_secret());
        let found = match_code(&keys, 1, &rows, &codes[2], 0).expect("unused code");
        assert_eq!(found.used, Used::RecoveryCode { remaining: 9 });
        rows[1].data = found.new_data;
        assert_eq!(match_code(&keys, 1, &rows, &codes[2], 0), None, "spent");
        assert!(match_code(&keys, 1, &rows, &codes[3], 0).is_some());
    }

    #[test]
    fn another_accounts_secret_or_key_matches_nothing() {
        let keys = MfaKeys::new(&Secret::new("k".repeat(32)));
        let secret = totp::new_secret();
        let (rows, codes) = account(&keys, &secret);
        let now = 1_800_000_000;
        let code = totp::code_at(&secret, now);
        // The rows read as another account's: the sealed secret does not open.
        assert_eq!(match_code(&keys, 2, &rows, &code, now), None);
        assert_eq!(match_code(&keys, 2, &rows, &codes[0], now), None);
        let rotated = MfaKeys::new(&Secret::new("j".repeat(32)));
        assert_eq!(match_code(&rotated, 1, &rows, &code, now), None);
        assert_eq!(match_code(&keys, 1, &[], &code, now), None);
    }
}

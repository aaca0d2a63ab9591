//! Recovery codes: ten single-use codes made when the first second factor is switched on,
//! shown once, kept only as keyed hashes ([`MfaKeys::code_hash`]).
//!
//! A code is 12 characters from a 31-letter alphabet without look-alikes (no `0`/`o`,
//! `1`/`l`/`i`): about 59 bits each, shown as `xxxx-xxxx-xxxx`. Typed codes are compared
//! without case, spaces or dashes.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::keys::MfaKeys;

/// How many codes a set holds (allauth's `MFA_RECOVERY_CODE_COUNT`).
pub const COUNT: usize = 10;
const LENGTH: usize = 12;
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A set of codes as stored (`mfa_authenticators.data` of a `recovery_codes` row): the
/// hashes of the codes not used yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    /// Hashes of the unused codes.
    pub unused: Vec<String>,
}

/// A fresh set: the codes to show (once) and what to store.
pub fn generate(keys: &MfaKeys, user_id: i64) -> (Vec<String>, RecoveryCodes) {
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..COUNT)
        .map(|_| {
            (0..LENGTH)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    let stored = RecoveryCodes {
        unused: codes.iter().map(|c| keys.code_hash(user_id, c)).collect(),
    };
    let shown = codes
        .iter()
        .map(|c| format!("{}-{}-{}", &c[..4], &c[4..8], &c[8..]))
        .collect();
    (shown, stored)
}

/// `typed` without case, spaces or dashes, if it can be a recovery code at all.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

impl RecoveryCodes {
    /// The set without the code `typed`, if `typed` is one of its unused codes.
    pub fn spend(&self, keys: &MfaKeys, user_id: i64, typed: &str) -> Option<RecoveryCodes> {
        let hash = keys.code_hash(user_id, &normalise(typed)?);
        let position = self.unused.iter().position(|h| {
            // Constant time per comparison: the hashes are secret-derived.
            subtle::ConstantTimeEq::ct_eq(h.as_bytes(), hash.as_bytes()).into()
        })?;
        let mut unused = self.unused.clone();
        unused.remove(position);
        Some(RecoveryCodes { unused })
    }

    /// How many codes are left.
    pub fn remaining(&self) -> usize {
        self.unused.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn keys() -> MfaKeys {
        MfaKeys::new(&Secret::new("k".repeat(32)))
    }

    #[test]
    fn ten_distinct_codes_each_spendable_once() {
        let keys = keys();
        let (shown, mut stored) = generate(&keys, 7);
        assert_eq!(shown.len(), COUNT);
        let mut distinct = shown.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), COUNT);
        for (i, code) in shown.iter().enumerate() {
            assert_eq!(code.len(), 14, "{code}");
            stored = stored.spend(&keys, 7, code).expect("unused code");
            assert_eq!(stored.remaining(), COUNT - i - 1);
            assert_eq!(stored.spend(&keys, 7, code), None, "spent already");
        }
    }

    #[test]
    fn codes_are_read_without_case_spaces_or_dashes() {
        let keys = keys();
        let (shown, stored) = generate(&keys, 7);
        let typed = shown[3].to_uppercase().replace('-', " ");
        assert!(stored.spend(&keys, 7, &typed).is_some());
    }

    #[test]
    fn another_accounts_codes_and_garbage_are_refused() {
        let keys = keys();
        let (shown, stored) = generate(&keys, 7);
        assert_eq!(stored.spend(&keys, 8, &shown[0]), None);
        for typed in [
            "",
            "123456",
            "0000-0000-0000",
            "ééééééééééé",
            &"a".repeat(1000),
        ] {
            assert_eq!(stored.spend(&keys, 7, typed), None, "{typed:?}");
        }
    }
}

//! [`MfaKeys`]: the keys second factors are kept under, derived from `MFA_ENCRYPTION_KEY`.
//!
//! TOTP secrets must be readable by the server (it computes codes from them), so they are
//! encrypted, not hashed (ASVS 6.4): XChaCha20-Poly1305 with a random 192-bit nonce per
//! value, the owner's id as associated data (a secret copied onto another account's row does
//! not open). Recovery codes only need checking, so they are stored as HMAC-SHA-256 under a
//! second key: a stolen database alone gives neither the secrets nor the codes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

const NONCE_BYTES: usize = 24;

/// The encryption and hashing keys of second factors. Cheap to clone.
#[derive(Clone)]
pub struct MfaKeys {
    cipher: XChaCha20Poly1305,
    code_key: [u8; 32],
}

impl std::fmt::Debug for MfaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKeys(**redacted**)")
    }
}

/// HMAC-SHA-256 of `label` under `key`: one independent 256-bit key per use.
fn derive(key: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl MfaKeys {
    /// The keys derived from `MFA_ENCRYPTION_KEY`.
    pub fn new(key: &Secret) -> MfaKeys {
        MfaKeys {
            cipher: XChaCha20Poly1305::new(&derive(key.expose(), "mfa secret encryption").into()),
            code_key: derive(key.expose(), "mfa recovery code hashing"),
        }
    }

    /// `plaintext` encrypted and bound to `context`, as URL-safe base64 (nonce, then
    /// ciphertext and tag).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        // Encryption fails only for messages of gigabytes; these are bytes long.
        let sealed = self
            .cipher
            .encrypt(&nonce, payload)
            .expect("XChaCha20-Poly1305 encrypts short messages");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// What [`seal`](Self::seal) sealed with the same `context`; `None` for anything else
    /// (another key, another context, a changed byte, not base64).
    pub fn open(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }

    /// The stored form of recovery code `code` (normalised) of account `user_id`: hex
    /// HMAC-SHA-256.
    pub fn code_hash(&self, user_id: i64, code: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.code_key)
            .expect("HMAC takes any key length");
        mac.update(&user_id.to_be_bytes());
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let keys = MfaKeys::new(&Secret::new("k".repeat(32)));
        let sealed = keys.seal(b"secret", "totp:1");
        assert_eq!(
            keys.open(&sealed, "totp:1").as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(keys.open(&sealed, "totp:2"), None);
        let other = MfaKeys::new(&Secret::new("j".repeat(32)));
        assert_eq!(other.open(&sealed, "totp:1"), None);
        assert_eq!(keys.open("not base64!", "totp:1"), None);
        assert_eq!(keys.open("", "totp:1"), None);
        assert_ne!(
            keys.seal(b"secret", "totp:1"),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn code_hashes_depend_on_key_account_and_code() {
        let keys = MfaKeys::new(&Secret::new("k".repeat(32)));
        let hash = keys.code_hash(1, "abcd");
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, keys.code_hash(1, "abcd"));
        assert_ne!(hash, keys.code_hash(2, "abcd"));
        assert_ne!(hash, keys.code_hash(1, "abce"));
        let other = MfaKeys::new(&Secret::new("j".repeat(32)));
        assert_ne!(hash, other.code_hash(1, "abcd"));
    }
}

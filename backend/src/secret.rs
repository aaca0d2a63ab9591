//! [`Secret`]: a key or password from the configuration that must never be printed.

use std::fmt;

/// A secret value: never printed, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps `bytes` (a key, a password, a PEM file's contents).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The raw bytes, for the code that signs or keys with them. Keep them out of logs and
    /// error messages.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

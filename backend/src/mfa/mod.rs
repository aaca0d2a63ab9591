//! Second factors, in allauth.mfa's model (`mfa_authenticators` rows): an authenticator app
//! ([`totp`], RFC 6238) and [`recovery_codes`], kept under [`keys`]; the sign-ins waiting for
//! one ([`challenge`]); and the rules that keep an account from locking itself out
//! ([`policy`]). The use cases that enrol, remove and check factors are in `accounts`.

pub mod challenge;
pub mod code_check;
pub mod keys;
pub mod passkeys;
pub mod policy;
pub mod recovery_codes;
pub mod store;
pub mod totp;

pub use keys::MfaKeys;

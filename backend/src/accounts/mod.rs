//! Accounts: the use cases of signing up, signing in with a password, editing a profile,
//! and the account's lifecycle by mail (password reset and change, address verification
//! and change), beneath both transports. The REST API (`api/`) and the web forms (`web/`) call the same
//! functions with the same [`Fields`](crate::input::Fields), so rules, messages and rate
//! limits are identical field by field; each transport words an [`AccountError`] its own way.

mod activation;
pub mod administration;
mod deletion;
mod email_address;
mod error;
pub(crate) mod links;
mod mail_context;
pub mod passkeys;
mod password_change;
mod password_reset;
mod profile;
mod reauth;
pub mod rules;
pub mod second_factor;
mod second_step;
mod sign_in;
mod sign_up;

pub use activation::set_active;
pub use deletion::{delete_account, export_account, LAST_SUPERUSER};
pub use email_address::{
    request_email_change, resend_own_verification, resend_verification, verification_link_is_live,
    verify_email, Verified, NOT_VERIFIED,
};
pub use error::AccountError;
pub use mail_context::MailContext;
pub use password_change::{change_password, NEW_PASSWORDS_DIFFER, WRONG_OLD_PASSWORD};
pub use password_reset::{
    request_password_reset, reset_link_is_live, reset_password, uid_of, INVALID_LINK,
};
pub use profile::update_profile;
pub use reauth::{mark_authenticated, password_typed, Reauth};
pub use second_step::{begin_sign_in, SecondStep, SignInStep, SIGN_IN_EXPIRED, TOO_MANY_CODES};
pub use sign_in::{sign_in_with_password, start_sign_in, BAD_CREDENTIALS};
pub use sign_up::{create, sign_up, CreateError, Role, SignedUp};

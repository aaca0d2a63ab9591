//! Accounts: the use cases of signing up, signing in with a password and editing a profile,
//! beneath both transports. The REST API (`api/`) and the web forms (`web/`) call the same
//! functions with the same [`Fields`](crate::input::Fields), so rules, messages and rate
//! limits are identical field by field; each transport words an [`AccountError`] its own way.

mod activation;
mod error;
mod password_change;
mod profile;
pub mod rules;
mod sign_in;
mod sign_up;

pub use activation::set_active;
pub use error::AccountError;
pub use password_change::{change_password, MailContext, NEW_PASSWORDS_DIFFER, WRONG_OLD_PASSWORD};
pub use profile::update_profile;
pub use sign_in::{sign_in_with_password, start_sign_in, BAD_CREDENTIALS};
pub use sign_up::{create, sign_up, CreateError, Role};

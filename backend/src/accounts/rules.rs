//! The rules a new or renamed account must meet, with Django's messages (the words
//! dj-rest-auth clients show): shared by sign-up, profile edits and the command line.

use crate::auth::password::MAX_PASSWORD_BYTES;
use crate::auth::password_rules::{password_problems, similarity_problem};
use crate::db::{Db, DbError};
use crate::users::{self, USERNAME_MAX_CHARS};

/// Django's `UnicodeUsernameValidator` message, for a username with other characters.
pub const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
/// Django's `unique` message for `User.username` (compared ignoring case here).
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
/// Django's `EmailValidator` message; also covers addresses over 254 characters.
pub const INVALID_EMAIL: &str = "Enter a valid email address.";
/// allauth's message (through dj-rest-auth's `RegisterSerializer`) for an address already
/// in use. It reveals that the address has an account; kept for compatibility (contract
/// section 11), with the sign-up rate limit bounding the leak.
pub const EMAIL_TAKEN: &str = "A user is already registered with this e-mail address.";
/// dj-rest-auth's `RegisterSerializer` message when `password1` and `password2` differ.
pub const PASSWORD_MISMATCH: &str = "The two password fields didn't match.";

/// The problem with `username`, if any: length (150 characters, Django's `max_length`),
/// Django's `UnicodeUsernameValidator`, then uniqueness (case-insensitive; the user `except`
/// is ignored, for renames). The database's unique index still has the last word.
pub async fn username_problem(
    db: &Db,
    username: &str,
    except: Option<i64>,
) -> Result<Option<String>, DbError> {
    if username.chars().count() > USERNAME_MAX_CHARS {
        return Ok(Some(format!(
            "Ensure this field has no more than {USERNAME_MAX_CHARS} characters."
        )));
    }
    if !users::username_is_valid(username) {
        return Ok(Some(INVALID_USERNAME.to_owned()));
    }
    if users::login_name_taken(db, username, except).await? {
        return Ok(Some(USERNAME_TAKEN.to_owned()));
    }
    Ok(None)
}

/// The problem with `email`, if any: format, then uniqueness (case-insensitive).
pub async fn email_problem(db: &Db, email: &str) -> Result<Option<String>, DbError> {
    if !users::email_is_valid(email) {
        return Ok(Some(INVALID_EMAIL.to_owned()));
    }
    if users::login_name_taken(db, email, None).await? {
        return Ok(Some(EMAIL_TAKEN.to_owned()));
    }
    Ok(None)
}

/// Problems with the password on its own (length limit first: an over-long password is not
/// examined further).
pub fn password_problems_of(password: &str) -> Vec<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return vec![format!(
            "Ensure this field has no more than {MAX_PASSWORD_BYTES} characters."
        )];
    }
    password_problems(password)
}

/// Django's similarity check against the account's own username and email.
pub fn similarity(password: &str, username: &str, email: Option<&str>) -> Option<String> {
    similarity_problem(
        password,
        &[
            ("username", username),
            ("email address", email.unwrap_or_default()),
        ],
    )
}

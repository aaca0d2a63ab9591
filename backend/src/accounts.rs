//! The rules a new or renamed account must meet, shared by the API, the web pages and the
//! command line, with the messages clients show.

use crate::auth::password::{PasswordError, MAX_PASSWORD_BYTES};
use crate::auth::password_rules::{password_problems, similarity_problem};
use crate::db::{Db, DbError};
use crate::state::AppState;
use crate::users::{self, NewUser, User, UserError, USERNAME_MAX_CHARS};

pub const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
pub const INVALID_EMAIL: &str = "Enter a valid email address.";
pub const EMAIL_TAKEN: &str = "A user is already registered with this e-mail address.";
pub const PASSWORD_MISMATCH: &str = "The two password fields didn't match.";

/// Format, length and uniqueness (ignoring the user `except`, for renames).
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
    if users::username_taken(db, username, except).await? {
        return Ok(Some(USERNAME_TAKEN.to_owned()));
    }
    Ok(None)
}

pub async fn email_problem(db: &Db, email: &str) -> Result<Option<String>, DbError> {
    if !users::email_is_valid(email) {
        return Ok(Some(INVALID_EMAIL.to_owned()));
    }
    if users::email_taken(db, email).await? {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Member,
    /// `is_staff` and `is_superuser`.
    Administrator,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    User(#[from] UserError),
}

/// Hashes the password and stores the account. The caller has checked the rules above;
/// the database still has the last word on uniqueness (concurrent sign-ups).
pub async fn create(
    state: &AppState,
    username: &str,
    email: Option<&str>,
    password: &str,
    role: Role,
) -> Result<User, CreateError> {
    let hash = state.passwords.hash(password).await?;
    let admin = role == Role::Administrator;
    let user = users::insert(
        &state.db,
        NewUser {
            username,
            email,
            password_hash: Some(&hash),
            first_name: "",
            last_name: "",
            is_staff: admin,
            is_superuser: admin,
        },
    )
    .await?;
    Ok(user)
}

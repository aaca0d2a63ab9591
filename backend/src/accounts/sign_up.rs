//! Creating an account: the sign-up use case (API `register/` and the web form) and the
//! account creation it shares with `createsuperuser`.

use std::net::IpAddr;

use crate::auth::password::{PasswordError, Passwords};
use crate::auth::rate_limit::RateLimits;
use crate::auth::tokens::{TokenPair, Tokens};
use crate::db::Db;
use crate::input::{FieldErrors, Fields, Text, NON_FIELD_ERRORS};
use crate::users::{self, NewUser, User, UserError, USERNAME_MAX_CHARS};

use super::{rules, start_sign_in, AccountError};

/// Validates a sign-up (`username`, optional (but not blank) `email`, `password1`, `password2`: dj-rest-auth's
/// `RegisterSerializer`), creates the account and signs it in.
///
/// Field problems are all reported at once, in field order; then the two passwords must
/// match and the password must not resemble the username or email (both under
/// `non_field_errors`, as in dj-rest-auth). Rate-limited per client IP.
pub async fn sign_up(
    db: &Db,
    passwords: &Passwords,
    tokens: &Tokens,
    limits: &RateLimits,
    ip: IpAddr,
    fields: &Fields,
) -> Result<(User, TokenPair), AccountError> {
    limits.register(ip).await?;
    let mut errors = FieldErrors::new();
    let username = fields
        .text(
            "username",
            Text::REQUIRED.max(USERNAME_MAX_CHARS),
            &mut errors,
        )
        .map(|name| users::normalize_username(&name));
    // Optional, but not blank (dj-rest-auth's `EmailField(required=False)`).
    let email = fields.text("email", Text::OPTIONAL_NOT_BLANK, &mut errors);
    let password1 = fields.text("password1", Text::PASSWORD, &mut errors);
    let password2 = fields.text("password2", Text::PASSWORD, &mut errors);

    if let Some(name) = &username {
        if let Some(problem) = rules::username_problem(db, name, None).await? {
            errors.add("username", problem);
        }
    }
    if let Some(address) = &email {
        if let Some(problem) = rules::email_problem(db, address).await? {
            errors.add("email", problem);
        }
    }
    if let Some(password) = &password1 {
        for problem in rules::password_problems_of(password) {
            errors.add("password1", problem);
        }
    }
    errors.into_result()?;
    let (Some(username), Some(password1), Some(password2)) = (username, password1, password2)
    else {
        unreachable!("required fields are present when there are no errors");
    };

    if password1 != password2 {
        return Err(AccountError::invalid(
            NON_FIELD_ERRORS,
            rules::PASSWORD_MISMATCH,
        ));
    }
    if let Some(problem) = rules::similarity(&password1, &username, email.as_deref()) {
        return Err(AccountError::invalid(NON_FIELD_ERRORS, problem));
    }

    let user = create(
        db,
        passwords,
        &username,
        email.as_deref(),
        &password1,
        Role::Member,
    )
    .await?;
    tracing::info!(user_id = user.id, "user registered");
    let pair = start_sign_in(db, tokens, &user, "registration", None).await?;
    Ok((user, pair))
}

/// What a new account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An ordinary account: neither `is_staff` nor `is_superuser`. Every sign-up gets this.
    Member,
    /// `is_staff` and `is_superuser`.
    Administrator,
}

/// Why [`create`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Hashing the password failed (the hashing threads are gone, or argon2 refused).
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Username or email taken (by a concurrent sign-up), or the database failed.
    #[error(transparent)]
    User(#[from] UserError),
}

/// Hashes the password (argon2id) and stores the account. The caller has checked the rules
/// in [`rules`]; the database still has the last word on uniqueness (concurrent sign-ups).
pub async fn create(
    db: &Db,
    passwords: &Passwords,
    username: &str,
    email: Option<&str>,
    password: &str,
    role: Role,
) -> Result<User, CreateError> {
    let hash = passwords.hash(password).await?;
    let admin = role == Role::Administrator;
    let user = users::insert(
        db,
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

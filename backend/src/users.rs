//! The users table: queries, and the rules for usernames and email addresses.

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

use crate::db::{with_db, with_db_write};
use crate::db::{Db, DbError};

/// Django's `User.username` `max_length`, in characters.
pub const USERNAME_MAX_CHARS: usize = 150;
/// Django's `first_name` and `last_name` `max_length`, in characters.
pub const NAME_MAX_CHARS: usize = 150;
/// Longest email address accepted, in characters (Django's `EmailField` default).
pub const EMAIL_MAX_CHARS: usize = 254;

/// A row of the users table, shaped like Django's `AbstractUser`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    /// Primary key (the API's `pk`, the tokens' `user_id`).
    pub id: i64,
    /// As typed at sign-up; unique ignoring case.
    pub username: String,
    /// As typed; unique ignoring case. `None` when the account has no address (the API shows
    /// `""`).
    pub email: Option<String>,
    /// Given name; `""` when unknown (as in Django: blank, never NULL).
    pub first_name: String,
    /// Family name; `""` when unknown (as in Django: blank, never NULL).
    pub last_name: String,
    /// argon2id PHC string; `None` for an account created by social sign-in, which cannot
    /// sign in with a password.
    pub password_hash: Option<String>,
    /// `false` after `deactivate-user`: no sign-in, and every token of the user is refused.
    pub is_active: bool,
    /// Django's staff flag, set by `createsuperuser`; this server grants it no powers.
    pub is_staff: bool,
    /// Django's superuser flag, set by `createsuperuser`; this server grants it no powers.
    pub is_superuser: bool,
    /// When the account was created (UTC).
    pub date_joined: DateTime<Utc>,
    /// When the user last signed in (UTC); `None` if never.
    pub last_login: Option<DateTime<Utc>>,
}

/// The user as the API shows it (dj-rest-auth's `UserDetailsSerializer`), keys in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserDetails {
    /// The user's id, under DRF's name for a primary key.
    pub pk: i64,
    /// The username as stored.
    pub username: String,
    /// The address, or `""` when there is none (DRF's rendering of an empty `EmailField`).
    pub email: String,
    /// Given name; may be `""`.
    pub first_name: String,
    /// Family name; may be `""`.
    pub last_name: String,
}

impl From<&User> for UserDetails {
    fn from(u: &User) -> Self {
        UserDetails {
            pk: u.id,
            username: u.username.clone(),
            email: u.email.clone().unwrap_or_default(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
        }
    }
}

/// A row to insert. The caller has applied the account rules; the unique indexes still
/// decide between concurrent inserts.
pub struct NewUser<'a> {
    /// The username as typed (its lowercase key is derived here).
    pub username: &'a str,
    /// The address as typed; `None` for no address.
    pub email: Option<&'a str>,
    /// An argon2id PHC string; `None` for an account without a password (social sign-in).
    pub password_hash: Option<&'a str>,
    /// Given name: `""` at sign-up, the provider's for a social sign-in.
    pub first_name: &'a str,
    /// Family name: `""` at sign-up, the provider's for a social sign-in.
    pub last_name: &'a str,
    /// Django's staff flag.
    pub is_staff: bool,
    /// Django's superuser flag.
    pub is_superuser: bool,
}

/// Why a user could not be written.
#[derive(Debug, Error)]
pub enum UserError {
    /// The username's unique index refused the write (another user has it, ignoring case).
    #[error("a user with that username already exists")]
    UsernameTaken,
    /// The email's unique index refused the write (another user has it, ignoring case).
    #[error("a user is already registered with this e-mail address")]
    EmailTaken,
    /// Any other database failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for UserError {
    fn from(e: sqlx::Error) -> Self {
        // The unique indexes are the arbiter between concurrent sign-ups: whichever insert
        // loses gets the same field error a sequential check would have given.
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let what = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
                if what.contains("email_key") {
                    return UserError::EmailTaken;
                }
                if what.contains("username_key") {
                    return UserError::UsernameTaken;
                }
            }
        }
        UserError::Db(DbError::Query(e))
    }
}

/// Case-insensitive identity of a username or email (Unicode lowercase), the value the
/// unique indexes compare.
pub fn identity_key(value: &str) -> String {
    value.to_lowercase()
}

const COLUMNS: &str = "id, username, email, first_name, last_name, password_hash, is_active, \
                       is_staff, is_superuser, date_joined, last_login";

/// The user with primary key `id`, if any.
pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(with_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?)
}

/// The user whose username matches `username` ignoring case, if any.
pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username_key = $1");
    let key = identity_key(username);
    Ok(with_db!(db, pool => sqlx::query_as(&sql).bind(&key).fetch_optional(pool).await)?)
}

/// The user whose email address matches `email` ignoring case, if any.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email_key = $1");
    let key = identity_key(email);
    Ok(with_db!(db, pool => sqlx::query_as(&sql).bind(&key).fetch_optional(pool).await)?)
}

/// The user a sign-in identifier names: a username, or else an email address.
pub async fn find_by_login(db: &Db, identifier: &str) -> Result<Option<User>, DbError> {
    if let Some(user) = find_by_username(db, identifier).await? {
        return Ok(Some(user));
    }
    if identifier.contains('@') {
        return find_by_email(db, identifier).await;
    }
    Ok(None)
}

/// Whether another user has `username`, ignoring case. The user `except` does not count
/// (a rename that changes only the case).
pub async fn username_taken(db: &Db, username: &str, except: Option<i64>) -> Result<bool, DbError> {
    let key = identity_key(username);
    let found: Option<(i64,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id FROM users WHERE username_key = $1")
            .bind(&key)
            .fetch_optional(pool)
            .await
    })?;
    Ok(found.is_some_and(|(id,)| Some(id) != except))
}

/// Whether any user has `email`, ignoring case.
pub async fn email_taken(db: &Db, email: &str) -> Result<bool, DbError> {
    Ok(find_by_email(db, email).await?.is_some())
}

/// Inserts an active user joined now and returns the stored row.
///
/// Errors: [`UserError::UsernameTaken`] or [`UserError::EmailTaken`] when a unique index
/// refuses the row (a concurrent sign-up won), else [`UserError::Db`].
pub async fn insert(db: &Db, new: NewUser<'_>) -> Result<User, UserError> {
    let sql = format!(
        "INSERT INTO users (username, username_key, email, email_key, first_name, last_name, \
         password_hash, is_active, is_staff, is_superuser, date_joined) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10) RETURNING {COLUMNS}"
    );
    let now = Utc::now();
    let user = with_db_write!(db, pool => {
        sqlx::query_as(&sql)
            .bind(new.username)
            .bind(identity_key(new.username))
            .bind(new.email)
            .bind(new.email.map(identity_key))
            .bind(new.first_name)
            .bind(new.last_name)
            .bind(new.password_hash)
            .bind(new.is_staff)
            .bind(new.is_superuser)
            .bind(now)
            .fetch_one(pool)
            .await
    })?;
    Ok(user)
}

/// A profile edit; `None` leaves a column as it is, `Some("")` clears a name.
pub struct ProfileChange<'a> {
    /// The new username (its lowercase key follows); `None` keeps it.
    pub username: Option<&'a str>,
    /// The new first name; `None` keeps it.
    pub first_name: Option<&'a str>,
    /// The new last name; `None` keeps it.
    pub last_name: Option<&'a str>,
}

/// Applies `change` to user `id` and returns the updated row; `None` when there is no
/// such user. Rules are the caller's; a username taken meanwhile gives
/// [`UserError::UsernameTaken`].
pub async fn update_profile(
    db: &Db,
    id: i64,
    change: ProfileChange<'_>,
) -> Result<Option<User>, UserError> {
    let sql = format!(
        "UPDATE users SET \
           username = COALESCE($1, username), \
           username_key = COALESCE($2, username_key), \
           first_name = COALESCE($3, first_name), \
           last_name = COALESCE($4, last_name) \
         WHERE id = $5 RETURNING {COLUMNS}"
    );
    let user = with_db_write!(db, pool => {
        sqlx::query_as(&sql)
            .bind(change.username)
            .bind(change.username.map(identity_key))
            .bind(change.first_name)
            .bind(change.last_name)
            .bind(id)
            .fetch_optional(pool)
            .await
    })?;
    Ok(user)
}

/// Sets `last_login` to now and, when `new_hash` is given, replaces the password hash (a
/// hash upgraded to the current argon2 parameters).
pub async fn record_login(db: &Db, id: i64, new_hash: Option<&str>) -> Result<(), DbError> {
    let now = Utc::now();
    with_db_write!(db, pool => {
        sqlx::query(
            "UPDATE users SET last_login = $1, password_hash = COALESCE($2, password_hash) \
             WHERE id = $3",
        )
        .bind(now)
        .bind(new_hash)
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
    })?;
    Ok(())
}

/// Sets `is_active` on the user named `username` (ignoring case) and returns their id;
/// `None` when there is no such user. Sessions are left alone: see
/// [`accounts::set_active`](crate::accounts::set_active), which also ends them.
pub async fn set_active(db: &Db, username: &str, active: bool) -> Result<Option<i64>, DbError> {
    let key = identity_key(username);
    let row: Option<(i64,)> = with_db_write!(db, pool => {
        sqlx::query_as("UPDATE users SET is_active = $1 WHERE username_key = $2 RETURNING id")
            .bind(active)
            .bind(&key)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|(id,)| id))
}

/// Django's `UnicodeUsernameValidator`: letters, digits and `@ . + - _`.
pub fn username_is_valid(username: &str) -> bool {
    !username.is_empty()
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
}

/// A pragmatic version of Django's `EmailValidator`.
pub fn email_is_valid(email: &str) -> bool {
    if email.chars().count() > EMAIL_MAX_CHARS || email.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| {
            tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_like_django() {
        assert!(username_is_valid("alice"));
        assert!(username_is_valid("Zoë.o'connor".replace('\'', "").as_str()));
        assert!(username_is_valid("a+b-c_d@e.f"));
        assert!(!username_is_valid("has space"));
        assert!(!username_is_valid("semi;colon"));
        assert!(!username_is_valid(""));
    }

    #[test]
    fn emails() {
        assert!(email_is_valid("a@example.com"));
        assert!(email_is_valid("first.last+tag@sub.example.co.uk"));
        assert!(!email_is_valid("no-at-sign"));
        assert!(!email_is_valid("a@localhost"));
        assert!(!email_is_valid("a@@example.com"));
        assert!(!email_is_valid("a b@example.com"));
        assert!(!email_is_valid("a@example.123"));
        assert!(!email_is_valid(".a@example.com"));
    }

    #[test]
    fn identity_keys_fold_unicode_case() {
        assert_eq!(identity_key("ÉMILE"), identity_key("émile"));
    }
}

//! The users table: queries, and the rules for usernames and email addresses.

use caseless::Caseless;
use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

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
    /// Whether `email` is proven to be the owner's (a verification link was followed, or a
    /// social provider vouched for it). Only a verified address links a social sign-in on
    /// its own, and `ACCOUNT_EMAIL_VERIFICATION=mandatory` refuses sign-in without it.
    pub email_verified: bool,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    /// The username as typed (its identity key is derived here).
    pub username: &'a str,
    /// The address as typed; `None` for no address.
    pub email: Option<&'a str>,
    /// Whether a provider vouched for `email` (never at sign-up: the link does that).
    pub email_verified: bool,
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

/// The identity of a username or email address, the value uniqueness and sign-in compare:
/// Unicode compatibility caseless matching (NFKC, as Django normalises usernames, and full
/// case folding), so `Admin`, `admin`, `ａｄｍｉｎ` are one name, as are `straße` and
/// `STRASSE`.
pub fn identity_key(value: &str) -> String {
    // Unicode's compatibility caseless match (D146): NFKD(fold(NFKD(fold(NFD(x))))), then
    // NFC to keep keys short. Full case folding, not lowercasing: `ΚΟΣΜΟΣ` and `κοσμοσ`,
    // `straße` and `STRASSE` are one name.
    value
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkd()
        .nfc()
        .collect()
}

/// Django's `AbstractBaseUser.normalize_username`: the username in Unicode NFKC, so that
/// look-alike compatibility characters are stored as the plain ones they stand for.
pub fn normalize_username(username: &str) -> String {
    username.nfkc().collect()
}

const COLUMNS: &str =
    "id, username, email, email_verified, first_name, last_name, password_hash, is_active, \
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

/// Whether `value` (a username or an address, compared by [`identity_key`]) already names
/// an account other than `except` in the one namespace of sign-in identifiers: any
/// account's username or address.
pub async fn login_name_taken(db: &Db, value: &str, except: Option<i64>) -> Result<bool, DbError> {
    let key = identity_key(value);
    let found: Option<(i64,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT user_id FROM login_names WHERE name_key = $1")
            .bind(&key)
            .fetch_optional(pool)
            .await
    })?;
    Ok(found.is_some_and(|(id,)| Some(id) != except))
}

/// Claims a name in the one namespace of sign-in identifiers (`login_names`: the identity
/// key of every username and every address) for a user; no row is written when another
/// account holds it. The primary key decides between concurrent writers, as the unique
/// indexes do for usernames and addresses on their own, so a username can never equal
/// another account's address (or the reverse) and an identifier names one account.
const CLAIM_LOGIN_NAME: &str =
    "INSERT INTO login_names (name_key, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Claims `$key` for the user `$id` through `$executor` (a transaction) with
/// [`CLAIM_LOGIN_NAME`]: `Ok(true)` when it is theirs now, `Ok(false)` when another account
/// holds it.
macro_rules! claim_login_name {
    ($executor:expr, $key:expr, $id:expr) => {
        sqlx::query(CLAIM_LOGIN_NAME)
            .bind($key)
            .bind($id)
            .execute($executor)
            .await
            .map(|done| done.rows_affected() == 1)
    };
}

/// Inserts an active user joined now and returns the stored row.
///
/// Errors: [`UserError::UsernameTaken`] or [`UserError::EmailTaken`] when a unique index
/// refuses the row (a concurrent sign-up won), else [`UserError::Db`].
pub async fn insert(db: &Db, new: NewUser<'_>) -> Result<User, UserError> {
    let sql = format!(
        "INSERT INTO users (username, username_key, email, email_key, first_name, last_name, \
         password_hash, is_active, is_staff, is_superuser, date_joined, email_verified) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10, $11) RETURNING {COLUMNS}"
    );
    let now = Utc::now();
    let username_key = identity_key(new.username);
    // The address claims its own name only when it differs from the username.
    let email_key = new.email.map(identity_key).filter(|k| *k != username_key);
    with_db_write!(db, pool => {
        let mut tx = pool.begin().await?;
        let user: User = sqlx::query_as(&sql)
            .bind(new.username)
            .bind(&username_key)
            .bind(new.email)
            .bind(new.email.map(identity_key))
            .bind(new.first_name)
            .bind(new.last_name)
            .bind(new.password_hash)
            .bind(new.is_staff)
            .bind(new.is_superuser)
            .bind(now)
            .bind(new.email_verified && new.email.is_some())
            .fetch_one(&mut *tx)
            .await?;
        if !claim_login_name!(&mut *tx, &username_key, user.id)? {
            return Err(UserError::UsernameTaken);
        }
        if let Some(key) = &email_key {
            if !claim_login_name!(&mut *tx, key, user.id)? {
                return Err(UserError::EmailTaken);
            }
        }
        tx.commit().await?;
        Ok(user)
    })
}

/// A profile edit; `None` leaves a column as it is, `Some("")` clears a name.
pub struct ProfileChange<'a> {
    /// The new username (its identity key follows); `None` keeps it.
    pub username: Option<&'a str>,
    /// The new first name; `None` keeps it.
    pub first_name: Option<&'a str>,
    /// The new last name; `None` keeps it.
    pub last_name: Option<&'a str>,
}

/// Applies `change` to user `id` and returns the updated row; `None` when there is no
/// such user. `event` (an administrator's edit) is recorded in the same transaction. Rules
/// are the caller's; a username taken meanwhile gives [`UserError::UsernameTaken`].
pub async fn update_profile(
    db: &Db,
    id: i64,
    change: ProfileChange<'_>,
    event: Option<&crate::audit::Event<'_>>,
) -> Result<Option<User>, UserError> {
    let sql = format!(
        "UPDATE users SET \
           username = COALESCE($1, username), \
           username_key = COALESCE($2, username_key), \
           first_name = COALESCE($3, first_name), \
           last_name = COALESCE($4, last_name) \
         WHERE id = $5 RETURNING {COLUMNS}"
    );
    let new_key = change.username.map(identity_key);
    with_db_write!(db, pool => {
        let mut tx = pool.begin().await?;
        // A no-op write that locks the row (on PostgreSQL; SQLite has one writer anyway),
        // so that two renames of one account cannot both read the same old name.
        let old: Option<(String, Option<String>)> = sqlx::query_as(
            "UPDATE users SET username_key = username_key WHERE id = $1 \
             RETURNING username_key, email_key",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((old_key, email_key)) = old else {
            return Ok(None);
        };
        if let Some(key) = new_key.as_deref().filter(|k| *k != old_key) {
            // The old username's name is released unless the address still holds it.
            if email_key.as_deref() != Some(old_key.as_str()) {
                sqlx::query("DELETE FROM login_names WHERE name_key = $1 AND user_id = $2")
                    .bind(&old_key)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            if email_key.as_deref() != Some(key) && !claim_login_name!(&mut *tx, key, id)? {
                return Err(UserError::UsernameTaken);
            }
        }
        let user: Option<User> = sqlx::query_as(&sql)
            .bind(change.username)
            .bind(new_key.as_deref())
            .bind(change.first_name)
            .bind(change.last_name)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if let (Some(event), Some(_)) = (event, &user) {
            crate::audit::insert_event!(&mut *tx, event)?;
        }
        tx.commit().await?;
        if let (Some(event), Some(_)) = (event, &user) {
            event.log();
        }
        Ok(user)
    })
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

/// Replaces `id`'s password hash with `new_hash` (the same password, hashed with the current
/// parameters), without counting a login: a sign-in that still waits for its second factor.
pub async fn upgrade_password_hash(db: &Db, id: i64, new_hash: &str) -> Result<(), DbError> {
    with_db_write!(db, pool => {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(new_hash)
            .bind(id)
            .execute(pool)
            .await
            .map(drop)
    })?;
    Ok(())
}

/// The name of the one-off step that recomputes identity keys (compatibility caseless).
const NFKC_KEYS: &str = "identity_keys_caseless";

/// Data steps that SQL cannot do on both engines, run once per database after the schema
/// migrations (at start-up and by `server migrate`): recompute every identity key with
/// [`identity_key`] (keys were lowercased only, before). A key that would clash with
/// another account's is left as it was, with a warning naming both accounts.
pub async fn migrate_data(db: &Db) -> Result<(), DbError> {
    let done: Option<(String,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT name FROM data_migrations WHERE name = $1")
            .bind(NFKC_KEYS)
            .fetch_optional(pool)
            .await
    })?;
    if done.is_some() {
        return Ok(());
    }
    type Row = (i64, String, Option<String>, String, Option<String>);
    let rows: Vec<Row> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, username, email, username_key, email_key FROM users")
            .fetch_all(pool)
            .await
    })?;
    let mut changed = 0usize;
    for (id, username, email, old_username_key, old_email_key) in rows {
        let username_key = identity_key(&username);
        let email_key = email.as_deref().map(identity_key);
        if username_key == old_username_key && email_key == old_email_key {
            continue;
        }
        let rekeyed: Result<(), sqlx::Error> = with_db_write!(db, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET username_key = $1, email_key = $2 WHERE id = $3")
                .bind(&username_key)
                .bind(email_key.as_deref())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM login_names WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if !claim_login_name!(&mut *tx, &username_key, id)? {
                return Err(sqlx::Error::Protocol(format!(
                    "login name {username_key:?} is taken"
                )));
            }
            // The address claims its own name only when it differs from the username.
            if let Some(key) = email_key.as_ref().filter(|k| **k != username_key) {
                if !claim_login_name!(&mut *tx, key, id)? {
                    tracing::warn!(user_id = id, "this account's address is another account's username");
                }
            }
            tx.commit().await
        }
        .await);
        match rekeyed {
            Ok(()) => changed += 1,
            Err(error) => tracing::warn!(
                user_id = id,
                %error,
                "identity key not normalised: another account holds the normalised name"
            ),
        }
    }
    let now = Utc::now().timestamp();
    with_db_write!(db, pool => {
        sqlx::query(
            "INSERT INTO data_migrations (name, applied_at) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(NFKC_KEYS)
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })?;
    if changed > 0 {
        tracing::info!(accounts = changed, "identity keys normalised (NFKC)");
    }
    Ok(())
}

/// Control characters (which a terminal or log would act on) and the bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make a name
/// read differently from what it holds (CVE-2021-42574, "Trojan Source"). Names are shown
/// to people and written to logs, so neither belongs in one.
pub fn is_hidden_character(c: char) -> bool {
    c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Django's `UnicodeUsernameValidator`: letters, digits and `@ . + - _`.
pub fn username_is_valid(username: &str) -> bool {
    !username.is_empty()
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
}

/// A pragmatic version of Django's `EmailValidator`: a dot-atom local part of ASCII
/// letters, digits and `!#$%&'*+/=?^_`{|}~-` (as Django's `user_regex`; non-ASCII local
/// parts are refused because many mail systems cannot deliver to them and look-alike
/// letters would make two addresses that read the same), and a domain of at least two
/// labels whose top level is not all digits (internationalised domains pass).
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
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
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

    #[tokio::test]
    async fn the_data_step_rekeys_a_username_that_is_also_the_address() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        // A row keyed the old way (lowercase only): full-width letters stay full-width.
        with_db_write!(&db, pool => {
            sqlx::query(
                "INSERT INTO users (username, username_key, email, email_key, date_joined) \
                 VALUES ('ＡＮＮＡ@x.org', 'ａｎｎａ@x.org', 'ＡＮＮＡ@x.org', 'ａｎｎａ@x.org', \
                 '2026-01-01T00:00:00Z')",
            )
            .execute(pool)
            .await
            .map(drop)
        })
        .unwrap();
        with_db_write!(&db, pool => {
            sqlx::query("DELETE FROM data_migrations").execute(pool).await.map(drop)
        })
        .unwrap();
        migrate_data(&db).await.unwrap();
        let keys: Vec<(String,)> = with_db!(&db, pool => {
            sqlx::query_as("SELECT name_key FROM login_names").fetch_all(pool).await
        })
        .unwrap();
        assert_eq!(keys, [("anna@x.org".to_owned(),)]);
        assert!(find_by_login(&db, "Anna@X.org").await.unwrap().is_some());
    }

    #[test]
    fn identity_keys_fold_unicode_case() {
        assert_eq!(identity_key("ÉMILE"), identity_key("émile"));
        assert_eq!(identity_key("ΚΟΣΜΟΣ"), identity_key("κοσμοσ"));
        assert_eq!(identity_key("κόσμος"), identity_key("ΚΌΣΜΟΣ"));
        assert_eq!(identity_key("straße"), identity_key("STRASSE"));
        assert_eq!(identity_key("ａｄｍｉｎ１２３"), identity_key("Admin123"));
        assert_eq!(identity_key("e\u{301}"), identity_key("É"));
        assert_ne!(identity_key("admin"), identity_key("admín"));
    }
}

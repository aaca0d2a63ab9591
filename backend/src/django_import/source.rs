//! Reading a Django database (the seed stack's: `auth_user`, allauth's
//! `account_emailaddress` and `socialaccount_socialaccount`, simplejwt's `token_blacklist_*`),
//! on SQLite or PostgreSQL, read-only.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::ImportError;

/// A row of `auth_user`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DjangoUser {
    /// `id`, kept as our primary key (the tokens' `user_id`).
    pub id: i64,
    /// `username`, as Django stored it (NFKC already).
    pub username: String,
    /// `email`; `""` when none.
    pub email: String,
    /// `first_name`.
    pub first_name: String,
    /// `last_name`.
    pub last_name: String,
    /// `password`: `<algorithm>$…`, or `!…` when unusable.
    pub password: String,
    /// `is_active`.
    pub is_active: bool,
    /// `is_staff`.
    pub is_staff: bool,
    /// `is_superuser`.
    pub is_superuser: bool,
    /// `date_joined`.
    pub date_joined: DateTime<Utc>,
    /// `last_login`.
    pub last_login: Option<DateTime<Utc>>,
}

/// A row of allauth's `account_emailaddress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DjangoAddress {
    /// The account.
    pub user_id: i64,
    /// The address.
    pub email: String,
    /// Whether its owner confirmed it.
    pub verified: bool,
    /// Whether it is the account's primary address.
    pub primary: bool,
}

/// A row of allauth's `socialaccount_socialaccount`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DjangoSocialAccount {
    /// The account.
    pub user_id: i64,
    /// allauth's provider id (`google`, `github`, ...), which is ours too.
    pub provider: String,
    /// The provider's id for the person (Google's `sub`).
    pub uid: String,
    /// When it was linked.
    pub date_joined: DateTime<Utc>,
}

/// A refresh token simplejwt's blacklist holds (`token_blacklist_blacklistedtoken` joined
/// with `token_blacklist_outstandingtoken`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DjangoBlacklisted {
    /// The token's `jti`.
    pub jti: String,
    /// Its user.
    pub user_id: i64,
    /// Its `exp`.
    pub expires_at: DateTime<Utc>,
}

/// What the import reads. A table the Django project does not have is `None`.
#[derive(Clone, Debug, Default)]
pub struct DjangoData {
    /// `auth_user`, by id.
    pub users: Vec<DjangoUser>,
    /// `account_emailaddress` (allauth's account app).
    pub addresses: Option<Vec<DjangoAddress>>,
    /// `socialaccount_socialaccount` (allauth's socialaccount app).
    pub social_accounts: Option<Vec<DjangoSocialAccount>>,
    /// Blacklisted refresh tokens (simplejwt's token_blacklist app).
    pub blacklist: Option<Vec<DjangoBlacklisted>>,
}

const USERS: &str = "SELECT CAST(id AS BIGINT), username, email, first_name, last_name, password, \
     is_active, is_staff, is_superuser, CAST(date_joined AS TEXT), CAST(last_login AS TEXT) \
     FROM auth_user ORDER BY id";
const ADDRESSES: &str = "SELECT CAST(user_id AS BIGINT), email, verified, \"primary\" \
     FROM account_emailaddress ORDER BY id";
const SOCIAL_ACCOUNTS: &str = "SELECT CAST(user_id AS BIGINT), provider, uid, \
     CAST(date_joined AS TEXT) FROM socialaccount_socialaccount ORDER BY id";
const BLACKLIST: &str = "SELECT o.jti, CAST(o.user_id AS BIGINT), CAST(o.expires_at AS TEXT) \
     FROM token_blacklist_blacklistedtoken b \
     JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id \
     WHERE o.user_id IS NOT NULL ORDER BY b.id";

type UserRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    bool,
    bool,
    bool,
    String,
    Option<String>,
);

/// Reads everything from the Django database at `url` (`sqlite://…` or `postgres://…`),
/// opened read-only for SQLite. Errors: [`ImportError::Source`] when it cannot be opened or
/// read, [`ImportError::NotDjango`] without `auth_user`, [`ImportError::BadValue`] for a
/// timestamp that does not parse.
pub async fn read(url: &str) -> Result<DjangoData, ImportError> {
    let source = |e: sqlx::Error| ImportError::Source(e.to_string());
    macro_rules! read_all {
        ($pool:expr, $exists:expr) => {{
            let pool = $pool;
            let exists = |table: &'static str| {
                let pool = pool.clone();
                async move {
                    sqlx::query_as::<_, (i64,)>($exists)
                        .bind(table)
                        .fetch_one(&pool)
                        .await
                        .map(|(n,)| n > 0)
                }
            };
            if !exists("auth_user").await.map_err(source)? {
                return Err(ImportError::NotDjango);
            }
            let users: Vec<UserRow> = sqlx::query_as(USERS)
                .fetch_all(&pool)
                .await
                .map_err(source)?;
            let addresses: Option<Vec<(i64, String, bool, bool)>> =
                if exists("account_emailaddress").await.map_err(source)? {
                    Some(
                        sqlx::query_as(ADDRESSES)
                            .fetch_all(&pool)
                            .await
                            .map_err(source)?,
                    )
                } else {
                    None
                };
            let social: Option<Vec<(i64, String, String, String)>> =
                if exists("socialaccount_socialaccount")
                    .await
                    .map_err(source)?
                {
                    Some(
                        sqlx::query_as(SOCIAL_ACCOUNTS)
                            .fetch_all(&pool)
                            .await
                            .map_err(source)?,
                    )
                } else {
                    None
                };
            let blacklist: Option<Vec<(String, i64, String)>> =
                if exists("token_blacklist_blacklistedtoken")
                    .await
                    .map_err(source)?
                {
                    Some(
                        sqlx::query_as(BLACKLIST)
                            .fetch_all(&pool)
                            .await
                            .map_err(source)?,
                    )
                } else {
                    None
                };
            pool.close().await;
            (users, addresses, social, blacklist)
        }};
    }

    let (users, addresses, social, blacklist) = if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| ImportError::Source(e.to_string()))?
            .read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(source)?;
        read_all!(
            pool,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
        )
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Read-only sessions: the import can never change Django's database.
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| ImportError::Source(e.to_string()))?
            .options([("default_transaction_read_only", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(source)?;
        read_all!(
            pool,
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_name = $1 AND table_schema = ANY (current_schemas(false))"
        )
    } else {
        return Err(ImportError::Source(
            "--from must be a sqlite:// or postgres:// URL (the Django database's)".into(),
        ));
    };

    Ok(DjangoData {
        users: users
            .into_iter()
            .map(|r| {
                Ok(DjangoUser {
                    id: r.0,
                    username: r.1,
                    email: r.2,
                    first_name: r.3,
                    last_name: r.4,
                    password: r.5,
                    is_active: r.6,
                    is_staff: r.7,
                    is_superuser: r.8,
                    date_joined: timestamp(&r.9)?,
                    last_login: r.10.as_deref().map(timestamp).transpose()?,
                })
            })
            .collect::<Result<_, ImportError>>()?,
        addresses: addresses.map(|rows| {
            rows.into_iter()
                .map(|(user_id, email, verified, primary)| DjangoAddress {
                    user_id,
                    email,
                    verified,
                    primary,
                })
                .collect()
        }),
        social_accounts: social
            .map(|rows| {
                rows.into_iter()
                    .map(|(user_id, provider, uid, joined)| {
                        Ok(DjangoSocialAccount {
                            user_id,
                            provider,
                            uid,
                            date_joined: timestamp(&joined)?,
                        })
                    })
                    .collect::<Result<_, ImportError>>()
            })
            .transpose()?,
        blacklist: blacklist
            .map(|rows| {
                rows.into_iter()
                    .map(|(jti, user_id, expires)| {
                        Ok(DjangoBlacklisted {
                            jti,
                            user_id,
                            expires_at: timestamp(&expires)?,
                        })
                    })
                    .collect::<Result<_, ImportError>>()
            })
            .transpose()?,
    })
}

/// A Django timestamp as text: PostgreSQL's `timestamptz` (`2026-11-30 16:47:00.25+00`, in
/// the session's zone) or SQLite's naive UTC (`2026-11-30 16:47:00.252757`, what Django
/// writes with `USE_TZ = True`).
pub fn timestamp(text: &str) -> Result<DateTime<Utc>, ImportError> {
    let text = text.trim();
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(at) = DateTime::parse_from_str(text, format) {
            return Ok(at.to_utc());
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at.and_utc());
        }
    }
    Err(ImportError::BadValue(format!("timestamp {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn timestamps_of_both_engines() {
        let at = |t| timestamp(t).unwrap().to_rfc3339();
        assert_eq!(
            at("2026-11-30 16:47:00.252757"),
            "2026-11-30T16:47:00.252757+00:00"
        );
        assert_eq!(at("2026-11-30 16:47:00"), "2026-11-30T16:47:00+00:00");
        assert_eq!(
            at("2026-11-30 17:47:00.25+01"),
            "2026-11-30T16:47:00.250+00:00"
        );
        assert_eq!(at("2026-11-30 16:47:00+00:00"), "2026-11-30T16:47:00+00:00");
        assert!(timestamp("yesterday").is_err());
    }
}

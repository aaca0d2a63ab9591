//! `server import-django`: moves the seed stack's Django database onto ours without signing
//! anyone out. Copies `auth_user` (same primary keys; Django's password hashes as they are,
//! verified at sign-in and upgraded to argon2id then), allauth's primary addresses with
//! their verification, allauth's social accounts as identities, and simplejwt's blacklist;
//! see `README.md`, "Moving from Django".
//!
//! All or nothing: the plan ([`plan::plan`]) is worked out first, any clash stops the
//! import before a row is written, and the writes are one transaction. Idempotent: the
//! accounts a previous import wrote (`imported_users`) are compared, not copied again.

pub mod plan;
pub mod source;

use std::collections::HashMap;

use chrono::Utc;
use thiserror::Error;

use crate::db::{with_db, with_db_write, Db, DbError};
pub use plan::{Account, Plan};

/// Why an import did not happen.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The Django database could not be opened or read.
    #[error("cannot read the Django database: {0}")]
    Source(String),
    /// The database has no `auth_user` table.
    #[error("the database has no auth_user table: is it Django's (with django.contrib.auth)?")]
    NotDjango,
    /// A value in the Django database has an unexpected form.
    #[error("unexpected value in the Django database: {0}")]
    BadValue(String),
    /// Accounts clash with each other or with ours; nothing was written.
    #[error("nothing was imported: {} clash(es)", .0.len())]
    Clashes(Vec<String>),
    /// Our database failed; nothing was written.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Db(DbError::Query(e))
    }
}

/// Marks user `$2`'s password as changed here at `$1` (Unix seconds; a password change or
/// reset, in its transaction): a later import keeps it over Django's, and the account's
/// simplejwt tokens end as [`END_TOKENS`](crate::auth::tokens::legacy::END_TOKENS) ends
/// them. A no-op for accounts not imported.
pub const PASSWORD_SET_HERE: &str = "UPDATE imported_users \
     SET tokens_valid_after = $1, password_set_here = TRUE WHERE user_id = $2";

/// Rows per multi-row INSERT: 14 columns × 1,000 stays under both engines' bind limits.
const CHUNK: usize = 1_000;

/// Reads the Django database at `source_url`, works out the import into `target`, and
/// (unless `dry_run`) writes it in one transaction. `progress(done, total)` is called as
/// accounts are written. Returns the plan, which says what was (or would be) done.
///
/// Errors: [`ImportError::Clashes`] (with every clash) before anything is written; the
/// source's errors; [`ImportError::Db`].
pub async fn import(
    target: &Db,
    source_url: &str,
    dry_run: bool,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<Plan, ImportError> {
    let data = source::read(source_url).await?;
    let existing = existing(target).await?;
    let plan = plan::plan(&data, &existing, Utc::now());
    if !plan.clashes.is_empty() {
        return Err(ImportError::Clashes(plan.clashes));
    }
    if !dry_run {
        write(target, &plan, progress).await?;
    }
    Ok(plan)
}

/// What our database holds that the plan must respect.
async fn existing(db: &Db) -> Result<plan::Existing, ImportError> {
    type UserRow = (
        i64,
        String,
        Option<String>,
        bool,
        String,
        String,
        Option<String>,
        bool,
        bool,
        bool,
        chrono::DateTime<Utc>,
        Option<chrono::DateTime<Utc>>,
    );
    let users: Vec<UserRow> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, username, email, email_verified, first_name, last_name, \
                    password_hash, is_active, is_staff, is_superuser, date_joined, last_login \
             FROM users",
        )
        .fetch_all(pool)
        .await
    })?;
    let imported: Vec<(i64, String, bool)> = with_db!(db, pool => {
        sqlx::query_as("SELECT user_id, django, password_set_here FROM imported_users")
            .fetch_all(pool)
            .await
    })?;
    let names: Vec<(String, i64)> = with_db!(db, pool => {
        sqlx::query_as("SELECT name_key, user_id FROM login_names").fetch_all(pool).await
    })?;
    let links: Vec<(String, String, i64)> = with_db!(db, pool => {
        sqlx::query_as("SELECT provider, subject, user_id FROM identities").fetch_all(pool).await
    })?;
    let revoked: Vec<(String,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT jti_hash FROM legacy_refresh_tokens").fetch_all(pool).await
    })?;
    let mut existing = plan::Existing {
        login_names: names.into_iter().collect(),
        links_by_user: links
            .iter()
            .map(|(provider, _, user)| (*user, provider.clone()))
            .collect(),
        links: links
            .into_iter()
            .map(|(provider, subject, user)| ((provider, subject), user))
            .collect(),
        revoked: revoked.into_iter().map(|(hash,)| hash).collect(),
        ..Default::default()
    };
    let mut accounts = HashMap::new();
    for row in users {
        existing.users.insert(row.0, row.1.clone());
        accounts.insert(
            row.0,
            Account {
                id: row.0,
                username: row.1,
                email: row.2,
                email_verified: row.3,
                first_name: row.4,
                last_name: row.5,
                password_hash: row.6,
                is_active: row.7,
                is_staff: row.8,
                is_superuser: row.9,
                date_joined: row.10,
                last_login: row.11,
            },
        );
    }
    for (id, django, password_set_here) in imported {
        let django = serde_json::from_str(&django).map_err(|e| {
            ImportError::BadValue(format!("imported_users.django of user {id}: {e}"))
        })?;
        let now = accounts.remove(&id);
        existing.imported.insert(
            id,
            plan::Imported {
                now,
                django,
                password_set_here,
            },
        );
    }
    Ok(existing)
}

/// Writes `plan` in one transaction.
async fn write(
    db: &Db,
    plan: &Plan,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<(), ImportError> {
    use crate::users::identity_key;
    let now = Utc::now().timestamp();
    let total = plan.new_accounts.len() + plan.changes.len();
    let mut done = 0;
    let is_postgres = matches!(db, Db::Postgres(_));
    let snapshot =
        |account: &Account| serde_json::to_string(account).expect("an account serialises");
    let rewritten: Vec<&Account> = plan
        .changes
        .iter()
        .filter(|c| c.rewrites_account)
        .map(|c| &c.account)
        .collect();
    with_db_write!(db, pool => {
        let mut tx = pool.begin().await?;
        // Accounts written again first give up their names, so that a name that moved from
        // one imported account to another in Django moves here too, whatever the order.
        for chunk in rewritten.chunks(CHUNK) {
            let mut park = sqlx::QueryBuilder::new(
                "UPDATE users SET username_key = '#import#' || CAST(id AS TEXT), \
                 email_key = NULL WHERE id IN (",
            );
            let mut ids = park.separated(", ");
            for account in chunk {
                ids.push_bind(account.id);
            }
            park.push(")");
            park.build().execute(&mut *tx).await?;
            let mut delete = sqlx::QueryBuilder::new("DELETE FROM login_names WHERE user_id IN (");
            let mut ids = delete.separated(", ");
            for account in chunk {
                ids.push_bind(account.id);
            }
            delete.push(")");
            delete.build().execute(&mut *tx).await?;
        }
        for account in &rewritten {
            sqlx::query(
                "UPDATE users SET username = $1, username_key = $2, email = $3, email_key = $4, \
                   email_verified = $5, first_name = $6, last_name = $7, password_hash = $8, \
                   is_active = $9, is_staff = $10, is_superuser = $11, date_joined = $12, \
                   last_login = $13 WHERE id = $14",
            )
            .bind(&account.username)
            .bind(identity_key(&account.username))
            .bind(&account.email)
            .bind(account.email.as_deref().map(identity_key))
            .bind(account.email_verified)
            .bind(&account.first_name)
            .bind(&account.last_name)
            .bind(&account.password_hash)
            .bind(account.is_active)
            .bind(account.is_staff)
            .bind(account.is_superuser)
            .bind(account.date_joined)
            .bind(account.last_login)
            .bind(account.id)
            .execute(&mut *tx)
            .await?;
        }
        for change in &plan.changes {
            sqlx::query(
                "UPDATE imported_users SET imported_at = $1, django = $2 WHERE user_id = $3",
            )
            .bind(now)
            .bind(snapshot(&change.django))
            .bind(change.account.id)
            .execute(&mut *tx)
            .await?;
            done += 1;
            if done % 10_000 == 0 {
                progress(done, total);
            }
        }
        for chunk in plan.new_accounts.chunks(CHUNK) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO users (id, username, username_key, email, email_key, \
                 email_verified, first_name, last_name, password_hash, is_active, is_staff, \
                 is_superuser, date_joined, last_login) ",
            );
            insert.push_values(chunk, |mut row, account| {
                row.push_bind(account.id)
                    .push_bind(&account.username)
                    .push_bind(identity_key(&account.username))
                    .push_bind(&account.email)
                    .push_bind(account.email.as_deref().map(identity_key))
                    .push_bind(account.email_verified)
                    .push_bind(&account.first_name)
                    .push_bind(&account.last_name)
                    .push_bind(&account.password_hash)
                    .push_bind(account.is_active)
                    .push_bind(account.is_staff)
                    .push_bind(account.is_superuser)
                    .push_bind(account.date_joined)
                    .push_bind(account.last_login);
            });
            insert.build().execute(&mut *tx).await?;
            let mut imported = sqlx::QueryBuilder::new(
                "INSERT INTO imported_users (user_id, imported_at, django) ",
            );
            imported.push_values(chunk, |mut row, account| {
                row.push_bind(account.id)
                    .push_bind(now)
                    .push_bind(snapshot(&account.snapshot()));
            });
            imported.build().execute(&mut *tx).await?;
            let before = done;
            done += chunk.len();
            if done / 10_000 > before / 10_000 || done == total {
                progress(done, total);
            }
        }
        let names: Vec<(String, i64)> = rewritten
            .iter()
            .copied()
            .chain(&plan.new_accounts)
            .flat_map(|a| a.login_keys().into_iter().map(move |key| (key, a.id)))
            .collect();
        for chunk in names.chunks(CHUNK) {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO login_names (name_key, user_id) ");
            insert.push_values(chunk, |mut row, (key, id)| {
                row.push_bind(key).push_bind(*id);
            });
            insert.build().execute(&mut *tx).await?;
        }
        for chunk in plan.new_links.chunks(CHUNK) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO identities (provider, subject, user_id, created_at) ",
            );
            insert.push_values(chunk, |mut row, link| {
                row.push_bind(&link.provider)
                    .push_bind(&link.subject)
                    .push_bind(link.user_id)
                    .push_bind(link.created_at);
            });
            insert.build().execute(&mut *tx).await?;
        }
        for chunk in plan.revoked_tokens.chunks(CHUNK) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO legacy_refresh_tokens (jti_hash, user_id, state, expires_at, at) ",
            );
            insert.push_values(chunk, |mut row, token| {
                row.push_bind(&token.jti_hash)
                    .push_bind(token.user_id)
                    .push_bind(crate::auth::tokens::legacy::BLACKLISTED)
                    .push_bind(token.expires_at)
                    .push_bind(now);
            });
            insert.build().execute(&mut *tx).await?;
        }
        if is_postgres {
            // Explicit ids leave the identity behind: new sign-ups continue after the
            // highest imported id, and never below where it stood (an id deleted here is
            // never handed out again). SQLite's AUTOINCREMENT follows on its own.
            sqlx::query(
                "SELECT setval(s, GREATEST((SELECT MAX(id) FROM users), \
                                           COALESCE(pg_sequence_last_value(s), 0), 1)) \
                 FROM (SELECT pg_get_serial_sequence('users', 'id')::regclass AS s) q",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    })?;
    Ok(())
}

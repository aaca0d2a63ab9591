//! Database access: one pool, SQLite (embedded default) or PostgreSQL (production).
//!
//! The two engines get separate migration folders because their DDL differs (identity
//! columns, timestamp types); the queries themselves are written once in the portable
//! subset both accept (`$1` placeholders, `RETURNING`) and run through [`Db::with`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use thiserror::Error;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Error)]
pub enum DbError {
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    #[error("cannot create the directory for the SQLite database: {0}")]
    CreateDir(std::io::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// Runs the same query-building expression against whichever pool is configured: `$pool`
/// is bound to the concrete pool, so `sqlx::query(..).fetch_one($pool)` type-checks for each
/// engine while the SQL is written once.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Connects (creating the SQLite file and its directory on first start) and migrates.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        let db = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::InvalidUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL makes NORMAL durable against application crashes; only a power loss
                // can lose the last transactions, never corrupt the file.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            if let Some(parent) = options.get_filename().parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(DbError::CreateDir)?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(DbError::Connect)?;
            Db::Sqlite(pool)
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .map_err(DbError::Connect)?;
            Db::Postgres(pool)
        };
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// A round trip to the database, for readiness probes.
    pub async fn ping(&self) -> Result<(), DbError> {
        with_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_is_created_and_migrated_on_first_connect() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/app.db", dir.path().display());
        let db = Db::connect(&url, 2).await.unwrap();
        db.ping().await.unwrap();
        let (count,): (i64,) = with_db!(&db, pool =>
            sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(pool).await)
        .unwrap();
        assert_eq!(count, 0);
        // A second start finds the schema in place and migrates nothing.
        db.close().await;
        Db::connect(&url, 2).await.unwrap();
    }

    #[tokio::test]
    async fn bad_url_is_a_clear_error() {
        let err = Db::connect("sqlite://x.db?mode=sideways", 1)
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::InvalidUrl(_)), "{err}");
        let err = Db::connect("postgres://nobody@127.0.0.1:1/none", 1)
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::Connect(_)), "{err}");
    }
}

//! The staff user list at scale: 1,000,000 generated accounts in SQLite and in PostgreSQL,
//! and the latency of `/admin/users` pages as a signed-in superuser sees them (the whole
//! page: session, query, rendering): the first page and page 5,000 of each sort order,
//! searches, filters. One request at a time, 200 of each; the p99 of every kind must stay
//! under 50 ms. Part of `api_load` (`scripts/bench`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{admin_command, session_cookie, ScratchDatabase, Server, PASSWORD};

/// Accounts generated.
pub const USERS: i64 = 1_000_000;
/// Requests of each kind.
const ROUNDS: usize = 200;
/// Rows a page shows (`directory::PAGE_SIZE`).
const PAGE: i64 = 50;

/// One kind of page and its latency.
pub struct Latency {
    pub what: String,
    pub p50: Duration,
    pub p99: Duration,
}

/// Per engine: the kinds of page measured; `None` when PostgreSQL could not be reached.
pub struct Measured {
    pub sqlite: Vec<Latency>,
    pub postgres: Option<Vec<Latency>>,
}

fn command(binary: &str, database_url: &str, data_dir: &Path, args: &[&str]) {
    let out = admin_command(binary, database_url, data_dir)
        .env("SUPERUSER_PASSWORD", PASSWORD)
        .args(args)
        .output()
        .expect("run the server binary");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The generated accounts: `user<i>` joined every 30 s from November 2023, two in three
/// signed in (some at the same second), one in a hundred deactivated, one in a hundred with
/// a GitHub identity, one in two hundred with a second factor, one in ten thousand staff,
/// half of the addresses verified.
const SQLITE_USERS: &str = "\
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
    INSERT INTO users (username, username_key, email, email_key, email_verified, is_active, \
                       is_staff, date_joined, last_login) \
    SELECT 'user' || i, 'user' || i, 'user' || i || '@example.com', \
           'user' || i || '@example.com', i % 2 = 0, i % 100 <> 7, i % 10000 = 3, \
           strftime('%Y-%m-%dT%H:%M:%S+00:00', 1700000000 + i * 30, 'unixepoch'), \
           CASE WHEN i % 3 = 0 THEN NULL \
                ELSE strftime('%Y-%m-%dT%H:%M:%S+00:00', 1750000000 + (i * 7919) % 5000000, \
                              'unixepoch') END \
    FROM n";

const POSTGRES_USERS: &str = "\
    INSERT INTO users (username, username_key, email, email_key, email_verified, is_active, \
                       is_staff, date_joined, last_login) \
    SELECT 'user' || i, 'user' || i, 'user' || i || '@example.com', \
           'user' || i || '@example.com', i % 2 = 0, i % 100 <> 7, i % 10000 = 3, \
           to_timestamp(1700000000 + i * 30), \
           CASE WHEN i % 3 = 0 THEN NULL \
                ELSE to_timestamp(1750000000 + (i * 7919) % 5000000) END \
    FROM generate_series(1, $1::bigint) AS i";

const IDENTITIES: &str = "\
    INSERT INTO identities (provider, subject, user_id, created_at) \
    SELECT 'github', 'gh-' || id, id, 1700000000 FROM users WHERE id % 100 = 11";

const FACTORS: &str = "\
    INSERT INTO mfa_authenticators (user_id, type, data, created_at) \
    SELECT id, 'totp', '{}', 1700000000 FROM users WHERE id % 200 = 13";

/// Fills a migrated, empty database.
async fn generate(database_url: &str) {
    use sqlx::Connection;
    let started = Instant::now();
    if database_url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query(SQLITE_USERS)
            .bind(USERS)
            .execute(&mut db)
            .await
            .unwrap();
        for sql in [IDENTITIES, FACTORS, "ANALYZE"] {
            sqlx::query(sql).execute(&mut db).await.unwrap();
        }
    } else {
        let mut db = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query(POSTGRES_USERS)
            .bind(USERS)
            .execute(&mut db)
            .await
            .unwrap();
        for sql in [IDENTITIES, FACTORS] {
            sqlx::query(sql).execute(&mut db).await.unwrap();
        }
        sqlx::query("VACUUM ANALYZE users")
            .execute(&mut db)
            .await
            .unwrap();
    }
    println!(
        "  generated {USERS} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The cursor of the row ending page 5,000 of an order (`Cursor::encode`'s format), read
/// from the database, and the id of the row after it (the first of page 5,001, which the
/// page must show first).
async fn deep_cursor(database_url: &str, order: &str, column: &str) -> (String, i64) {
    use sqlx::Connection;
    let offset = PAGE * 5_000 - 1;
    let sql = format!(
        "SELECT {column}, id FROM users WHERE {column} IS NOT NULL ORDER BY {order} \
         LIMIT 2 OFFSET {offset}"
    );
    let rows: Vec<(chrono::DateTime<chrono::Utc>, i64)> = if database_url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_as(&sql).fetch_all(&mut db).await.unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query_as(&sql).fetch_all(&mut db).await.unwrap()
    };
    let (at, id) = rows[0];
    (
        format!(
            "t{}.{:09}.{id}",
            at.timestamp(),
            at.timestamp_subsec_nanos()
        ),
        rows[1].1,
    )
}

/// The same for the accounts that never signed in, by id (`n<id>`).
async fn deep_never_cursor(database_url: &str) -> (String, i64) {
    use sqlx::Connection;
    let sql = format!(
        "SELECT id FROM users WHERE last_login IS NULL ORDER BY id LIMIT 2 OFFSET {}",
        PAGE * 5_000 - 1
    );
    let rows: Vec<(i64,)> = if database_url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_as(&sql).fetch_all(&mut db).await.unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query_as(&sql).fetch_all(&mut db).await.unwrap()
    };
    (format!("n{}", rows[0].0), rows[1].0)
}

/// A browser session of the superuser `root`.
async fn superuser_session(base: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/signin"))
        .header("origin", base)
        .form(&[("username", "root"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign in as root");
    session_cookie(&res)
}

async fn measure(database_url: &str, binary: &str) -> Vec<Latency> {
    let server = Server::start_with(binary, &[("DATABASE_URL", database_url)]);
    server.wait_ready(Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    let cookie = superuser_session(&server.base).await;
    let joined = deep_cursor(database_url, "date_joined DESC, id DESC", "date_joined").await;
    let joined_asc = deep_cursor(database_url, "date_joined, id", "date_joined").await;
    let signed_in = deep_cursor(database_url, "last_login DESC, id DESC", "last_login").await;
    let never = deep_never_cursor(database_url).await;
    // (what, query, the id the page must list first when it is known)
    let pages: Vec<(&str, String, Option<i64>)> = vec![
        (
            "first page, newest first (the superuser, made last)",
            String::new(),
            Some(USERS + 1),
        ),
        (
            "page 5,000, newest first",
            format!("after={}", joined.0),
            Some(joined.1),
        ),
        (
            "page 5,000, oldest first",
            format!("sort=joined_asc&after={}", joined_asc.0),
            Some(joined_asc.1),
        ),
        (
            "first page, recently signed in",
            "sort=last_login".into(),
            None,
        ),
        (
            "page 5,000, recently signed in",
            format!("sort=last_login&after={}", signed_in.0),
            Some(signed_in.1),
        ),
        (
            "first page, least recently signed in",
            "sort=last_login_asc".into(),
            Some(3),
        ),
        (
            "page 5,000, least recently signed in (never)",
            format!("sort=last_login_asc&after={}", never.0),
            Some(never.1),
        ),
        (
            "page 4,999 (previous), newest first",
            format!("before={}", joined.0),
            None,
        ),
        (
            "search a username prefix (111,111 matches)",
            "q=user1".into(),
            Some(1),
        ),
        (
            "search a username prefix (1 match)",
            "q=user123456".into(),
            Some(123_456),
        ),
        ("search an address prefix", "q=user99%40".into(), Some(99)),
        ("search an id", "q=654321".into(), Some(654_321)),
        ("search with no match", "q=nobody".into(), None),
        ("filter: deactivated", "active=no".into(), None),
        ("filter: staff", "staff=yes".into(), None),
        (
            "filter: staff, recently signed in",
            "staff=yes&sort=last_login".into(),
            None,
        ),
        ("filter: social sign-in", "social=yes".into(), None),
        ("filter: second factor", "mfa=yes".into(), None),
        (
            "filter: verified, recently signed in",
            "verified=yes&sort=last_login".into(),
            None,
        ),
        (
            "search + filter: prefix, social sign-in",
            "q=user1&social=yes".into(),
            None,
        ),
    ];
    let mut results = Vec::new();
    for (what, query, first_id) in pages {
        let url = format!("{}/admin/users?{query}", server.base);
        let mut samples = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS + 5 {
            let started = Instant::now();
            let res = client
                .get(&url)
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            let took = started.elapsed();
            assert_eq!(status, 200, "{what}");
            if round == 0 {
                let first = body
                    .split("data-testid=\"user-row\" data-id=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .and_then(|id| id.parse::<i64>().ok());
                match first_id {
                    Some(id) => assert_eq!(first, Some(id), "{what}: the right first row"),
                    None if query.contains("nobody") => assert_eq!(first, None, "{what}"),
                    None => assert!(first.is_some(), "{what}: rows"),
                }
            }
            // The first few warm the caches.
            if round >= 5 {
                samples.push(took);
            }
        }
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        results.push(Latency {
            what: what.to_owned(),
            p50: at(0.5),
            p99: at(0.99),
        });
    }
    results
}

fn print(engine: &str, results: &[Latency]) {
    println!(
        "\n/admin/users with {USERS} accounts, {engine} ({ROUNDS} requests each, one at a time):"
    );
    for r in results {
        println!(
            "  {:<46} p50 {:>6.1} ms   p99 {:>6.1} ms",
            r.what,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3
        );
    }
}

async fn postgres(binary: &str, data_dir: &Path) -> Option<Vec<Latency>> {
    let database = ScratchDatabase::create("las_bench_admin").await?;
    let url = database.url.clone();
    command(binary, &url, data_dir, &["migrate"]);
    generate(&url).await;
    command(
        binary,
        &url,
        data_dir,
        &[
            "createsuperuser",
            "--noinput",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
    );
    let results = measure(&url, binary).await;
    database.drop().await;
    Some(results)
}

pub async fn run(binary: &str) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("admin.db");
    let url = format!("sqlite://{}", database.display());
    println!("\nthe staff user list, SQLite:");
    command(binary, &url, dir.path(), &["migrate"]);
    generate(&url).await;
    command(
        binary,
        &url,
        dir.path(),
        &[
            "createsuperuser",
            "--noinput",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
    );
    let sqlite = measure(&url, binary).await;
    print("SQLite", &sqlite);
    println!("\nthe staff user list, PostgreSQL:");
    let postgres = postgres(binary, dir.path()).await;
    match &postgres {
        Some(results) => print("PostgreSQL", results),
        None => println!("  PostgreSQL unreachable"),
    }
    Measured { sqlite, postgres }
}

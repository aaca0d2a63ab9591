//! Moving from Django at scale: `import-django` of 100,000 generated users (allauth
//! addresses, a Google account for one in ten, Django 4.2's PBKDF2 hashes) into SQLite and
//! PostgreSQL, a second run that must change nothing, and sign-in timing on the imported
//! database (a wrong password on an account still on its Django hash against an unknown
//! name). Part of `api_load` (`scripts/bench`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{admin_command, paired_medians, ScratchDatabase, Server};

/// Users in the generated Django database.
pub const USERS: usize = 100_000;

/// What the scenario measured.
pub struct Measured {
    /// Wall time of the first import into SQLite and into PostgreSQL.
    pub sqlite: Duration,
    /// (`None` when PostgreSQL could not be reached.)
    pub postgres: Option<Duration>,
    /// Wall time of the second import into SQLite, and whether it said it had nothing to do.
    pub again: Duration,
    /// Whether the second run changed nothing.
    pub idempotent: bool,
    /// Median sign-in refusals: an account on its Django hash, an unknown name.
    pub refusals: [Duration; 2],
    /// Whether both refusals had the same status and body.
    pub refusals_same: bool,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The generated Django database, made once and kept in target/bench.
fn django_database() -> PathBuf {
    let path = workspace().join(format!("target/bench/django-{USERS}.sqlite3"));
    if path.exists() {
        return path;
    }
    let python = workspace().join(".tools/django/bin/python");
    println!("generating a Django database of {USERS} users (once) ...");
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let status = Command::new(python)
        .arg(workspace().join("server/tests/django/seed_stack.py"))
        .args(["bulk", "--users", &USERS.to_string(), "--database"])
        .arg(format!("sqlite://{}", partial.display()))
        .status()
        .expect("run seed_stack.py (scripts/setup --test installs the Django stack)");
    assert!(status.success(), "seed_stack.py bulk failed");
    std::fs::rename(&partial, &path).unwrap();
    path
}

/// `binary import-django --from source` into `database_url`: wall time and stdout.
fn import(binary: &str, source: &Path, database_url: &str, data_dir: &Path) -> (Duration, String) {
    let started = Instant::now();
    let out = admin_command(binary, database_url, data_dir)
        .args(["import-django", "--from"])
        .arg(format!("sqlite://{}", source.display()))
        .output()
        .expect("run import-django");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "import-django failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn postgres_import(binary: &str, source: &Path, data_dir: &Path) -> Option<Duration> {
    let database = ScratchDatabase::create("las_bench_import").await?;
    let (took, _) = import(binary, source, &database.url, data_dir);
    database.drop().await;
    Some(took)
}

pub async fn run(binary: &str) -> Measured {
    let source = django_database();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("imported.db");
    let database_url = format!("sqlite://{}", database.display());
    let (sqlite, out) = import(binary, &source, &database_url, dir.path());
    assert!(out.contains(&format!("{USERS} new")), "{out}");
    let (again, out) = import(binary, &source, &database_url, dir.path());
    let idempotent = out.contains("Nothing to do");
    let postgres = postgres_import(binary, &source, dir.path()).await;
    println!(
        "import-django, {USERS} users: SQLite {:.1} s, PostgreSQL {}, second run (no-op) {:.1} s",
        sqlite.as_secs_f64(),
        postgres.map_or("unreachable".to_owned(), |d| format!(
            "{:.1} s",
            d.as_secs_f64()
        )),
        again.as_secs_f64()
    );

    let server = Server::start_with(binary, &[("DATABASE_URL", database_url.as_str())]);
    server.wait_ready(Duration::from_secs(20)).await;
    let known = |round: usize| json!({"username": format!("user{}", round + 1), "password": "wrong password"});
    let unknown =
        |round: usize| json!({"username": format!("nobody{round}"), "password": "wrong password"});
    let (refusals, refusals_same) =
        paired_medians(&server.base, "/api/auth/login/", [&known, &unknown], 15).await;
    println!(
        "wrong password, Django-hashed account: median {:.0} ms; unknown name: {:.0} ms",
        refusals[0].as_secs_f64() * 1000.0,
        refusals[1].as_secs_f64() * 1000.0
    );
    Measured {
        sqlite,
        postgres,
        again,
        idempotent,
        refusals,
        refusals_same,
    }
}

//! Load benchmark of the release binary: requests/s and latency percentiles for the API's
//! hot endpoints and the server-rendered pages (`/signin`, and `/profile` with a signed-in
//! session), all measured in one run against `GET /healthz` as the baseline; the server's
//! peak RSS; and the bytes (raw and gzip) of JS + WASM + CSS a browser downloads for
//! `/profile`.
//!
//! Run with `scripts/bench` (builds the release binary first), or:
//! `cargo bench -p server --bench api_load -- target/release/server`
//!
//! Then `import-django` of 100,000 generated Django users (see `django_import.rs`), and the
//! staff user list over 1,000,000 accounts on both engines (see `admin_list.rs`).
//!
//! Settings: BENCH_SECONDS (per scenario, default 10), BENCH_CONCURRENCY (default 32).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "support/admin_list.rs"]
mod admin_list;
#[path = "support/django_import.rs"]
mod django_import;

const PASSWORD: &str = "benchmark-password-42";

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(binary: &str) -> Server {
        Server::start_with(binary, &[])
    }

    /// A server with extra environment (`ACCOUNT_EMAIL_VERIFICATION=mandatory`, say).
    fn start_with(binary: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", dir.path().join("data"))
            .env("RATE_LIMIT_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Waits until `GET /healthz` answers, for at most `within`.
    async fn wait_ready(&self, within: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + within;
        while client
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Peak resident set size so far, from /proc (Linux).
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }
}

/// Median of `samples`.
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Sends `bodies[0]` and `bodies[1]` to `path` alternately, one at a time, `rounds` times
/// each, and returns the median latency of each (the answers must be identical: same
/// status, same body). Alternating means both see the same machine.
async fn paired_medians(
    base: &str,
    path: &str,
    bodies: [&dyn Fn(usize) -> Value; 2],
    rounds: usize,
) -> ([Duration; 2], bool) {
    let client = reqwest::Client::new();
    let mut latencies = [Vec::new(), Vec::new()];
    let mut answers: [Option<(u16, String)>; 2] = [None, None];
    let mut identical = true;
    for round in 0..rounds {
        for (which, body) in bodies.iter().enumerate() {
            let started = Instant::now();
            let res = client
                .post(format!("{base}{path}"))
                .json(&body(round))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            latencies[which].push(started.elapsed());
            let answer = (status, text);
            match &answers[which] {
                None => answers[which] = Some(answer),
                Some(first) => identical &= *first == answer,
            }
        }
    }
    identical &= answers[0] == answers[1];
    let [mut a, mut b] = latencies;
    ([median(&mut a), median(&mut b)], identical)
}

/// Bodies are serialised once up front, so the load generator (which shares the CPUs with
/// the server) spends as little as possible per request.
#[derive(Clone)]
enum Request {
    Get {
        path: &'static str,
        token: Option<String>,
        cookie: Option<String>,
    },
    PostJson {
        path: &'static str,
        body: bytes::Bytes,
    },
}

fn post(path: &'static str, body: Value) -> Request {
    Request::PostJson {
        path,
        body: serde_json::to_vec(&body).unwrap().into(),
    }
}

struct Outcome {
    name: String,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }
}

async fn send(client: &reqwest::Client, base: &str, req: &Request) -> Result<bytes::Bytes, ()> {
    let res = match req {
        Request::Get {
            path,
            token,
            cookie,
        } => {
            let mut r = client.get(format!("{base}{path}"));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            if let Some(c) = cookie {
                r = r.header("cookie", c);
            }
            r.send().await
        }
        Request::PostJson { path, body } => {
            client
                .post(format!("{base}{path}"))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
        }
    }
    .map_err(|_| ())?;
    if !res.status().is_success() {
        return Err(());
    }
    res.bytes().await.map_err(|_| ())
}

/// `concurrency` workers loop for `duration`; `next` gives each worker's next request from
/// the previous response (so refresh tokens can be chained per worker).
async fn run<F>(
    name: &str,
    base: &str,
    concurrency: usize,
    duration: Duration,
    first: Vec<Request>,
    next: F,
) -> Outcome
where
    F: Fn(&Request, &[u8]) -> Request + Send + Sync + 'static,
{
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(next);
    let started = Instant::now();
    let mut workers = Vec::new();
    for request in first.into_iter().take(concurrency) {
        let (client, stop, next, base) =
            (client.clone(), stop.clone(), next.clone(), base.to_owned());
        workers.push(tokio::spawn(async move {
            let mut request = request;
            let mut latencies = Vec::new();
            let mut errors = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match send(&client, &base, &request).await {
                    Ok(body) => {
                        latencies.push(t.elapsed());
                        request = next(&request, &body);
                    }
                    Err(()) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcome = Outcome {
        name: name.to_owned(),
        requests: 0,
        errors: 0,
        elapsed: started.elapsed(),
        latencies: Vec::new(),
    };
    for w in workers {
        let (latencies, errors) = w.await.unwrap();
        outcome.requests += latencies.len();
        outcome.errors += errors;
        outcome.latencies.extend(latencies);
    }
    outcome.elapsed = started.elapsed();
    outcome
}

fn same(request: &Request, _: &[u8]) -> Request {
    request.clone()
}

async fn sign_in(client: &reqwest::Client, base: &str, username: &str) -> Value {
    client
        .post(format!("{base}/api/auth/login/"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Signs up through the web form, as a browser does; returns the session cookie.
async fn browser_session(base: &str, username: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/signup"))
        .header("origin", base)
        .form(&[
            ("username", username),
            ("password1", PASSWORD),
            ("password2", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "web sign-up");
    session_cookie(&res)
}

/// The session cookie (`las_session=…`) a sign-up or sign-in response set.
fn session_cookie(res: &reqwest::Response) -> String {
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("las_session="))
        .expect("a session cookie");
    cookie.split(';').next().unwrap().to_owned()
}

/// A throwaway PostgreSQL database on `TEST_POSTGRES_URL`'s server, dropped with
/// [`ScratchDatabase::drop`].
struct ScratchDatabase {
    admin: sqlx::PgConnection,
    name: String,
    /// Its `DATABASE_URL`.
    url: String,
}

impl ScratchDatabase {
    /// A fresh database named `<prefix>_<pid>`; `None` when the server cannot be reached.
    async fn create(prefix: &str) -> Option<ScratchDatabase> {
        use sqlx::Connection;
        let server = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let mut admin = sqlx::PgConnection::connect(&server).await.ok()?;
        let name = format!("{prefix}_{}", std::process::id());
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(&sql).execute(&mut admin).await.unwrap();
        }
        let (base, _) = server.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        Some(ScratchDatabase { admin, name, url })
    }

    async fn drop(mut self) {
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .execute(&mut self.admin)
            .await
            .unwrap();
    }
}

/// The server binary as an admin command against `database_url` (quiet, nothing from this
/// environment but `PATH`); the caller adds the arguments.
fn admin_command(binary: &str, database_url: &str, data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    command
}

/// What a browser downloads to render `page` and make it interactive: every `/pkg/` file
/// the HTML references (stylesheet, JS module, WASM), as served raw and gzipped.
async fn page_weight(base: &str, page: &str, cookie: &str) -> (Vec<(String, u64, u64)>, u64, u64) {
    let client = reqwest::Client::new();
    let html = client
        .get(format!("{base}{page}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut assets: Vec<String> = html
        .split('"')
        .filter(|s| s.starts_with("/pkg/"))
        .map(str::to_owned)
        .collect();
    // The island loader script imports the JS and the WASM by name.
    if html.contains("leptos-island") || html.contains("hydrateIslands") {
        for file in [
            "/pkg/leptos-auth-starter.js",
            "/pkg/leptos-auth-starter.wasm",
        ] {
            assets.push(file.to_owned());
        }
    }
    assets.sort();
    assets.dedup();
    let mut rows = Vec::new();
    for asset in assets {
        let size = |encoding: &'static str| {
            let client = client.clone();
            let url = format!("{base}{asset}");
            async move {
                let res = client
                    .get(url)
                    .header("accept-encoding", encoding)
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
                res.bytes().await.unwrap().len() as u64
            }
        };
        rows.push((asset.clone(), size("identity").await, size("gzip").await));
    }
    let raw = rows.iter().map(|r| r.1).sum();
    let gzip = rows.iter().map(|r| r.2).sum();
    (rows, raw, gzip)
}

fn print(outcomes: &[&Outcome], baseline: f64) {
    println!(
        "{:<44} {:>10} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "scenario", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "÷healthz"
    );
    for o in outcomes {
        println!(
            "{:<44} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>6.0}%",
            o.name,
            o.rate(),
            o.percentile(0.50).as_secs_f64() * 1e3,
            o.percentile(0.99).as_secs_f64() * 1e3,
            o.percentile(1.0).as_secs_f64() * 1e3,
            o.errors,
            100.0 * o.rate() / baseline
        );
    }
}

#[tokio::main]
async fn main() {
    let binary = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "target/release/server".to_owned());
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let duration = Duration::from_secs(seconds);

    let server = Server::start(&binary);
    let base = server.base.clone();
    server.wait_ready(Duration::from_secs(20)).await;
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(format!("{base}/api/auth/register/"))
        .json(&json!({"username": "bench", "email": "bench@example.com", "password1": PASSWORD, "password2": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = registered["access"].as_str().unwrap().to_owned();
    println!(
        "server {binary}, {concurrency} connections, {seconds} s per scenario, {} CPUs\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let copies = |r: Request| vec![r; concurrency];
    let healthz = run(
        "GET /healthz",
        &base,
        concurrency,
        duration,
        copies(Request::Get {
            path: "/healthz",
            token: None,
            cookie: None,
        }),
        same,
    )
    .await;
    let user = run(
        "GET /api/auth/user/",
        &base,
        concurrency,
        duration,
        copies(Request::Get {
            path: "/api/auth/user/",
            token: Some(access.clone()),
            cookie: None,
        }),
        same,
    )
    .await;
    let verify = run(
        "POST /api/auth/token/verify/",
        &base,
        concurrency,
        duration,
        copies(post("/api/auth/token/verify/", json!({"token": access}))),
        same,
    )
    .await;

    let cookie = browser_session(&base, "browser").await;
    let signin_page = run(
        "GET /signin (server-rendered)",
        &base,
        concurrency,
        duration,
        copies(Request::Get {
            path: "/signin",
            token: None,
            cookie: None,
        }),
        same,
    )
    .await;
    let profile_page = run(
        "GET /profile (server-rendered, signed in)",
        &base,
        concurrency,
        duration,
        copies(Request::Get {
            path: "/profile",
            token: None,
            cookie: Some(cookie.clone()),
        }),
        same,
    )
    .await;
    let pages_rss = server.peak_rss_kib().unwrap_or(0);

    // Each worker refreshes its own sign-in, always with the newest (rotated) token.
    let mut refresh_first = Vec::new();
    for _ in 0..concurrency {
        let login = sign_in(&client, &base, "bench").await;
        refresh_first.push(post(
            "/api/auth/token/refresh/",
            json!({"refresh": login["refresh"]}),
        ));
    }
    let refresh = run(
        "POST /api/auth/token/refresh/ (rotating)",
        &base,
        concurrency,
        duration,
        refresh_first,
        |_, body| {
            let body: Value = serde_json::from_slice(body).unwrap_or_default();
            post(
                "/api/auth/token/refresh/",
                json!({"refresh": body["refresh"]}),
            )
        },
    )
    .await;
    let login_body = json!({"username": "bench", "password": PASSWORD});
    let login = run(
        "POST /api/auth/login/",
        &base,
        concurrency,
        duration,
        copies(post("/api/auth/login/", login_body.clone())),
        same,
    )
    .await;

    // A login flood and, at the same time, ordinary traffic: the flood must not stall it.
    let flood = {
        let base = base.clone();
        let body = login_body.clone();
        tokio::spawn(async move {
            run(
                "  (login flood, concurrent)",
                &base,
                concurrency,
                duration,
                vec![post("/api/auth/login/", body); concurrency],
                same,
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let user_under_flood = run(
        "GET /api/auth/user/ during a login flood",
        &base,
        4,
        duration - Duration::from_millis(400),
        vec![
            Request::Get {
                path: "/api/auth/user/",
                token: Some(access.clone()),
                cookie: None,
            };
            4
        ],
        same,
    )
    .await;
    let flood = flood.await.unwrap();

    // No flow reveals whether an address has an account, in words, status or timing:
    // password reset for an account's address and for an unknown one, and (under mandatory
    // verification) sign-up with a new address and with one that has an account.
    let known = |_: usize| json!({"email": "bench@example.com"});
    let unknown = |round: usize| json!({"email": format!("nobody{round}@example.com")});
    let ([reset_known, reset_unknown], reset_same) =
        paired_medians(&base, "/api/auth/password/reset/", [&known, &unknown], 400).await;
    let mandatory = Server::start_with(&binary, &[("ACCOUNT_EMAIL_VERIFICATION", "mandatory")]);
    mandatory.wait_ready(Duration::from_secs(20)).await;
    let sign_up = |username: String, email: &str| json!({"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD});
    let owner = sign_up("owner".into(), "owner@example.com");
    client
        .post(format!("{}/api/auth/register/", mandatory.base))
        .json(&owner)
        .send()
        .await
        .unwrap();
    let new_address =
        |round: usize| sign_up(format!("new{round}"), &format!("new{round}@example.com"));
    let taken_address = |round: usize| sign_up(format!("dup{round}"), "owner@example.com");
    let ([signup_new, signup_taken], signup_same) = paired_medians(
        &mandatory.base,
        "/api/auth/register/",
        [&new_address, &taken_address],
        30,
    )
    .await;
    drop(mandatory);
    println!("\nNo account enumeration (median latency, answers compared byte for byte):");
    println!(
        "  password/reset/  account's address {:>8.2?}  unknown address {:>8.2?}  same answer: {reset_same}",
        reset_known, reset_unknown
    );
    println!(
        "  register/ (mandatory)  new address {:>8.2?}  address with an account {:>8.2?}  same answer: {signup_same}",
        signup_new, signup_taken
    );
    let close = |a: Duration, b: Duration, slack: Duration| a.abs_diff(b) <= slack;

    let base_rate = healthz.rate();
    print(
        &[
            &healthz,
            &user,
            &verify,
            &signin_page,
            &profile_page,
            &refresh,
            &login,
            &user_under_flood,
            &flood,
        ],
        base_rate,
    );
    let rss = server.peak_rss_kib().unwrap_or(0);
    println!(
        "\npeak server RSS: {:.1} MiB (after the page scenarios: {:.1} MiB)",
        rss as f64 / 1024.0,
        pages_rss as f64 / 1024.0
    );

    let (assets, raw, gzip) = page_weight(&base, "/profile", &cookie).await;
    println!("\n/profile downloads (JS + WASM + CSS):");
    for (asset, raw, gzip) in &assets {
        println!("  {asset:<40} {raw:>9} B raw {gzip:>9} B gzip");
    }
    println!("  {:<40} {raw:>9} B raw {gzip:>9} B gzip", "total");

    println!();
    let moved = django_import::run(&binary).await;
    let minute = Duration::from_secs(60);
    let listed = admin_list::run(&binary).await;
    let under_50ms = |results: &[admin_list::Latency]| {
        !results.is_empty() && results.iter().all(|r| r.p99 < Duration::from_millis(50))
    };

    let checks = [
        ("user/ ≥ 50% of healthz", user.rate() >= 0.5 * base_rate),
        ("verify ≥ 70% of healthz", verify.rate() >= 0.7 * base_rate),
        (
            "user/ p99 under a login flood < 50 ms",
            user_under_flood.percentile(0.99) < Duration::from_millis(50),
        ),
        ("peak RSS < 100 MiB", rss > 0 && rss < 100 * 1024),
        (
            "password/reset/: one answer, medians within 0.5 ms, known or unknown address",
            reset_same && close(reset_known, reset_unknown, Duration::from_micros(500)),
        ),
        (
            "register/ (mandatory): one answer, medians within 10%, new or taken address",
            signup_same && close(signup_new, signup_taken, signup_new / 10),
        ),
        ("/signin SSR ≥ 2,000 req/s", signin_page.rate() >= 2000.0),
        ("/profile SSR ≥ 2,000 req/s", profile_page.rate() >= 2000.0),
        (
            "/profile JS + WASM + CSS ≤ 180 KB gzip",
            gzip > 0 && gzip <= 180 * 1000,
        ),
        (
            "import-django: 100,000 users into SQLite < 60 s",
            moved.sqlite < minute,
        ),
        (
            "import-django: 100,000 users into PostgreSQL < 60 s",
            moved.postgres.is_some_and(|d| d < minute),
        ),
        (
            "import-django again: nothing to do, < 60 s",
            moved.idempotent && moved.again < minute,
        ),
        (
            "wrong password: Django-hashed account and unknown name, one answer, medians within 10%",
            moved.refusals_same
                && close(moved.refusals[0], moved.refusals[1], moved.refusals[0] / 10),
        ),
        (
            "/admin/users, 1,000,000 accounts, SQLite: every kind of page p99 < 50 ms",
            under_50ms(&listed.sqlite),
        ),
        (
            "/admin/users, 1,000,000 accounts, PostgreSQL: every kind of page p99 < 50 ms",
            listed.postgres.as_deref().is_some_and(under_50ms),
        ),
        (
            "no errors",
            [
                &healthz,
                &user,
                &verify,
                &signin_page,
                &profile_page,
                &refresh,
                &login,
                &user_under_flood,
                &flood,
            ]
            .iter()
            .all(|o| o.errors == 0),
        ),
    ];
    println!();
    for (what, ok) in checks {
        println!("{} {what}", if ok { "PASS" } else { "FAIL" });
    }
}

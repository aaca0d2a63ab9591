//! Administrative commands of the binary: create a superuser, (de)activate a user.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use backend::accounts::{self, rules};
use backend::auth::password::Passwords;
use backend::{Config, Db};

use crate::cli::CreateSuperuser;

async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, 2)
        .await
        .with_context(|| format!("database {}", config.database_display()))?;
    backend::users::migrate_data(&db).await?;
    Ok(db)
}

fn prompt(label: &str) -> anyhow::Result<String> {
    print!("{label}: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

pub async fn create_superuser(config: Config, args: CreateSuperuser) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let interactive = !args.noinput && std::io::stdin().is_terminal();

    let username = match args.username.filter(|u| !u.trim().is_empty()) {
        Some(u) => u.trim().to_owned(),
        None if interactive => prompt("Username")?,
        None => bail!("a username is required (--username or SUPERUSER_USERNAME)"),
    };
    let username = backend::users::normalize_username(&username);
    if let Some(problem) = rules::username_problem(&db, &username, None).await? {
        bail!("username: {problem}");
    }

    let email = match args.email {
        Some(e) => Some(e.trim().to_owned()),
        None if interactive => Some(prompt("Email address (optional)")?),
        None => None,
    }
    .filter(|e| !e.is_empty());
    if let Some(address) = &email {
        if let Some(problem) = rules::email_problem(&db, address).await? {
            bail!("email: {problem}");
        }
    }

    let password = match std::env::var("SUPERUSER_PASSWORD") {
        Ok(p) => p,
        Err(_) if interactive => {
            let first = rpassword::prompt_password("Password: ")?;
            let again = rpassword::prompt_password("Password (again): ")?;
            if first != again {
                bail!("{}", rules::PASSWORD_MISMATCH);
            }
            first
        }
        Err(_) => bail!("SUPERUSER_PASSWORD is required with --noinput"),
    };
    let mut problems = rules::password_problems_of(&password);
    problems.extend(rules::similarity(&password, &username, email.as_deref()));
    if !problems.is_empty() {
        bail!("password: {}", problems.join(" "));
    }

    let passwords = Passwords::new(config.password_hash_concurrency);
    let user = accounts::create(
        &db,
        &passwords,
        &username,
        email.as_deref(),
        &password,
        accounts::Role::Administrator,
    )
    .await?;
    println!("Superuser {} created (id {}).", user.username, user.id);
    db.close().await;
    Ok(())
}

pub async fn set_active(config: Config, username: &str, active: bool) -> anyhow::Result<()> {
    let db = open(&config).await?;
    if accounts::set_active(&db, username, active).await?.is_none() {
        bail!("no user named {username:?}");
    }
    if active {
        println!("User {username} can sign in again.");
    } else {
        println!("User {username} is deactivated and signed out everywhere.");
    }
    db.close().await;
    Ok(())
}

//! Administrative commands of the binary: create a superuser, (de)activate a user.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use backend::accounts;
use backend::users;
use backend::{AppState, Config, Db};

use crate::cli::CreateSuperuser;

async fn open(config: Config) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database_url, 2)
        .await
        .with_context(|| format!("database {}", config.database_display()))?;
    Ok(AppState::new(config, db)?)
}

fn prompt(label: &str) -> anyhow::Result<String> {
    print!("{label}: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

pub async fn create_superuser(config: Config, args: CreateSuperuser) -> anyhow::Result<()> {
    let state = open(config).await?;
    let interactive = !args.noinput && std::io::stdin().is_terminal();

    let username = match args.username.filter(|u| !u.trim().is_empty()) {
        Some(u) => u.trim().to_owned(),
        None if interactive => prompt("Username")?,
        None => bail!("a username is required (--username or SUPERUSER_USERNAME)"),
    };
    if let Some(problem) = accounts::username_problem(&state.db, &username, None).await? {
        bail!("username: {problem}");
    }

    let email = match args.email {
        Some(e) => Some(e.trim().to_owned()),
        None if interactive => Some(prompt("Email address (optional)")?),
        None => None,
    }
    .filter(|e| !e.is_empty());
    if let Some(address) = &email {
        if let Some(problem) = accounts::email_problem(&state.db, address).await? {
            bail!("email: {problem}");
        }
    }

    let password = match std::env::var("SUPERUSER_PASSWORD") {
        Ok(p) => p,
        Err(_) if interactive => {
            let first = rpassword::prompt_password("Password: ")?;
            let again = rpassword::prompt_password("Password (again): ")?;
            if first != again {
                bail!("{}", accounts::PASSWORD_MISMATCH);
            }
            first
        }
        Err(_) => bail!("SUPERUSER_PASSWORD is required with --noinput"),
    };
    let mut problems = accounts::password_problems_of(&password);
    problems.extend(accounts::similarity(&password, &username, email.as_deref()));
    if !problems.is_empty() {
        bail!("password: {}", problems.join(" "));
    }

    let user = accounts::create(
        &state,
        &username,
        email.as_deref(),
        &password,
        accounts::Role::Administrator,
    )
    .await?;
    println!("Superuser {} created (id {}).", user.username, user.id);
    state.db.close().await;
    Ok(())
}

pub async fn set_active(config: Config, username: &str, active: bool) -> anyhow::Result<()> {
    let state = open(config).await?;
    let Some(id) = users::set_active(&state.db, username, active).await? else {
        bail!("no user named {username:?}");
    };
    if active {
        println!("User {username} can sign in again.");
    } else {
        // Their access tokens stop at once here and, within the sync interval, on every
        // running instance.
        state.tokens.revoke_all_for_user(id, "deactivated").await?;
        println!("User {username} is deactivated and signed out everywhere.");
    }
    state.db.close().await;
    Ok(())
}

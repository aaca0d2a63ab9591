//! Administrative commands of the binary: create a superuser, (de)activate a user, reset a
//! user's second factors, import a Django database.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use backend::accounts::{self, rules};
use backend::auth::password::Passwords;
use backend::{Config, Db};

use crate::cli::{CreateSuperuser, ImportDjango};

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

pub async fn reset_mfa(config: Config, username: &str) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let Some(user) = backend::users::find_by_username(&db, username).await? else {
        bail!("no user named {username:?}");
    };
    // No request, no administrator account: the operator at the console did it.
    let event = backend::audit::Event::new(backend::audit::Kind::MfaReset, Some(user.id), None);
    let removed = accounts::second_factor::reset(&db, user.id, event).await?;
    match removed {
        0 => println!(
            "User {} has no second factor; nothing changed.",
            user.username
        ),
        n => println!(
            "Removed {n} second-factor record(s) of {}: they sign in with their password \
             alone and can set up new factors.",
            user.username
        ),
    }
    db.close().await;
    Ok(())
}

pub async fn import_django(config: Config, args: ImportDjango) -> anyhow::Result<()> {
    use backend::django_import::{self, ImportError};
    let db = open(&config).await?;
    if args.dry_run {
        println!("Dry run: nothing will be written.");
    }
    let mut progress = |done: usize, total: usize| {
        eprintln!("  accounts written: {done} of {total}");
    };
    let plan = match django_import::import(&db, &args.from, args.dry_run, &mut progress).await {
        Ok(plan) => plan,
        Err(ImportError::Clashes(clashes)) => {
            for clash in &clashes {
                eprintln!("clash: {clash}");
            }
            bail!(
                "nothing was imported: {} clash(es) between the Django accounts and ours (above)",
                clashes.len()
            );
        }
        Err(error) => return Err(error.into()),
    };
    db.close().await;
    print!("{}", summary(&plan, args.dry_run));
    Ok(())
}

/// What an import did (or, with `dry_run`, would do), as the command prints it.
fn summary(plan: &backend::django_import::Plan, dry_run: bool) -> String {
    use std::fmt::Write;
    let new = plan.new_accounts.len();
    let changed = plan.changes.iter().filter(|c| c.rewrites_account).count();
    let verb = if dry_run { "would be" } else { "were" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Accounts: {} in Django: {new} new, {changed} changed since the last import, {} \
         already imported and unchanged, {} deleted here since (not brought back).",
        new + plan.changes.len() + plan.unchanged + plan.deleted_here,
        plan.unchanged + plan.changes.len() - changed,
        plan.deleted_here
    );
    if !plan.gone_from_django.is_empty() {
        let shown: Vec<&str> = plan
            .gone_from_django
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        let more = plan.gone_from_django.len() - shown.len();
        let _ = writeln!(
            out,
            "No longer in Django: {} account(s) imported before, left as they are here (an \
             import never deletes; `server deactivate-user` stops one): {}{}.",
            plan.gone_from_django.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    let written = plan.new_accounts.iter().chain(
        plan.changes
            .iter()
            .filter(|c| c.rewrites_account)
            .map(|c| &c.account),
    );
    let addresses = written.clone().filter(|a| a.email.is_some()).count();
    let verified = written.clone().filter(|a| a.email_verified).count();
    let _ = writeln!(
        out,
        "Addresses: {addresses} {verb} written ({verified} verified); {} secondary allauth \
         address(es) left out (one address per account here).",
        plan.secondary_addresses
    );
    let formats: Vec<String> = plan
        .password_formats
        .iter()
        .map(|(format, n)| format!("{format} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "Passwords: {} (kept as they are, upgraded to argon2id at each first sign-in); {} \
         unusable (no password, as in Django).",
        if formats.is_empty() {
            "none".into()
        } else {
            formats.join(", ")
        },
        plan.unusable_passwords
    );
    for (format, users) in &plan.unsupported_passwords {
        let shown: Vec<&str> = users.iter().take(10).map(String::as_str).collect();
        let more = users.len().saturating_sub(shown.len());
        let _ = writeln!(
            out,
            "Not verifiable here: {} account(s) with {format} hashes must reset their \
             password: {}{}.",
            users.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        out,
        "Social links: {} new, {} already here.",
        plan.new_links.len(),
        plan.existing_links
    );
    let _ = writeln!(
        out,
        "Blacklisted refresh tokens: {} {verb} recorded as refused, {} skipped (expired, or \
         recorded before).",
        plan.revoked_tokens.len(),
        plan.skipped_tokens
    );
    if !plan.missing_tables.is_empty() {
        let _ = writeln!(
            out,
            "Not in this Django database (nothing to import from them): {}.",
            plan.missing_tables.join(", ")
        );
    }
    let nothing = new == 0
        && plan.changes.is_empty()
        && plan.new_links.is_empty()
        && plan.revoked_tokens.is_empty();
    let _ = writeln!(
        out,
        "{}",
        match (dry_run, nothing) {
            (_, true) => "Nothing to do: everything is already imported.",
            (true, false) => "Dry run: nothing was written.",
            (false, false) => "Imported.",
        }
    );
    out
}

use backend::Settings;
use clap::{Args, Parser, Subcommand};

/// leptos-auth-starter: the web app, its REST API and its admin commands in one binary.
///
/// Every option can also be set through the environment variable shown next to it, or in a
/// `.env` file in the working directory.
#[derive(Parser, Debug)]
#[command(name = "server", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start the web server (the default when no command is given).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Create an administrator account (is_staff and is_superuser).
    ///
    /// Asks for what is not given. With --noinput nothing is asked: the password must come
    /// from SUPERUSER_PASSWORD (never a flag, which other users could read from `ps`).
    Createsuperuser(CreateSuperuser),
    /// Stop a user from signing in and end all their sessions at once.
    DeactivateUser {
        /// The username (case-insensitive).
        username: String,
    },
    /// Let a deactivated user sign in again.
    ActivateUser {
        /// The username (case-insensitive).
        username: String,
    },
    /// Remove every second factor of a user (authenticator app, recovery codes, passkeys) so
    /// they can sign in with their password alone and set them up again. Check who is
    /// asking first: this is the way back in for someone who lost every factor.
    ResetMfa {
        /// The username (case-insensitive).
        username: String,
    },
    /// Copy the users of a Django (dj-rest-auth + allauth + simplejwt) database: accounts
    /// with their passwords, verified addresses, social links and blacklisted tokens.
    ///
    /// All or nothing; running it again changes only what changed in Django. See README.md,
    /// "Moving from Django".
    ImportDjango(ImportDjango),
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ImportDjango {
    /// The Django database: sqlite:///path/to/db.sqlite3 or postgres://user@host/name.
    #[arg(long = "from", value_name = "DATABASE_URL")]
    pub from: String,
    /// Show what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct CreateSuperuser {
    /// Username of the new administrator.
    #[arg(long, env = "SUPERUSER_USERNAME")]
    pub username: Option<String>,
    /// Email address (optional).
    #[arg(long, env = "SUPERUSER_EMAIL")]
    pub email: Option<String>,
    /// Do not prompt; fail if something is missing.
    #[arg(long)]
    pub noinput: bool,
}

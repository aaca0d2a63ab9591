use backend::Settings;
use clap::{Parser, Subcommand};

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
}

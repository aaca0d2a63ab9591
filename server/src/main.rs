use std::process::ExitCode;

use backend::Config;
use clap::Parser;
use server::cli::{Cli, Command};
use server::startup::{shutdown_signal, Application, SHUTDOWN_GRACE};
use server::{admin, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    // Before parsing, so `.env` values act as environment variables for clap.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();

    let config = match Config::from_settings(cli.settings) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(config.log_format);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Createsuperuser(args) => admin::create_superuser(config, args).await,
        Command::DeactivateUser { username } => admin::set_active(config, &username, false).await,
        Command::ActivateUser { username } => admin::set_active(config, &username, true).await,
        Command::ResetMfa { username } => admin::reset_mfa(config, &username).await,
        Command::ImportDjango(args) => admin::import_django(config, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let mode = config.app_env.as_str();
    let database = config.database_display();
    let social = match config.social_providers.len() {
        0 => "none".to_owned(),
        _ => config
            .social_providers
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let app = Application::build(config).await?;
    let signal = shutdown_signal();
    tracing::info!(
        "listening on http://{} · database {database} · mode {mode} · social sign-in {social}",
        app.local_addr()
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        signal.await;
        let _ = stop_tx.send(());
    }));
    // Long-lived connections must not hold the process hostage after a signal.
    let deadline = async {
        let _ = stop_rx.await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result??,
        () = deadline => tracing::warn!("in-flight requests did not finish in time; exiting"),
    }
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = backend::Db::connect(&config.database_url, 1).await?;
    backend::users::migrate_data(&db).await?;
    tracing::info!("database {} is up to date", config.database_display());
    db.close().await;
    Ok(())
}

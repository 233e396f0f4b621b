//! Command line: `orderdesk [serve|migrate|config|openapi]`.

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::settings::Settings;
use crate::startup::{Application, open_database, shutdown_signal};
use crate::telemetry;

/// Order management for small businesses: customers, orders and SMS notifications.
#[derive(Debug, Parser)]
#[command(name = "orderdesk", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Print the effective configuration, secrets masked.
    Config,
    /// Print the OpenAPI document.
    Openapi,
}

/// Runs the chosen command.
///
/// # Errors
/// Configuration, database or listener failures.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            println!("{}", orderdesk_api::openapi_json());
            Ok(())
        }
        Command::Config => {
            print!("{}", Settings::load()?.to_masked_toml());
            Ok(())
        }
        Command::Migrate => {
            let mut settings = Settings::load()?;
            telemetry::init(&settings.log);
            settings.database.migrate_on_start = true;
            open_database(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let settings = Settings::load()?;
            telemetry::init(&settings.log);
            let app = Application::build(&settings).await?;
            tracing::info!(profile = settings.profile.name(), address = %app.local_addr(), "orderdesk listening; API docs at /docs");
            app.run_until(shutdown_signal())
                .await
                .context("server failed")
        }
    }
}

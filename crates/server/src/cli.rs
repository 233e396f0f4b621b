//! Command line: `orderdesk [serve|migrate|config|openapi|token|dispatch|backup]`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use orderdesk_domain::Permission;

use crate::settings::Settings;
use crate::startup::{Application, apply_first_order_number, dev_issuer, open_database, shutdown_signal};
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
    /// Print the sources read and the effective configuration, secrets masked.
    Config,
    /// Print the OpenAPI document.
    Openapi,
    /// Print an access token from the built-in dev issuer (dev profile only); the token is the last line.
    Token {
        /// Comma-separated permissions; all of them by default.
        #[arg(long, value_delimiter = ',')]
        permissions: Option<Vec<String>>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        expires_in: u64,
        /// The token's subject (recorded as created_by / updated_by).
        #[arg(long, default_value = "dev-user")]
        subject: String,
    },
    /// Run the SMS dispatcher without HTTP (beside API processes started with sms.dispatcher=false).
    Dispatch,
    /// Write a consistent copy of the SQLite database to PATH (a new file) while servers run.
    Backup {
        /// Where to write the copy; must not exist.
        path: PathBuf,
    },
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
            let (settings, sources) = Settings::load_with_sources()?;
            print!("{}", crate::settings::describe_sources(&sources));
            print!("{}", settings.to_masked_toml());
            Ok(())
        }
        Command::Migrate => {
            let mut settings = Settings::load()?;
            telemetry::init(&settings.log);
            settings.database.migrate_on_start = true;
            let db = open_database(&settings).await?;
            apply_first_order_number(&db, &settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Token { permissions, expires_in, subject } => print_token(permissions, expires_in, &subject),
        Command::Dispatch => {
            let settings = Settings::load()?;
            telemetry::init(&settings.log);
            crate::dispatch::run(&settings, shutdown_signal()).await
        }
        Command::Backup { path } => {
            let settings = Settings::load()?;
            telemetry::init(&settings.log);
            crate::dispatch::backup(&settings, &path).await
        }
        Command::Serve => {
            let settings = Settings::load()?;
            let telemetry = telemetry::init_with_export(&settings.log, &settings.telemetry)?;
            let app = Application::build(&settings).await?;
            tracing::info!(profile = settings.profile.name(), address = %app.local_addr(), "orderdesk listening; API docs at /docs");
            let served = app.run_until(shutdown_signal()).await.context("server failed");
            telemetry.shutdown().await;
            served
        }
    }
}

fn print_token(permissions: Option<Vec<String>>, expires_in: u64, subject: &str) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    if !settings.uses_dev_issuer() {
        anyhow::bail!(
            "`orderdesk token` needs the built-in dev issuer (dev profile with auth.issuer unset); get Auth0 tokens from Auth0"
        );
    }
    let bind = settings.server.bind;
    if bind.port() == 0 {
        anyhow::bail!("server.bind has port 0; the token's issuer must name the server's real port");
    }
    let permissions = match permissions {
        None => Permission::ALL.to_vec(),
        Some(names) => names
            .iter()
            .filter(|n| !n.trim().is_empty())
            .map(|n| {
                Permission::parse(n.trim()).with_context(|| {
                    let known: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
                    format!("unknown permission {n:?} (known: {})", known.join(", "))
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let issuer = dev_issuer(&settings, bind)?;
    let token = issuer.mint(subject, &permissions, Duration::from_secs(expires_in))?;
    let names: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
    eprintln!(
        "dev token for {subject} from {} (audience {}), permissions [{}], valid {expires_in}s:",
        issuer.issuer(),
        issuer.audience(),
        names.join(", ")
    );
    println!("{token}");
    Ok(())
}

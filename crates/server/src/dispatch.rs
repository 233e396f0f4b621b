//! `orderdesk dispatch` (the SMS and webhook dispatchers without HTTP) and `orderdesk backup PATH`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use orderdesk_adapters::SeaOrmIdempotencyRepository;
use orderdesk_adapters::db::backup_sqlite;
use orderdesk_adapters::{DatabaseSettings, connect};
use orderdesk_domain::PhoneNumber;
use orderdesk_domain::ports::SystemClock;
use orderdesk_domain::service::IdempotencyService;
use tokio::sync::watch;

use crate::settings::{Settings, mask_url_password};
use crate::startup::{
    event_service, open_database, sms, start_dispatcher, start_webhook_dispatcher, sweep_expired, webhook_service,
};

/// Sends the SMS outbox and delivers webhooks until `shutdown` completes: the same settings
/// and migration rules as `serve` (nothing is migrated when `database.migrate_on_start` is
/// false), no HTTP. With `sms.provider = "disabled"` only webhooks are delivered. On shutdown
/// the SMS and the webhook in hand are finished and the rest of their batches released;
/// claims still held after `server.shutdown_timeout_seconds` are taken over by other
/// dispatchers when their lease ends.
///
/// # Errors
/// Database, migration, SMS or webhook settings failures.
pub async fn run(settings: &Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let sms = sms(settings)?;
    if sms.gateway.is_none() {
        tracing::info!("sms.provider is `disabled`: only webhooks are dispatched");
    }
    let mut settings = settings.clone();
    if !settings.sms.dispatcher {
        tracing::info!("sms.dispatcher=false applies to `serve`; `orderdesk dispatch` always dispatches");
        settings.sms.dispatcher = true;
    }
    if !settings.webhooks.dispatcher {
        tracing::info!("webhooks.dispatcher=false applies to `serve`; `orderdesk dispatch` always dispatches");
        settings.webhooks.dispatcher = true;
    }
    // Loads the phone-number metadata now (each claimed SMS parses its recipient); lazily,
    // the first SMS would wait for it (over a second in a debug build).
    let _ = PhoneNumber::parse("+254712345678", settings.domain_defaults()?.phone_region);
    let (stop, stopped) = watch::channel(false);
    let webhooks = start_webhook_dispatcher(&db, &settings, stopped.clone())?;
    let dispatcher = start_dispatcher(&db, &settings, &sms, stopped);
    let keys = IdempotencyService::new(
        Arc::new(SeaOrmIdempotencyRepository::new(db.clone())),
        Arc::new(SystemClock),
        settings.idempotency.retention(),
    );
    let retention = settings.events.retention();
    let sweeper =
        tokio::spawn(sweep_expired(keys, event_service(&db, &settings), webhook_service(&db, &settings)?, retention));
    tracing::info!(
        profile = settings.profile.name(),
        database = %mask_url_password(&settings.database.connection.url),
        poll_interval_ms = settings.sms.poll_interval_ms,
        lease_seconds = settings.sms.lease_seconds,
        listen = !settings.database.connection.is_sqlite(),
        "orderdesk dispatcher ready"
    );
    shutdown.await;
    sweeper.abort();
    let _ = stop.send(true);
    let timeout = Duration::from_secs(settings.server.shutdown_timeout_seconds);
    let finished = async {
        for handle in [dispatcher, webhooks].into_iter().flatten() {
            let _ = handle.await;
        }
    };
    match tokio::time::timeout(timeout, finished).await {
        Ok(()) => tracing::info!("orderdesk dispatcher stopped"),
        Err(_) => tracing::warn!(
            lease_seconds = settings.sms.lease_seconds,
            "a send outlived the shutdown timeout; its claim is taken over after the lease"
        ),
    }
    db.close().await;
    Ok(())
}

/// Writes a consistent copy of the SQLite database to `target` (a new file, mode 0600)
/// while servers keep running. PostgreSQL is refused with the procedure to use instead.
///
/// # Errors
/// Not SQLite, no database file, an existing `target`, or the copy failed.
/// `file:copy.db`, `FILE:x?mode=rwc`: a scheme before any `/` (RFC 3986 §3.1).
fn looks_like_uri(target: &Path) -> bool {
    let text = target.to_string_lossy();
    let Some((scheme, _)) = text.split_once(':') else { return false };
    !scheme.contains('/')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

pub async fn backup(settings: &Settings, target: &Path) -> anyhow::Result<()> {
    let connection = &settings.database.connection;
    let url = mask_url_password(&connection.url);
    if !connection.is_sqlite() {
        bail!(
            "`orderdesk backup` copies SQLite databases; {url} is PostgreSQL: back it up with pg_dump, e.g. \
             `pg_dump --format=custom --file=orderdesk.dump \"$DATABASE_URL\"` (restore with pg_restore); \
             see docs/deploy/backup.md"
        );
    }
    let file = connection.sqlite_file().context("database.url is an in-memory database: nothing to back up")?;
    if !file.is_file() {
        bail!("no database at {} (database.url {url})", file.display());
    }
    if looks_like_uri(target) {
        bail!(
            "{} looks like a URI; SQLite would read it as one and could write elsewhere: give a file path",
            target.display()
        );
    }
    if target.exists() {
        bail!("{} exists; a backup never overwrites a file", target.display());
    }
    // Any schema can be backed up, older or newer than this binary: no schema check here.
    let connection = DatabaseSettings { max_connections: 1, sqlite_read_connections: 1, ..connection.clone() };
    let db = connect(&connection).await.with_context(|| format!("cannot open database {url}"))?;
    let written = backup_sqlite(db.write(), target).await;
    db.close().await;
    written.with_context(|| format!("cannot back up {url} to {}", target.display()))?;
    println!("backup of {url} written to {}", target.display());
    Ok(())
}

//! Cross-process wake-ups on PostgreSQL: a dedicated connection `LISTEN`s on
//! [`OUTBOX_CHANNEL`](super::notifications::OUTBOX_CHANNEL), which the order-create
//! transaction notifies at commit, and passes each notification to an in-process
//! [`OutboxSignal`]. Polling stays the fallback: a lost connection only delays SMS until the
//! next poll, and the listener reconnects on its own.

use std::time::Duration;

use orderdesk_domain::ports::OutboxSignal;
use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::notifications::OUTBOX_CHANNEL;

/// The longest wait between reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(30);

/// Listens on `url` (a PostgreSQL URL; its own connection, outside the pool) until `stop`
/// turns true, calling `signal.notify()` for every notification, and once after each
/// (re)connection for the ones that may have been missed meanwhile.
pub async fn listen_for_outbox(url: String, signal: impl OutboxSignal, mut stop: watch::Receiver<bool>) {
    const FIRST_DELAY: Duration = Duration::from_millis(500);
    let mut delay = FIRST_DELAY;
    let mut failed_before = false;
    while !*stop.borrow() {
        let mut listened = false;
        let failure = tokio::select! {
            failure = listen_once(&url, &signal, failed_before, &mut listened) => failure,
            _ = stop.changed() => break,
        };
        if listened {
            delay = FIRST_DELAY;
        }
        tracing::warn!(error = %failure, retry_in_ms = delay.as_millis(), "outbox listener lost its connection; dispatchers poll until it is back");
        failed_before = true;
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.changed() => break,
        }
        delay = (delay * 2).min(MAX_RECONNECT_DELAY);
    }
    tracing::debug!("outbox listener stopped");
}

/// One connection's life; returns why it ended.
async fn listen_once(
    url: &str,
    signal: &impl OutboxSignal,
    failed_before: bool,
    listened: &mut bool,
) -> sea_orm::sqlx::Error {
    let mut listener = match PgListener::connect(url).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(OUTBOX_CHANNEL).await {
        return error;
    }
    *listened = true;
    if failed_before {
        tracing::info!(channel = OUTBOX_CHANNEL, "outbox listener reconnected");
    } else {
        tracing::info!(channel = OUTBOX_CHANNEL, "outbox listener ready");
    }
    // Whatever was notified while this connection was down is found by this run.
    signal.notify();
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => signal.notify(),
            // The connection dropped and sqlx has reconnected; notifications sent in between
            // are lost, so look once.
            Ok(None) => {
                tracing::warn!("outbox listener lost its connection and reconnected");
                signal.notify();
            }
            Err(error) => return error,
        }
    }
}

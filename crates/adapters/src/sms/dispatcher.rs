//! The dispatcher's run loop on tokio: drain the outbox, then sleep until woken by a new
//! order or the poll interval passes, until told to stop.

use std::sync::Arc;
use std::time::Duration;

use orderdesk_domain::ports::OutboxSignal;
use orderdesk_domain::service::NotificationDispatcher;
use tokio::sync::{Notify, watch};

/// Wakes a dispatcher in this process right after an order commits.
#[derive(Debug, Clone, Default)]
pub struct TokioOutboxSignal(Arc<Notify>);

impl TokioOutboxSignal {
    pub fn notified(&self) -> Arc<Notify> {
        Arc::clone(&self.0)
    }
}

impl OutboxSignal for TokioOutboxSignal {
    fn notify(&self) {
        self.0.notify_one();
    }
}

/// Runs until `stop` turns true; a stop during a batch finishes the SMS in hand and releases
/// the rest. Other processes' orders wake it through [`crate::db::listen_for_outbox`] on
/// PostgreSQL, and are found by polling otherwise.
pub async fn run_dispatcher(
    dispatcher: NotificationDispatcher,
    wake: Arc<Notify>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!("sms dispatcher started");
    let stopping = stop.clone();
    let stopping = move || *stopping.borrow();
    while !*stop.borrow() {
        match dispatcher.run_once_unless(&stopping).await {
            // A full batch may mean more are due: go again at once.
            Ok(handled) if handled > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(error.cause_chain = ?error, "sms dispatcher could not read the outbox"),
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!("sms dispatcher stopped");
}

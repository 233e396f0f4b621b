//! The webhook dispatcher's run loop on tokio: route and send while there is work, then sleep
//! for the poll interval (events are written by every repository, so none wakes it), until
//! told to stop.

use std::time::Duration;

use orderdesk_domain::service::WebhookDispatcher;
use tokio::sync::watch;

/// Runs until `stop` turns true; a stop during a batch finishes the POST in hand and releases
/// the rest of the batch for other dispatchers.
pub async fn run_webhook_dispatcher(dispatcher: WebhookDispatcher, poll: Duration, mut stop: watch::Receiver<bool>) {
    tracing::info!("webhook dispatcher started");
    let stopping = stop.clone();
    let stopping = move || *stopping.borrow();
    while !*stop.borrow() {
        match dispatcher.run_once_unless(&stopping).await {
            // Events routed or deliveries sent: more may be waiting.
            Ok(handled) if handled > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(error.cause_chain = ?error, "webhook dispatcher could not read its outbox"),
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!("webhook dispatcher stopped");
}

//! The SMS dispatcher: drains the outbox in batches. It claims due notifications under a
//! lease in one call and sends them one by one, storing each outcome right after its send: a
//! dispatcher killed mid-batch can only resend the message in hand (the scale test holds it to
//! that), so outcomes are not held back to be stored together.

use std::sync::Arc;
use std::time::Duration;

use crate::Notification;
use crate::error::RepoError;
use crate::notification::{AttemptOutcome, AttemptRecord, Claim, ReportDecision, RetryPolicy};
use crate::ports::{Clock, NotificationRepository, OutboxMetrics, SmsGateway};

use super::notifications::{apply_report, moved_events};

/// Drains the outbox: claims due notifications under a lease, sends them, records outcomes.
/// Several dispatchers (threads or processes) may share one database.
#[derive(Clone)]
pub struct NotificationDispatcher {
    notifications: Arc<dyn NotificationRepository>,
    gateway: Arc<dyn SmsGateway>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn OutboxMetrics>,
    policy: RetryPolicy,
    worker: String,
    lease: Duration,
    batch: u64,
}

impl NotificationDispatcher {
    /// `worker` names this dispatcher in leases; `lease` must exceed the gateway's timeout;
    /// `metrics` counts each attempt stored.
    pub fn new(
        notifications: Arc<dyn NotificationRepository>,
        gateway: Arc<dyn SmsGateway>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn OutboxMetrics>,
        policy: RetryPolicy,
        worker: impl Into<String>,
        lease: Duration,
    ) -> Self {
        Self { notifications, gateway, clock, metrics, policy, worker: worker.into(), lease, batch: 32 }
    }

    /// Claims and sends one batch. Returns how many notifications it handled.
    ///
    /// # Errors
    /// Storage failures (the batch's leases then expire and another run picks them up).
    pub async fn run_once(&self) -> Result<usize, RepoError> {
        self.run_once_unless(&|| false).await
    }

    /// Like [`Self::run_once`], but checks `stopping` before each send: once it says yes, the
    /// rest of the batch is released (pending again) for other dispatchers, not held until the
    /// lease expires.
    ///
    /// # Errors
    /// Storage failures (the batch's leases then expire and another run picks them up).
    pub async fn run_once_unless(&self, stopping: &(dyn Fn() -> bool + Sync)) -> Result<usize, RepoError> {
        let now = self.clock.now();
        let lease_until = now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60));
        let claim = Claim { worker: self.worker.clone(), now, lease_until };
        let claimed = self.notifications.claim_due(&claim, self.batch).await?;
        for (sent, notification) in claimed.iter().enumerate() {
            if stopping() {
                self.release(&claimed[sent..]).await?;
                return Ok(sent);
            }
            if let Some(record) = self.send(notification).await {
                self.store(record).await?;
            }
        }
        Ok(claimed.len())
    }

    /// Gives unsent claims back; one whose store fails is taken over after its lease.
    async fn release(&self, unsent: &[Notification]) -> Result<(), RepoError> {
        let now = self.clock.now();
        for notification in unsent {
            if let Some(released) = notification.release(&self.worker, now) {
                self.notifications.store(notification.version(), &released, None, &[]).await?;
            }
        }
        if !unsent.is_empty() {
            tracing::info!(released = unsent.len(), "unsent sms claims released for other dispatchers");
        }
        Ok(())
    }

    /// Sends one SMS and decides its outcome; `None` when this dispatcher no longer holds it.
    async fn send(&self, notification: &Notification) -> Option<AttemptRecord> {
        let result = self.gateway.send(notification.recipient(), notification.message()).await;
        let now = self.clock.now();
        let Ok((next, attempt)) = notification.record_attempt(&self.worker, result, &self.policy, now) else {
            tracing::warn!(notification_id = %notification.id(), "not holding the lease; outcome dropped");
            return None;
        };
        let events = moved_events(notification, &next, now);
        Some(AttemptRecord { previous_version: notification.version(), next, attempt, events })
    }

    /// Stores a send's outcome, counts and logs it, and applies delivery reports that arrived
    /// before it was stored.
    async fn store(&self, record: AttemptRecord) -> Result<(), RepoError> {
        let stored = self.notifications.store_attempts(std::slice::from_ref(&record)).await?.first() == Some(&true);
        log_outcome(&record, stored);
        if !stored {
            return Ok(());
        }
        self.metrics.sms_attempt(record.attempt.outcome);
        if let Some(message_id) = record.next.provider_message_id() {
            self.apply_early_reports(&[message_id.to_owned()]).await?;
        }
        Ok(())
    }

    /// Applies delivery reports that arrived before the sends' answers were stored (kept by
    /// [`super::NotificationService::record_delivery_report`] as unknown), oldest first.
    async fn apply_early_reports(&self, message_ids: &[String]) -> Result<(), RepoError> {
        for report in self.notifications.delivery_reports_for(message_ids).await? {
            let applied = match apply_report(self.notifications.as_ref(), &report, self.clock.now()).await? {
                ReportDecision::Apply(_) => "applied".to_owned(),
                ReportDecision::Ignore(why) => format!("ignored: {why}"),
            };
            let message_id = &report.provider_message_id;
            tracing::info!(provider_message_id = %message_id, status = %report.status, %applied, "early delivery report");
        }
        Ok(())
    }
}

fn log_outcome(record: &AttemptRecord, stored: bool) {
    let (id, attempt, next) = (record.next.id(), &record.attempt, &record.next);
    if !stored {
        tracing::warn!(notification_id = %id, "lease lost before the outcome was recorded");
        return;
    }
    let error = attempt.error.as_deref().unwrap_or_default();
    match attempt.outcome {
        AttemptOutcome::Sent => {
            let message_id = next.provider_message_id().unwrap_or_default();
            tracing::info!(notification_id = %id, provider_message_id = message_id, "sms sent");
        }
        AttemptOutcome::Retry => {
            tracing::warn!(notification_id = %id, attempt = attempt.number, error, retry_at = %next.next_attempt_at(), "sms failed; will retry");
        }
        AttemptOutcome::Failed => {
            tracing::error!(notification_id = %id, attempt = attempt.number, error, "sms failed permanently");
        }
    }
}

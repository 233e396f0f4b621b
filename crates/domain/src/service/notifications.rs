//! SMS notifications: looking them up, re-queueing by hand, delivery reports, and the
//! dispatcher that drains the outbox. The rules themselves are [`Notification`]'s methods;
//! these use cases load, apply and store.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Collector, InvalidValue, RepoError, ValidationErrors};
use crate::event::NewEvent;
use crate::notification::{
    Attempt, AttemptOutcome, Claim, DeliveryReport, IgnoredReport, NotificationSummary, ReportDecision, RetryPolicy,
};
use crate::order::order_time;
use crate::ports::{
    Clock, CustomerRepository, NotificationRepository, OrderRepository, OutboxMetrics, OutboxSignal, SmsGateway,
};
use crate::{Notification, NotificationId, NotificationStatus, OrderId};

/// How often a transition is re-read and re-applied when another writer got there first.
const STORE_TRIES: usize = 3;

/// Failures of the notification use cases.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// No order has this id.
    #[error("order {0} not found")]
    OrderNotFound(OrderId),
    /// No notification has this id (for the given order).
    #[error("notification {0} not found")]
    NotFound(NotificationId),
    /// Only failed or undelivered notifications can be re-queued.
    #[error("notification {id} is {status}; only failed or undelivered ones can be retried")]
    NotRetryable {
        /// The notification.
        id: NotificationId,
        /// Its current status, as [`NotificationStatus::as_str`] names it.
        status: &'static str,
    },
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] RepoError),
    /// A parameter is invalid (a summary's period).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
}

/// The longest period a summary covers: a year, a leap day included.
pub const MAX_SUMMARY_DAYS: u32 = 366;

/// A notification with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationView {
    /// The notification.
    pub notification: Notification,
    /// Its send attempts, oldest first: every attempt, those before a retry by hand included.
    pub attempts: Vec<Attempt>,
}

/// Notification use cases for the API and the delivery-report webhook.
#[derive(Clone)]
pub struct NotificationService {
    notifications: Arc<dyn NotificationRepository>,
    orders: Arc<dyn OrderRepository>,
    customers: Arc<dyn CustomerRepository>,
    clock: Arc<dyn Clock>,
    signal: Arc<dyn OutboxSignal>,
    metrics: Arc<dyn OutboxMetrics>,
}

impl NotificationService {
    /// `signal` wakes the dispatcher after a re-queue; `customers` gives a retry the current
    /// number; `metrics` counts the delivery reports received.
    pub fn new(
        notifications: Arc<dyn NotificationRepository>,
        orders: Arc<dyn OrderRepository>,
        customers: Arc<dyn CustomerRepository>,
        clock: Arc<dyn Clock>,
        signal: Arc<dyn OutboxSignal>,
        metrics: Arc<dyn OutboxMetrics>,
    ) -> Self {
        Self { notifications, orders, customers, clock, signal, metrics }
    }

    /// An order's notifications with their attempts.
    ///
    /// # Errors
    /// [`NotificationError::OrderNotFound`], or storage.
    pub async fn list_for_order(&self, order_id: OrderId) -> Result<Vec<NotificationView>, NotificationError> {
        if self.orders.find(order_id).await?.is_none() {
            return Err(NotificationError::OrderNotFound(order_id));
        }
        let mut views = Vec::new();
        for notification in self.notifications.list_for_order(order_id).await? {
            let attempts = self.notifications.attempts(notification.id()).await?;
            views.push(NotificationView { notification, attempts });
        }
        Ok(views)
    }

    /// Re-queues a failed or undelivered notification of `order_id`, to the customer's current
    /// number (a corrected phone is texted, not the one the first attempts used).
    ///
    /// # Errors
    /// [`NotificationError::NotFound`] (also when it belongs to another order),
    /// [`NotificationError::OrderNotFound`] when the order or its customer is gone,
    /// [`NotificationError::NotRetryable`], or storage.
    pub async fn retry(&self, order_id: OrderId, id: NotificationId) -> Result<Notification, NotificationError> {
        let order = self.orders.find(order_id).await?.ok_or(NotificationError::OrderNotFound(order_id))?;
        let customer =
            self.customers.find(order.customer_id()).await?.ok_or(NotificationError::OrderNotFound(order_id))?;
        for _ in 0..STORE_TRIES {
            let current = self
                .notifications
                .find(id)
                .await?
                .filter(|n| n.order_id() == order_id)
                .ok_or(NotificationError::NotFound(id))?;
            let requeued = current
                .requeue(customer.phone().clone(), self.clock.now())
                .map_err(|e| NotificationError::NotRetryable { id, status: e.0.as_str() })?;
            if self.notifications.store(current.version(), &requeued, None, &[]).await? {
                self.signal.notify();
                return Ok(requeued);
            }
        }
        Err(NotificationError::Storage(RepoError::Unavailable("the notification kept changing".into())))
    }

    /// SMS of the period `[from, to)`: notifications created in it by current status (every
    /// status, zero included) and what the attempts made in it cost, per currency.
    ///
    /// # Errors
    /// [`NotificationError::Validation`] naming `from` or `to`: a time outside the years
    /// 0001-9999, `to` not after `from`, or more than [`MAX_SUMMARY_DAYS`] days apart; or storage.
    pub async fn summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<NotificationSummary, NotificationError> {
        let mut errors = Collector::default();
        let from = errors.check("from", order_time(from));
        let to = errors.check("to", order_time(to));
        let (from, to) = errors.finish(from.zip(to))?;
        if to <= from {
            return Err(ValidationErrors::single("to", InvalidValue::BeforeOther { other: "from" }).into());
        }
        if to - from > chrono::Duration::days(i64::from(MAX_SUMMARY_DAYS)) {
            let too_long = InvalidValue::PeriodTooLong { max_days: MAX_SUMMARY_DAYS, other: "from" };
            return Err(ValidationErrors::single("to", too_long).into());
        }
        Ok(self.notifications.summary(from, to).await?.with_every_status())
    }

    /// How many SMS are in each status.
    ///
    /// # Errors
    /// Storage only.
    pub async fn status_counts(&self) -> Result<Vec<(NotificationStatus, u64)>, NotificationError> {
        Ok(self.notifications.count_by_status().await?)
    }

    /// Keeps a provider delivery report for audit (and counts it) and applies it to the
    /// notification whose current message it names. Returns what it did: the stored new state,
    /// or why nothing changed. A report for a message not yet recorded (it can arrive before
    /// the dispatcher stores the send's answer) is [`IgnoredReport::UnknownMessage`] for now,
    /// stays kept and is applied when the message id is stored ([`NotificationDispatcher`]).
    ///
    /// # Errors
    /// Storage only (the provider then sends the report again).
    pub async fn record_delivery_report(&self, report: &DeliveryReport) -> Result<ReportDecision, NotificationError> {
        let now = self.clock.now();
        self.notifications.log_delivery_report(report, now).await?;
        self.metrics.delivery_report(report);
        Ok(apply_report(self.notifications.as_ref(), report, now).await?)
    }
}

/// Applies `report` to the notification whose current message it names, re-reading when
/// another writer got there first; returns the stored state or why nothing changed.
async fn apply_report(
    notifications: &dyn NotificationRepository,
    report: &DeliveryReport,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ReportDecision, RepoError> {
    for _ in 0..STORE_TRIES {
        let Some(current) = notifications.find_by_provider_message_id(&report.provider_message_id).await? else {
            return Ok(ReportDecision::Ignore(IgnoredReport::UnknownMessage));
        };
        match current.apply_delivery_report(report, now) {
            ReportDecision::Ignore(why) => {
                tracing::info!(notification_id = %current.id(), reason = %why, "delivery report ignored");
                return Ok(ReportDecision::Ignore(why));
            }
            ReportDecision::Apply(next) => {
                let events = moved_events(&current, &next, now);
                if notifications.store(current.version(), &next, None, &events).await? {
                    return Ok(ReportDecision::Apply(next));
                }
            }
        }
    }
    Err(RepoError::Unavailable("the notification kept changing".into()))
}

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
    /// rest of the batch is released (pending again) for other dispatchers, not held until
    /// the lease expires.
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
            self.send(notification).await?;
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

    async fn send(&self, notification: &Notification) -> Result<(), RepoError> {
        let result = self.gateway.send(notification.recipient(), notification.message()).await;
        let now = self.clock.now();
        let Ok((next, attempt)) = notification.record_attempt(&self.worker, result, &self.policy, now) else {
            tracing::warn!(notification_id = %notification.id(), "not holding the lease; outcome dropped");
            return Ok(());
        };
        let id = notification.id();
        let outcome = attempt.outcome;
        match outcome {
            AttemptOutcome::Sent => {
                tracing::info!(notification_id = %id, provider_message_id = next.provider_message_id().unwrap_or_default(), "sms sent")
            }
            AttemptOutcome::Retry => {
                tracing::warn!(notification_id = %id, attempt = attempt.number, error = attempt.error.as_deref().unwrap_or_default(), retry_at = %next.next_attempt_at(), "sms failed; will retry")
            }
            AttemptOutcome::Failed => {
                tracing::error!(notification_id = %id, attempt = attempt.number, error = attempt.error.as_deref().unwrap_or_default(), "sms failed permanently")
            }
        }
        let events = moved_events(notification, &next, now);
        if !self.notifications.store(notification.version(), &next, Some(attempt), &events).await? {
            tracing::warn!(notification_id = %id, "lease lost before the outcome was recorded");
            return Ok(());
        }
        self.metrics.sms_attempt(outcome);
        if let Some(message_id) = next.provider_message_id() {
            self.apply_early_reports(message_id).await?;
        }
        Ok(())
    }

    /// Applies delivery reports that arrived before the send's answer was stored (kept by
    /// [`NotificationService::record_delivery_report`] as unknown), oldest first.
    async fn apply_early_reports(&self, message_id: &str) -> Result<(), RepoError> {
        for report in self.notifications.delivery_reports_for(message_id).await? {
            let applied = match apply_report(self.notifications.as_ref(), &report, self.clock.now()).await? {
                ReportDecision::Apply(_) => "applied".to_owned(),
                ReportDecision::Ignore(why) => format!("ignored: {why}"),
            };
            tracing::info!(provider_message_id = message_id, status = %report.status, %applied, "early delivery report");
        }
        Ok(())
    }
}

/// The event of a notification's move from `current` to `next`, if the move makes one.
fn moved_events(current: &Notification, next: &Notification, now: DateTime<Utc>) -> Vec<NewEvent> {
    NewEvent::notification_moved(current.status(), next, now).into_iter().collect()
}

/// Whether a status may still change through sending (for dashboards).
pub fn is_in_flight(status: NotificationStatus) -> bool {
    matches!(status, NotificationStatus::Pending | NotificationStatus::Sending)
}

#[cfg(test)]
mod tests;

//! SMS notifications: looking them up, re-queueing by hand, delivery reports, and the
//! dispatcher that drains the outbox. The rules themselves are [`Notification`]'s methods;
//! these use cases load, apply and store.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{Collector, InvalidValue, RepoError, ValidationErrors};
use crate::event::NewEvent;
use crate::notification::{Attempt, DeliveryReport, IgnoredReport, NotificationSummary, ReportDecision};
use crate::order::order_time;
use crate::ports::{Clock, CustomerRepository, NotificationRepository, OrderRepository, OutboxMetrics, OutboxSignal};
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
    /// stays kept and is applied when the message id is stored ([`NotificationDispatcher`](super::NotificationDispatcher)).
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
pub(super) async fn apply_report(
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

/// The event of a notification's move from `current` to `next`, if the move makes one.
pub(super) fn moved_events(current: &Notification, next: &Notification, now: DateTime<Utc>) -> Vec<NewEvent> {
    NewEvent::notification_moved(current.status(), next, now).into_iter().collect()
}

/// Whether a status may still change through sending (for dashboards).
pub fn is_in_flight(status: NotificationStatus) -> bool {
    matches!(status, NotificationStatus::Pending | NotificationStatus::Sending)
}

#[cfg(test)]
mod tests;

//! SMS notifications: looking them up, re-queueing by hand, delivery reports, and the
//! dispatcher that drains the outbox.

use std::sync::Arc;
use std::time::Duration;

use crate::error::RepoError;
use crate::notification::{Attempt, AttemptOutcome, DeliveryReport, ReportEffect, RetryPolicy, SmsError};
use crate::ports::{Clock, NotificationRepository, OrderRepository, OutboxSignal, SmsGateway};
use crate::{Notification, NotificationId, NotificationStatus, OrderId};

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
}

/// A notification with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationView {
    /// The notification.
    pub notification: Notification,
    /// Its send attempts, oldest first.
    pub attempts: Vec<Attempt>,
}

/// Notification use cases for the API and the delivery-report webhook.
#[derive(Clone)]
pub struct NotificationService {
    notifications: Arc<dyn NotificationRepository>,
    orders: Arc<dyn OrderRepository>,
    clock: Arc<dyn Clock>,
    signal: Arc<dyn OutboxSignal>,
}

impl NotificationService {
    /// `signal` wakes the dispatcher after a re-queue.
    pub fn new(
        notifications: Arc<dyn NotificationRepository>,
        orders: Arc<dyn OrderRepository>,
        clock: Arc<dyn Clock>,
        signal: Arc<dyn OutboxSignal>,
    ) -> Self {
        Self { notifications, orders, clock, signal }
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
            let attempts = self.notifications.attempts(notification.id).await?;
            views.push(NotificationView { notification, attempts });
        }
        Ok(views)
    }

    /// Re-queues a failed or undelivered notification of `order_id`.
    ///
    /// # Errors
    /// [`NotificationError::NotFound`] (also when it belongs to another order),
    /// [`NotificationError::NotRetryable`], or storage.
    pub async fn retry(&self, order_id: OrderId, id: NotificationId) -> Result<Notification, NotificationError> {
        let current = self
            .notifications
            .find(id)
            .await?
            .filter(|n| n.order_id == order_id)
            .ok_or(NotificationError::NotFound(id))?;
        let requeued = self.notifications.requeue(id, self.clock.now()).await.map_err(|e| match e {
            RepoError::NotFound => NotificationError::NotFound(id),
            other => NotificationError::Storage(other),
        })?;
        let requeued = requeued.ok_or(NotificationError::NotRetryable { id, status: current.status.as_str() })?;
        self.signal.notify();
        Ok(requeued)
    }

    /// How many SMS are in each status.
    ///
    /// # Errors
    /// Storage only.
    pub async fn status_counts(&self) -> Result<Vec<(NotificationStatus, u64)>, NotificationError> {
        Ok(self.notifications.count_by_status().await?)
    }

    /// Applies a provider delivery report.
    ///
    /// # Errors
    /// Storage only.
    pub async fn record_delivery_report(&self, report: &DeliveryReport) -> Result<ReportEffect, NotificationError> {
        Ok(self.notifications.apply_delivery_report(report, self.clock.now()).await?)
    }
}

/// Drains the outbox: claims due notifications under a lease, sends them, records outcomes.
/// Several dispatchers (threads or processes) may share one database.
#[derive(Clone)]
pub struct NotificationDispatcher {
    notifications: Arc<dyn NotificationRepository>,
    gateway: Arc<dyn SmsGateway>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    worker: String,
    lease: Duration,
    batch: u64,
}

impl NotificationDispatcher {
    /// `worker` names this dispatcher in leases; `lease` must exceed the gateway's timeout.
    pub fn new(
        notifications: Arc<dyn NotificationRepository>,
        gateway: Arc<dyn SmsGateway>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
        worker: impl Into<String>,
        lease: Duration,
    ) -> Self {
        Self { notifications, gateway, clock, policy, worker: worker.into(), lease, batch: 32 }
    }

    /// Claims and sends one batch. Returns how many notifications it handled.
    ///
    /// # Errors
    /// Storage failures (the batch's leases then expire and another run picks them up).
    pub async fn run_once(&self) -> Result<usize, RepoError> {
        let now = self.clock.now();
        let lease_until = now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60));
        let claimed = self.notifications.claim_due(&self.worker, now, lease_until, self.batch).await?;
        for notification in &claimed {
            self.send(notification).await?;
        }
        Ok(claimed.len())
    }

    async fn send(&self, notification: &Notification) -> Result<(), RepoError> {
        let attempt = notification.attempts + 1;
        let result = self.gateway.send(&notification.recipient, &notification.message).await;
        let timed_out = notification.timed_out || matches!(result, Err(SmsError::Ambiguous(_)));
        let outcome = self.policy.after(notification.id, attempt, result, notification.timed_out, self.clock.now());
        match &outcome {
            AttemptOutcome::Sent(receipt) => {
                tracing::info!(notification_id = %notification.id, provider_message_id = %receipt.message_id, "sms sent")
            }
            AttemptOutcome::RetryAt { at, error } => {
                tracing::warn!(notification_id = %notification.id, attempt, %error, retry_at = %at, "sms failed; will retry")
            }
            AttemptOutcome::GiveUp { error } => {
                tracing::error!(notification_id = %notification.id, attempt, %error, "sms failed permanently")
            }
        }
        let recorded = self
            .notifications
            .record_attempt(notification.id, &self.worker, attempt, self.clock.now(), &outcome, timed_out)
            .await?;
        if !recorded {
            tracing::warn!(notification_id = %notification.id, "lease lost before the outcome was recorded");
        }
        Ok(())
    }
}

/// Whether a status may still change through sending (for dashboards).
pub fn is_in_flight(status: NotificationStatus) -> bool {
    matches!(status, NotificationStatus::Pending | NotificationStatus::Sending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryStore;
    use crate::notification::{MessageTemplate, SmsReceipt};
    use crate::ports::{MockSmsGateway, NoSignal, SystemClock};
    use crate::service::{CustomerDraft, CustomerService, OrderDraft, OrderService, SmsOutbox};
    use crate::{Actor, Currency, PhoneRegion};

    async fn order_with_sms(store: &Arc<InMemoryStore>) -> OrderId {
        let clock = Arc::new(SystemClock);
        let actor = Actor::new("t");
        let customers = CustomerService::new(store.clone(), clock.clone(), PhoneRegion::default());
        let customer = customers
            .create(CustomerDraft { name: "A".into(), code: "A".into(), phone: "0712345678".into() }, &actor)
            .await
            .unwrap();
        let template = MessageTemplate::new(MessageTemplate::DEFAULT, "Africa/Nairobi").unwrap();
        let orders = OrderService::new(store.clone(), store.clone(), clock, Currency::parse("KES").unwrap())
            .with_sms(SmsOutbox { template, signal: Arc::new(NoSignal) });
        let draft = OrderDraft {
            customer_id: customer.id(),
            item: "Tea".into(),
            amount: "5".into(),
            currency: None,
            ordered_at: None,
        };
        orders.create(draft, &actor).await.unwrap().id()
    }

    fn dispatcher(store: &Arc<InMemoryStore>, gateway: MockSmsGateway) -> NotificationDispatcher {
        NotificationDispatcher::new(
            store.clone(),
            Arc::new(gateway),
            Arc::new(SystemClock),
            RetryPolicy::default(),
            "w1",
            Duration::from_secs(30),
        )
    }

    #[tokio::test]
    async fn a_new_order_is_texted_once_to_its_customer() {
        let store = Arc::new(InMemoryStore::default());
        let order_id = order_with_sms(&store).await;
        let mut gateway = MockSmsGateway::new();
        gateway
            .expect_send()
            .withf(|to, text| to.as_str() == "+254712345678" && text.contains("Tea, KES 5.00"))
            .times(1)
            .returning(|_, _| {
                Ok(SmsReceipt { message_id: "ATXid_1".into(), status: "Success".into(), cost: Some("KES 0.80".into()) })
            });
        let dispatcher = dispatcher(&store, gateway);
        assert_eq!(dispatcher.run_once().await.unwrap(), 1);
        assert_eq!(dispatcher.run_once().await.unwrap(), 0, "a sent notification is not claimed again");
        let sent = store.list_for_order(order_id).await.unwrap().remove(0);
        assert_eq!(sent.status, NotificationStatus::Sent);
        assert_eq!(sent.provider_message_id.as_deref(), Some("ATXid_1"));
    }

    #[tokio::test]
    async fn a_temporary_failure_is_retried_later_not_at_once() {
        let store = Arc::new(InMemoryStore::default());
        let order_id = order_with_sms(&store).await;
        let mut gateway = MockSmsGateway::new();
        gateway.expect_send().times(1).returning(|_, _| Err(SmsError::Retryable("HTTP 500".into())));
        let dispatcher = dispatcher(&store, gateway);
        assert_eq!(dispatcher.run_once().await.unwrap(), 1);
        assert_eq!(dispatcher.run_once().await.unwrap(), 0, "backoff: not due yet");
        let pending = store.list_for_order(order_id).await.unwrap().remove(0);
        assert_eq!(pending.status, NotificationStatus::Pending);
        assert_eq!(pending.attempts, 1);
        assert_eq!(store.attempts(pending.id).await.unwrap()[0].outcome, "retry");
    }

    #[tokio::test]
    async fn a_permanent_failure_stops_and_can_be_requeued_by_hand() {
        let store = Arc::new(InMemoryStore::default());
        let order_id = order_with_sms(&store).await;
        let mut gateway = MockSmsGateway::new();
        gateway.expect_send().times(1).returning(|_, _| Err(SmsError::Permanent("InvalidPhoneNumber".into())));
        dispatcher(&store, gateway).run_once().await.unwrap();
        let service = NotificationService::new(store.clone(), store.clone(), Arc::new(SystemClock), Arc::new(NoSignal));
        let views = service.list_for_order(order_id).await.unwrap();
        assert_eq!(views[0].notification.status, NotificationStatus::Failed);
        let requeued = service.retry(order_id, views[0].notification.id).await.unwrap();
        assert_eq!((requeued.status, requeued.attempts), (NotificationStatus::Pending, 0));
        assert!(matches!(service.retry(order_id, requeued.id).await, Err(NotificationError::NotRetryable { .. })));
    }
}

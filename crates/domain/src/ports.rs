//! Ports: what the domain needs from the outside world. Adapters implement them.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use crate::error::RepoError;
use crate::notification::{Attempt, AttemptOutcome, DeliveryReport, ReportEffect, SmsError, SmsReceipt};
use crate::{
    Customer, CustomerId, Notification, NotificationId, NotificationStatus, Order, OrderId, Page, PageRequest,
    PhoneNumber,
};

/// Stores customers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerRepository: Send + Sync {
    /// Stores a new customer.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] when the code (ignoring case) is taken, or a storage failure.
    async fn insert(&self, customer: &Customer) -> Result<(), RepoError>;

    /// Replaces a stored customer's fields.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], [`RepoError::Duplicate`] for a taken code, or a storage failure.
    async fn update(&self, customer: &Customer) -> Result<(), RepoError>;

    /// Deletes a customer.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], [`RepoError::ForeignKey`] while orders refer to it, or a storage failure.
    async fn delete(&self, id: CustomerId) -> Result<(), RepoError>;

    /// Finds a customer by id.
    ///
    /// # Errors
    /// A storage failure.
    async fn find(&self, id: CustomerId) -> Result<Option<Customer>, RepoError>;

    /// Lists customers, newest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn list(&self, page: PageRequest) -> Result<Page<Customer>, RepoError>;

    /// Customers whose name or code contains `text` (ignoring ASCII case), newest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn search(&self, text: &str, limit: u64) -> Result<Vec<Customer>, RepoError>;
}

/// Which orders to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this customer's orders.
    pub customer_id: Option<CustomerId>,
    /// Inclusive lower bound on `ordered_at`.
    pub ordered_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `ordered_at`.
    pub ordered_to: Option<DateTime<Utc>>,
}

/// Stores orders.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// Stores a new order and, in the same transaction, its SMS notifications: all or nothing.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] when its customer does not exist, or a storage failure.
    async fn insert(&self, order: &Order, notifications: &[Notification]) -> Result<(), RepoError>;

    /// Replaces a stored order's fields.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], or a storage failure.
    async fn update(&self, order: &Order) -> Result<(), RepoError>;

    /// Deletes an order.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], or a storage failure.
    async fn delete(&self, id: OrderId) -> Result<(), RepoError>;

    /// Finds an order by id.
    ///
    /// # Errors
    /// A storage failure.
    async fn find(&self, id: OrderId) -> Result<Option<Order>, RepoError>;

    /// Lists matching orders, newest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn list(&self, filter: OrderFilter, page: PageRequest) -> Result<Page<Order>, RepoError>;
}

/// The SMS outbox.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NotificationRepository: Send + Sync {
    /// Claims up to `limit` due notifications for `worker` until `lease_until`: pending ones
    /// whose time has come, and ones whose previous lease expired (a crashed worker). Each is
    /// claimed by one worker only, even with several processes on one database.
    ///
    /// # Errors
    /// A storage failure.
    async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Notification>, RepoError>;

    /// Records attempt number `attempt` and its outcome, if `worker` still holds the lease.
    /// Returns whether it did.
    ///
    /// # Errors
    /// A storage failure.
    async fn record_attempt(
        &self,
        id: NotificationId,
        worker: &str,
        attempt: u32,
        at: DateTime<Utc>,
        outcome: &AttemptOutcome,
        timed_out: bool,
    ) -> Result<bool, RepoError>;

    /// # Errors
    /// A storage failure.
    async fn find(&self, id: NotificationId) -> Result<Option<Notification>, RepoError>;

    /// An order's notifications, oldest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn list_for_order(&self, order_id: OrderId) -> Result<Vec<Notification>, RepoError>;

    /// A notification's attempts, oldest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn attempts(&self, id: NotificationId) -> Result<Vec<Attempt>, RepoError>;

    /// Makes a failed or undelivered notification pending again with a fresh attempt budget.
    /// Returns `None` when it is in another state.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], or a storage failure.
    async fn requeue(&self, id: NotificationId, now: DateTime<Utc>) -> Result<Option<Notification>, RepoError>;

    /// How many notifications are in each status.
    ///
    /// # Errors
    /// A storage failure.
    async fn count_by_status(&self) -> Result<Vec<(NotificationStatus, u64)>, RepoError>;

    /// Applies a delivery report, monotonically: a final status is never replaced.
    ///
    /// # Errors
    /// A storage failure.
    async fn apply_delivery_report(
        &self,
        report: &DeliveryReport,
        now: DateTime<Utc>,
    ) -> Result<ReportEffect, RepoError>;
}

/// Sends one SMS.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// # Errors
    /// An [`SmsError`] classified for the retry policy.
    async fn send(&self, to: &PhoneNumber, message: &str) -> Result<SmsReceipt, SmsError>;
}

/// Wakes the dispatcher when a notification becomes due (after an order is stored).
pub trait OutboxSignal: Send + Sync {
    /// Says that a notification may now be due.
    fn notify(&self);
}

/// A signal nobody listens to (the dispatcher polls).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSignal;

impl OutboxSignal for NoSignal {
    fn notify(&self) {}
}

/// Tells whether the backing store answers; used by readiness probes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// # Errors
    /// [`RepoError::Unavailable`] when the store does not answer.
    async fn ping(&self) -> Result<(), RepoError>;
}

/// The current time. A port so tests can fix it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC, at microsecond precision (what every supported database keeps).
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// The id of whatever a list is keyed by; used to build cursors.
pub(crate) fn customer_key(customer: &Customer) -> Uuid {
    customer.id().as_uuid()
}

pub(crate) fn order_key(order: &Order) -> Uuid {
    order.id().as_uuid()
}

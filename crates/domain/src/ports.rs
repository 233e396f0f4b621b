//! Ports: what the domain needs from the outside world. Adapters implement them.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};

use crate::error::RepoError;
use crate::event::{Event, EventId, EventSelector, NewEvent};
use crate::idempotency::IdempotencyRecord;
use crate::inbox::IncomingMessage;
use crate::notification::{
    Attempt, AttemptOutcome, AttemptRecord, Claim, DeliveryReport, NotificationSummary, SmsError, SmsReceipt,
};
use crate::webhook::{
    self, Delivery, DeliveryAttempt, SendResult, WebhookEndpoint, WebhookEndpointId, WebhookRequest, WebhookTestEvent,
    WebhookUrl,
};
use crate::{
    Currency, Customer, CustomerId, Notification, NotificationId, NotificationStatus, Order, OrderId, OrderNumber,
    OrderStatus, Page, PageRequest, PhoneNumber, StatusChange,
};

/// Stores customers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CustomerRepository: Send + Sync {
    /// Stores a new customer and, in the same transaction, its `events` and the idempotency
    /// record of the request that created it (written first, so a concurrent retry waits for
    /// this one).
    ///
    /// # Errors
    /// [`RepoError::KeyTaken`] when the record's key is stored already, [`RepoError::Duplicate`]
    /// when the code (ignoring case) is taken, or a storage failure.
    async fn insert(
        &self,
        customer: &Customer,
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError>;

    /// Replaces a stored customer's fields and stores `events`, in one transaction; with
    /// `expected_version`, only if the stored customer is still at that version.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], [`RepoError::VersionMismatch`], [`RepoError::Duplicate`] for a
    /// taken code, or a storage failure.
    async fn update(
        &self,
        customer: &Customer,
        expected_version: Option<u32>,
        events: &[NewEvent],
    ) -> Result<(), RepoError>;

    /// Deletes a customer and stores `events`, in one transaction; with `expected_version`,
    /// only if it is still at that version.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], [`RepoError::VersionMismatch`], [`RepoError::ForeignKey`] while
    /// orders refer to it, or a storage failure.
    async fn delete(&self, id: CustomerId, expected_version: Option<u32>, events: &[NewEvent])
    -> Result<(), RepoError>;

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

    /// Lists the customers matching every condition of `filter`, newest first (the same
    /// order and paging as [`CustomerRepository::list`]).
    ///
    /// # Errors
    /// A storage failure.
    async fn list_matching(&self, filter: &CustomerFilter, page: PageRequest) -> Result<Page<Customer>, RepoError>;

    /// The customers with these ids that exist, in any order; ids nobody has are left out.
    /// One query, however many ids.
    ///
    /// # Errors
    /// A storage failure.
    async fn find_many(&self, ids: &[CustomerId]) -> Result<Vec<Customer>, RepoError>;

    /// Customers whose name or code contains `text` (ignoring ASCII case), newest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn search(&self, text: &str, limit: u64) -> Result<Vec<Customer>, RepoError>;

    /// Every customer with this phone number (several customers may share one), oldest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Vec<Customer>, RepoError>;

    /// The customers whose codes have these keys ([`crate::CustomerCode::key`], case-folded), in
    /// any order; keys nobody has are left out.
    ///
    /// # Errors
    /// A storage failure.
    async fn find_by_code_keys(&self, keys: &[String]) -> Result<Vec<Customer>, RepoError>;

    /// Stores an import: inserts `new` customers and writes `changed` ones, each only over the
    /// version it was read at (the `u32`), and stores `events`, all or nothing.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] for a code taken meanwhile, [`RepoError::VersionMismatch`] or
    /// [`RepoError::NotFound`] for a customer changed or deleted meanwhile, or a storage failure.
    async fn store_import(
        &self,
        new: &[Customer],
        changed: &[(Customer, u32)],
        events: &[NewEvent],
    ) -> Result<(), RepoError>;
}

/// Which customers to list; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Only customers with this phone number (several may share one).
    pub phone: Option<PhoneNumber>,
    /// Only the customer whose code, lower-cased (ASCII), is this ([`crate::CustomerCode::key`]).
    pub code_key: Option<String>,
    /// Only customers whose name (lower-cased) or code key contains this lower-cased text,
    /// taken literally (`%` and `_` are no wildcards).
    pub text: Option<String>,
    /// Only customers changed (or created) at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

impl CustomerFilter {
    /// Whether `customer` matches, as the stores decide it.
    pub fn matches(&self, customer: &Customer) -> bool {
        self.phone.as_ref().is_none_or(|p| customer.phone() == p)
            && self.code_key.as_ref().is_none_or(|k| customer.code().key() == *k)
            && self.text.as_ref().is_none_or(|t| {
                customer.name().as_str().to_lowercase().contains(t.as_str())
                    || customer.code().key().contains(t.as_str())
            })
            && self.updated_since.is_none_or(|since| customer.updated_at() >= since)
    }
}

/// Stores the text messages customers send in (see [`crate::inbox`]).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InboxRepository: Send + Sync {
    /// Stores `message` unless a message with the same `provider_id` is stored already (a
    /// repeated callback). Returns whether it was stored.
    ///
    /// # Errors
    /// A storage failure.
    async fn insert(&self, message: &IncomingMessage) -> Result<bool, RepoError>;

    /// The messages whose sender is `sender` (E.164), newest first.
    ///
    /// # Errors
    /// A storage failure.
    async fn list_from(&self, sender: &str, page: PageRequest) -> Result<Page<IncomingMessage>, RepoError>;
}

/// Which orders to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this customer's orders.
    pub customer_id: Option<CustomerId>,
    /// Only orders in one of these statuses; all when empty.
    pub statuses: Vec<OrderStatus>,
    /// Only the order with this number.
    pub number: Option<OrderNumber>,
    /// Inclusive lower bound on `ordered_at`.
    pub ordered_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `ordered_at`.
    pub ordered_to: Option<DateTime<Utc>>,
    /// Only orders changed (or created) at or after this time: inclusive lower bound on
    /// `updated_at`.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Stores orders.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// Draws the next order number (PostgreSQL: a sequence; SQLite: a one-row counter). Unique
    /// and never handed out again, even when the create it was drawn for fails (a gap).
    ///
    /// # Errors
    /// A storage failure, or [`RepoError::Unexpected`] once numbers pass [`OrderNumber::MAX`].
    async fn next_number(&self) -> Result<OrderNumber, RepoError>;

    /// Stores a new order, its first history entry ([`Order::creation`]) and, in the same
    /// transaction, its SMS notifications, its `events` and the idempotency record of the request that
    /// created it: all or nothing. The record is written first, so a concurrent retry with the
    /// same key waits for this one.
    ///
    /// # Errors
    /// [`RepoError::KeyTaken`] when the record's key is stored already,
    /// [`RepoError::ForeignKey`] when its customer does not exist, or a storage failure.
    async fn insert(
        &self,
        order: &Order,
        notifications: &[Notification],
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError>;

    /// Replaces a stored order's fields and stores `events`, in one transaction; with
    /// `expected_version`, only if the stored order is still at that version.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], [`RepoError::VersionMismatch`], or a storage failure.
    async fn update(&self, order: &Order, expected_version: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError>;

    /// Stores a status change: the order's new status (and cancellation), the history entry
    /// `change`, the SMS `notifications` announcing it, the `events` and the idempotency
    /// record of the request, in one transaction; only if the stored order is still at the version before
    /// the change (`change.version - 1`).
    ///
    /// # Errors
    /// [`RepoError::NotFound`], [`RepoError::VersionMismatch`], [`RepoError::KeyTaken`], or a
    /// storage failure.
    async fn change_status(
        &self,
        order: &Order,
        change: &StatusChange,
        notifications: &[Notification],
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError>;

    /// An order's history, oldest first (its creation first). Empty for an unknown order.
    ///
    /// # Errors
    /// A storage failure.
    async fn history(&self, id: OrderId) -> Result<Vec<StatusChange>, RepoError>;

    /// Deletes an order that is still `received` and has no SMS attempted, with its history
    /// and its SMS not yet attempted, and stores `events`, in one transaction; with
    /// `expected_version`, only if it
    /// is still at that version. SMS that were attempted (and their costs) are never deleted.
    ///
    /// # Errors
    /// [`RepoError::NotFound`], [`RepoError::VersionMismatch`], [`RepoError::ForeignKey`] when
    /// the order moved on from `received` or an SMS was attempted, or a storage failure.
    async fn delete(&self, id: OrderId, expected_version: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError>;

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

/// The SMS outbox. It stores the states that [`Notification`]'s transitions decide; each
/// write succeeds only over the version the transition started from, so two dispatchers (or a
/// dispatcher and a delivery report) never overwrite each other.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NotificationRepository: Send + Sync {
    /// Claims up to `limit` due notifications, oldest due first: selects candidates (locking
    /// them where the database can, so concurrent dispatchers take different rows), applies
    /// [`Claim::apply`] to each, and stores each claimed state over the version it was decided
    /// from. Returns the claimed notifications that were stored.
    ///
    /// # Errors
    /// A storage failure.
    async fn claim_due(&self, claim: &Claim, limit: u64) -> Result<Vec<Notification>, RepoError>;

    /// Stores `next` if the stored notification is still at `previous_version`, with the
    /// attempt it logs and the `events` it makes (in one transaction). Returns whether it was
    /// stored (nothing is written when it was not).
    ///
    /// # Errors
    /// A storage failure.
    async fn store(
        &self,
        previous_version: u32,
        next: &Notification,
        attempt: Option<Attempt>,
        events: &[NewEvent],
    ) -> Result<bool, RepoError>;

    /// Stores the outcomes of several sends in one transaction (a dispatcher's batch): each
    /// record's `next` over its `previous_version` with its attempt and events, as [`Self::store`]
    /// does for one. A record whose notification moved on (its lease was taken over) is left
    /// out and the others are stored. Returns, in order, whether each record was stored.
    ///
    /// # Errors
    /// A storage failure (then nothing is stored).
    async fn store_attempts(&self, records: &[AttemptRecord]) -> Result<Vec<bool>, RepoError>;

    /// # Errors
    /// A storage failure.
    async fn find(&self, id: NotificationId) -> Result<Option<Notification>, RepoError>;

    /// The notification whose current message has this provider id.
    ///
    /// # Errors
    /// A storage failure.
    async fn find_by_provider_message_id(&self, message_id: &str) -> Result<Option<Notification>, RepoError>;

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

    /// How many notifications are in each status.
    ///
    /// # Errors
    /// A storage failure.
    async fn count_by_status(&self) -> Result<Vec<(NotificationStatus, u64)>, RepoError>;

    /// SMS of the period `[from, to)`, each part one aggregate query: notifications created in
    /// it counted by current status (statuses without any may be left out), and the costs of
    /// attempts made in it summed exactly per currency (ordered by currency code), with their
    /// attempt and part counts.
    ///
    /// # Errors
    /// A storage failure.
    async fn summary(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<NotificationSummary, RepoError>;

    /// When the longest-waiting due SMS became due: the earliest `next_attempt_at` of pending
    /// notifications at or before `now` (for the outbox-age metric). `None` when none is due.
    ///
    /// # Errors
    /// A storage failure.
    async fn oldest_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, RepoError>;

    /// Keeps a delivery report as received, for audit, whatever it is about.
    ///
    /// # Errors
    /// A storage failure.
    async fn log_delivery_report(&self, report: &DeliveryReport, received_at: DateTime<Utc>) -> Result<(), RepoError>;

    /// The kept delivery reports about any of the provider messages `message_ids`, oldest
    /// first, with the fields they arrived with (so one that came before its send was recorded
    /// can be applied).
    ///
    /// # Errors
    /// A storage failure.
    async fn delivery_reports_for(&self, message_ids: &[String]) -> Result<Vec<DeliveryReport>, RepoError>;
}

/// The event feed: the events the repositories above wrote with each change.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// Up to `limit` events of the types `selector` selects, oldest first (by id), with ids
    /// after `after` and created at or before `until`.
    ///
    /// # Errors
    /// A storage failure (a stored object that no longer reads is one).
    async fn list(
        &self,
        selector: &EventSelector,
        after: Option<EventId>,
        until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Event>, RepoError>;

    /// One event by id.
    ///
    /// # Errors
    /// A storage failure.
    async fn find(&self, id: EventId) -> Result<Option<Event>, RepoError>;

    /// Deletes the events created before `before`; returns how many.
    ///
    /// # Errors
    /// A storage failure.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}

/// Writes an event as the API shows it: `{id, type, created_at, data: {object}}` in JSON,
/// the object as its own endpoint returns it. Implemented by the API crate, so the feed and
/// webhook bodies cannot differ.
pub trait EventEncoder: Send + Sync {
    /// The event's JSON (UTF-8).
    fn encode(&self, event: &Event) -> Vec<u8>;

    /// A webhook test's JSON in the same shape: `{id, type: "webhook_endpoint.test",
    /// created_at, data: {object}}`, the object being the endpoint as its own endpoint returns
    /// it (never its secrets).
    fn encode_test(&self, test: &WebhookTestEvent) -> Vec<u8>;
}

/// Stores webhook endpoints (with their signing secrets, which signing needs in clear).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookEndpointRepository: Send + Sync {
    /// Stores a new endpoint.
    ///
    /// # Errors
    /// A storage failure.
    async fn insert(&self, endpoint: &WebhookEndpoint) -> Result<(), RepoError>;

    /// One endpoint by id.
    ///
    /// # Errors
    /// A storage failure (a stored endpoint that no longer reads is one).
    async fn find(&self, id: WebhookEndpointId) -> Result<Option<WebhookEndpoint>, RepoError>;

    /// Endpoints newest first, paged by id.
    ///
    /// # Errors
    /// A storage failure.
    async fn list(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>, RepoError>;

    /// Writes `next` over the stored endpoint if that is still at `previous_version`; returns
    /// whether it did (false also when the endpoint is gone).
    ///
    /// # Errors
    /// A storage failure.
    async fn store(&self, previous_version: u32, next: &WebhookEndpoint) -> Result<bool, RepoError>;

    /// Deletes an endpoint with its deliveries and their attempts; returns whether it existed.
    ///
    /// # Errors
    /// A storage failure.
    async fn delete(&self, id: WebhookEndpointId) -> Result<bool, RepoError>;
}

/// The webhook outbox: one delivery per (event, endpoint), claimed under a lease and stored
/// only over the version its transition started from, with one attempt row per POST.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookDeliveryRepository: Send + Sync {
    /// In one transaction: takes up to `limit` events not yet routed, oldest first (locking
    /// them where the database can, so concurrent dispatchers take different ones), makes a
    /// [`Delivery::route`] for each enabled endpoint that wants it (at most one per event and
    /// endpoint), and marks the events routed. Returns how many events it routed.
    ///
    /// # Errors
    /// A storage failure (nothing is routed).
    async fn route(&self, limit: u64, now: DateTime<Utc>) -> Result<u64, RepoError>;

    /// Claims up to `limit` due deliveries, oldest due first, applying [`Delivery::claim`] to
    /// each candidate and storing it over the version it was decided from. Returns the
    /// deliveries claimed.
    ///
    /// # Errors
    /// A storage failure.
    async fn claim_due(&self, claim: &Claim, limit: u64) -> Result<Vec<Delivery>, RepoError>;

    /// Stores `next` (with the `attempt` it logs, in one transaction) if the stored delivery is
    /// still at `previous_version`; returns whether it did (nothing is written when not).
    ///
    /// # Errors
    /// A storage failure.
    async fn store(
        &self,
        previous_version: u32,
        next: &Delivery,
        attempt: Option<DeliveryAttempt>,
    ) -> Result<bool, RepoError>;

    /// Logs an attempt that belongs to no delivery (a test POST).
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] when its endpoint is gone, or a storage failure.
    async fn log_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), RepoError>;

    /// An endpoint's attempts, newest first, paged by attempt id.
    ///
    /// # Errors
    /// A storage failure.
    async fn attempts(
        &self,
        endpoint: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>, RepoError>;

    /// When the endpoint last answered 2xx (to a delivery or a test), if ever.
    ///
    /// # Errors
    /// A storage failure.
    async fn last_success(&self, endpoint: WebhookEndpointId) -> Result<Option<DateTime<Utc>>, RepoError>;

    /// Deletes delivered and failed deliveries last changed before `before`, and attempts made
    /// before it; returns how many rows went.
    ///
    /// # Errors
    /// A storage failure.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}

/// POSTs signed events to receivers, and says which URLs it will POST to.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Whether deliveries may go to `url` (checked when an endpoint is created, and again at
    /// each delivery): the adapter's rules for schemes, credentials and addresses.
    ///
    /// # Errors
    /// Why not, in words that complete "url …" (e.g. `must use https`).
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), String>;

    /// POSTs `request` and waits at most [`crate::webhook::DELIVERY_TIMEOUT`] for the status
    /// line. A refused target, a connection failure or a timeout is an `Err` status with the
    /// reason; it never panics or hangs.
    async fn send(&self, request: &WebhookRequest) -> SendResult;
}

/// Randomness for signing secrets, from the operating system in production.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// 32 bytes from a cryptographically secure generator.
    fn random_bytes(&self) -> [u8; 32];
}

/// An order as a list shows it: with its customer's name and its SMS status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOverview {
    /// The order.
    pub order: Order,
    /// Its customer's name.
    pub customer_name: String,
    /// Its customer's code (as first given).
    pub customer_code: String,
    /// Its customer's phone number (E.164).
    pub customer_phone: String,
    /// The status of its newest SMS, if it has one.
    pub sms_status: Option<NotificationStatus>,
}

/// Where a page of [`OrderReports::board`] ended: its last row's `ordered_at` and id. The next
/// page starts strictly after it in the board's order (`ordered_at` descending, then id
/// descending), so rows sharing one `ordered_at` are neither lost nor repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardCursor {
    /// The last row's `ordered_at` (UTC, microsecond precision as stored).
    pub ordered_at: DateTime<Utc>,
    /// The last row's id.
    pub id: OrderId,
}

/// One page of [`OrderReports::board`]: up to `limit` rows, newest `ordered_at` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardPage {
    /// The rows, `ordered_at` descending, then id descending.
    pub items: Vec<OrderOverview>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<BoardCursor>,
}

impl BoardPage {
    /// Builds a page from up to `limit + 1` rows fetched in board order: the extra row only
    /// tells that another page exists.
    pub fn from_overfetch(mut rows: Vec<OrderOverview>, limit: u64) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(|row| BoardCursor { ordered_at: row.order.ordered_at(), id: row.order.id() })
        } else {
            None
        };
        Self { items: rows, next }
    }
}

/// Orders and revenue on one local calendar day (in the zone the report was asked for) in one
/// currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyTotal {
    /// The calendar day in the report's time zone.
    pub day: NaiveDate,
    /// The currency of `revenue_minor`.
    pub currency: Currency,
    /// How many orders in this currency were placed that day.
    pub orders: u64,
    /// Their amounts added up, in minor units; wide enough never to overflow.
    pub revenue_minor: i128,
}

/// Read models over orders for reports and dashboards, each answered in one query.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderReports: Send + Sync {
    /// Orders newest first, each with its customer's name and newest SMS status.
    ///
    /// # Errors
    /// A storage failure.
    async fn overview(&self, page: PageRequest) -> Result<Page<OrderOverview>, RepoError>;

    /// The order board: orders matching `filter`, newest `ordered_at` first (ties by id,
    /// newest first), each with its customer's name and newest SMS status; at most `limit`
    /// rows, starting after `after` (the previous page's [`BoardPage::next`]). A back-dated
    /// order lists by the time it was ordered, not by when it was entered.
    ///
    /// # Errors
    /// A storage failure.
    async fn board(&self, filter: &OrderFilter, after: Option<BoardCursor>, limit: u64)
    -> Result<BoardPage, RepoError>;

    /// Order counts and revenue per day and currency for orders placed in `[from, to)`, oldest
    /// day first (then by currency code). A day is a calendar day in `zone`: an order placed
    /// at 22:30 UTC counts on the next day in `Africa/Nairobi` (UTC+3). `revenue_minor` is the
    /// exact sum of the amounts in minor units.
    ///
    /// # Errors
    /// A storage failure.
    async fn daily_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: chrono_tz::Tz,
    ) -> Result<Vec<DailyTotal>, RepoError>;
}

/// Stored responses of requests sent with an `Idempotency-Key` (written by the repositories
/// that create, in the same transaction).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyRepository: Send + Sync {
    /// The record for `subject`'s `key`, unless it expired by `now`.
    ///
    /// # Errors
    /// A storage failure.
    async fn find(&self, subject: &str, key: &str, now: DateTime<Utc>) -> Result<Option<IdempotencyRecord>, RepoError>;

    /// Deletes the records expired by `now`; returns how many.
    ///
    /// # Errors
    /// A storage failure.
    async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, RepoError>;
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

/// Counts what the outboxes did, for the operator's dashboards: called by the SMS dispatcher,
/// the delivery-report use case and the webhook dispatcher once a change is stored, so every
/// store counts the same. Counting never fails and never blocks.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait OutboxMetrics: Send + Sync {
    /// An SMS attempt, stored with its outcome (`orderdesk_sms_attempts_total{result}`).
    fn sms_attempt(&self, outcome: AttemptOutcome);

    /// A delivery report, kept for audit whatever it is about
    /// (`orderdesk_sms_delivery_reports_total{status}`, by [`DeliveryReport::status_label`]).
    fn delivery_report(&self, report: &DeliveryReport);

    /// A webhook delivery's POST, stored with its outcome (`orderdesk_webhook_attempts_total{outcome}`);
    /// test POSTs are not counted.
    fn webhook_attempt(&self, outcome: webhook::AttemptOutcome);
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

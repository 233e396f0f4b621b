//! In-memory implementations of the storage ports, with the same constraints as the
//! database (unique customer code ignoring case, orders need their customer, notification
//! writes only over the version they started from). For tests; data lives only as long as
//! the store. Behind the `memory` feature.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use chrono::{DateTime, Utc};
use orderdesk_domain::PhoneNumber;
use orderdesk_domain::idempotency::IdempotencyRecord;
use orderdesk_domain::inbox::IncomingMessage;
use orderdesk_domain::notification::{Attempt, AttemptRecord, Claim, CostTotal, DeliveryReport, NotificationSummary};
use orderdesk_domain::ports::InboxRepository;
use orderdesk_domain::ports::{
    BoardCursor, BoardPage, CustomerFilter, CustomerRepository, DailyTotal, EventRepository, HealthCheck,
    IdempotencyRepository, NotificationRepository, OrderFilter, OrderOverview, OrderReports, OrderRepository,
};
use orderdesk_domain::{
    Customer, CustomerId, Event, EventId, EventSelector, NewEvent, Notification, NotificationId, NotificationStatus,
    Order, OrderId, OrderNumber, OrderStatus, Page, PageRequest, RepoError, StatusChange,
};

mod webhooks;

#[derive(Debug, Default)]
struct Tables {
    customers: BTreeMap<Uuid, Customer>,
    orders: BTreeMap<Uuid, Order>,
    notifications: BTreeMap<Uuid, Notification>,
    attempts: Vec<(Uuid, Attempt)>,
    delivery_reports: Vec<(DateTime<Utc>, DeliveryReport)>,
    idempotency: BTreeMap<(String, String), IdempotencyRecord>,
    /// The last order number drawn (numbers start at 1001, as the migration's counter).
    last_number: u32,
    history: Vec<(OrderId, StatusChange)>,
    /// Incoming messages by our id (UUIDv7, so in order of arrival).
    inbox: BTreeMap<Uuid, IncomingMessage>,
    /// The event feed by id (UUIDv7, so oldest first).
    events: BTreeMap<Uuid, Event>,
    /// Events the webhook dispatcher has routed.
    routed: std::collections::BTreeSet<Uuid>,
    webhook_endpoints: BTreeMap<Uuid, orderdesk_domain::WebhookEndpoint>,
    webhook_deliveries: BTreeMap<Uuid, orderdesk_domain::webhook::Delivery>,
    webhook_attempts: BTreeMap<Uuid, orderdesk_domain::webhook::DeliveryAttempt>,
}

impl Tables {
    /// Stores a change's events, each under a fresh id taken under the lock (feed order).
    fn publish(&mut self, events: &[NewEvent]) {
        for event in events {
            let id = EventId::generate();
            self.events.insert(id.as_uuid(), event.clone().stored(id));
        }
    }
}

/// Customers, orders and their SMS kept in memory; implements every storage port.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    tables: Mutex<Tables>,
}

impl InMemoryStore {
    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-written row: every write is one map operation.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn code_taken(tables: &Tables, customer: &Customer) -> bool {
    let key = customer.code().key();
    tables.customers.values().any(|c| c.id() != customer.id() && c.code().key() == key)
}

/// Newest first, starting below `page.before`, one extra row to detect a further page.
fn newest_first<'a, T: Clone + 'a>(
    rows: impl DoubleEndedIterator<Item = (&'a Uuid, &'a T)>,
    page: PageRequest,
    keep: impl Fn(&T) -> bool,
) -> Vec<T> {
    let take = usize::try_from(page.limit).unwrap_or(usize::MAX).saturating_add(1);
    rows.rev()
        .filter(|(id, _)| page.before.is_none_or(|before| **id < before))
        .map(|(_, row)| row)
        .filter(|row| keep(row))
        .take(take)
        .cloned()
        .collect()
}

/// Whether `order` passes `filter`.
fn matches(filter: &OrderFilter, order: &Order) -> bool {
    filter.customer_id.is_none_or(|c| order.customer_id() == c)
        && (filter.statuses.is_empty() || filter.statuses.contains(&order.status()))
        && filter.number.is_none_or(|n| order.number() == n)
        && filter.ordered_from.is_none_or(|from| order.ordered_at() >= from)
        && filter.ordered_to.is_none_or(|to| order.ordered_at() < to)
        && filter.updated_since.is_none_or(|since| order.updated_at() >= since)
}

/// `order` as a list shows it: with its customer's name and its newest SMS's status.
fn overview_of(tables: &Tables, order: Order) -> OrderOverview {
    OrderOverview {
        customer_name: tables
            .customers
            .get(&order.customer_id().as_uuid())
            .map(|c| c.name().as_str().to_owned())
            .unwrap_or_default(),
        customer_code: tables
            .customers
            .get(&order.customer_id().as_uuid())
            .map(|c| c.code().as_str().to_owned())
            .unwrap_or_default(),
        customer_phone: tables
            .customers
            .get(&order.customer_id().as_uuid())
            .map(|c| c.phone().as_str().to_owned())
            .unwrap_or_default(),
        sms_status: tables.notifications.values().rfind(|n| n.order_id() == order.id()).map(|n| n.status()),
        order,
    }
}

/// A conditional write's check: the stored version must be the expected one.
fn check_version(stored: u32, expected: Option<u32>) -> Result<(), RepoError> {
    if expected.is_some_and(|v| v != stored) { Err(RepoError::VersionMismatch) } else { Ok(()) }
}

/// A live record for the same caller and key means another request got there first.
fn check_key(tables: &Tables, record: Option<&IdempotencyRecord>) -> Result<(), RepoError> {
    let Some(record) = record else { return Ok(()) };
    let id = (record.request.subject.clone(), record.request.key.as_str().to_owned());
    match tables.idempotency.get(&id) {
        Some(live) if live.expires_at > record.created_at => Err(RepoError::KeyTaken),
        _ => Ok(()),
    }
}

fn keep_key(tables: &mut Tables, record: Option<IdempotencyRecord>) {
    if let Some(record) = record {
        let id = (record.request.subject.clone(), record.request.key.as_str().to_owned());
        tables.idempotency.insert(id, record);
    }
}

#[async_trait]
impl IdempotencyRepository for InMemoryStore {
    async fn find(&self, subject: &str, key: &str, now: DateTime<Utc>) -> Result<Option<IdempotencyRecord>, RepoError> {
        let tables = self.tables();
        let record = tables.idempotency.get(&(subject.to_owned(), key.to_owned()));
        Ok(record.filter(|r| r.expires_at > now).cloned())
    }

    async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut tables = self.tables();
        let before = tables.idempotency.len();
        tables.idempotency.retain(|_, r| r.expires_at > now);
        Ok((before - tables.idempotency.len()) as u64)
    }
}

#[async_trait]
impl CustomerRepository for InMemoryStore {
    async fn insert(
        &self,
        customer: &Customer,
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut tables = self.tables();
        check_key(&tables, record.as_ref())?;
        if code_taken(&tables, customer) || tables.customers.contains_key(&customer.id().as_uuid()) {
            return Err(RepoError::Duplicate);
        }
        keep_key(&mut tables, record);
        tables.customers.insert(customer.id().as_uuid(), customer.clone());
        tables.publish(events);
        Ok(())
    }

    async fn update(
        &self,
        customer: &Customer,
        expected_version: Option<u32>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut tables = self.tables();
        let stored = tables.customers.get(&customer.id().as_uuid()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected_version)?;
        if code_taken(&tables, customer) {
            return Err(RepoError::Duplicate);
        }
        tables.customers.insert(customer.id().as_uuid(), customer.clone());
        tables.publish(events);
        Ok(())
    }

    async fn delete(
        &self,
        id: CustomerId,
        expected_version: Option<u32>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut tables = self.tables();
        let stored = tables.customers.get(&id.as_uuid()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected_version)?;
        if tables.orders.values().any(|o| o.customer_id() == id) {
            return Err(RepoError::ForeignKey);
        }
        tables.customers.remove(&id.as_uuid());
        tables.publish(events);
        Ok(())
    }

    async fn find(&self, id: CustomerId) -> Result<Option<Customer>, RepoError> {
        Ok(self.tables().customers.get(&id.as_uuid()).cloned())
    }

    async fn list(&self, page: PageRequest) -> Result<Page<Customer>, RepoError> {
        let rows = newest_first(self.tables().customers.iter(), page, |_| true);
        Ok(Page::from_overfetch(rows, page.limit, |c| c.id().as_uuid()))
    }

    async fn list_matching(&self, filter: &CustomerFilter, page: PageRequest) -> Result<Page<Customer>, RepoError> {
        let rows = newest_first(self.tables().customers.iter(), page, |c| filter.matches(c));
        Ok(Page::from_overfetch(rows, page.limit, |c| c.id().as_uuid()))
    }

    async fn find_many(&self, ids: &[CustomerId]) -> Result<Vec<Customer>, RepoError> {
        let tables = self.tables();
        Ok(ids.iter().filter_map(|id| tables.customers.get(&id.as_uuid()).cloned()).collect())
    }

    async fn search(&self, text: &str, limit: u64) -> Result<Vec<Customer>, RepoError> {
        let needle = text.to_ascii_lowercase();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self
            .tables()
            .customers
            .values()
            .rev()
            .filter(|c| c.name().as_str().to_ascii_lowercase().contains(&needle) || c.code().key().contains(&needle))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Vec<Customer>, RepoError> {
        Ok(self.tables().customers.values().filter(|c| c.phone() == phone).cloned().collect())
    }

    async fn find_by_code_keys(&self, keys: &[String]) -> Result<Vec<Customer>, RepoError> {
        Ok(self.tables().customers.values().filter(|c| keys.contains(&c.code().key())).cloned().collect())
    }

    /// All or nothing, under one lock.
    async fn store_import(
        &self,
        new: &[Customer],
        changed: &[(Customer, u32)],
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut tables = self.tables();
        let mut next = tables.customers.clone();
        for (customer, version) in changed {
            let stored = next.get(&customer.id().as_uuid()).ok_or(RepoError::NotFound)?;
            check_version(stored.audit().version, Some(*version))?;
            next.insert(customer.id().as_uuid(), customer.clone());
        }
        for customer in new {
            if next.values().any(|c| c.code().key() == customer.code().key()) {
                return Err(RepoError::Duplicate);
            }
            next.insert(customer.id().as_uuid(), customer.clone());
        }
        tables.customers = next;
        tables.publish(events);
        Ok(())
    }
}

#[async_trait]
impl OrderRepository for InMemoryStore {
    async fn next_number(&self) -> Result<OrderNumber, RepoError> {
        let mut tables = self.tables();
        tables.last_number = tables.last_number.max(OrderNumber::DEFAULT_FIRST - 1) + 1;
        OrderNumber::new(i64::from(tables.last_number)).map_err(|e| RepoError::Unexpected(e.into()))
    }

    async fn insert(
        &self,
        order: &Order,
        notifications: &[Notification],
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut tables = self.tables();
        check_key(&tables, record.as_ref())?;
        if !tables.customers.contains_key(&order.customer_id().as_uuid()) {
            return Err(RepoError::ForeignKey);
        }
        if tables.orders.contains_key(&order.id().as_uuid()) {
            return Err(RepoError::Duplicate);
        }
        if tables.orders.values().any(|o| o.number() == order.number()) {
            return Err(RepoError::Duplicate);
        }
        keep_key(&mut tables, record);
        tables.orders.insert(order.id().as_uuid(), order.clone());
        tables.history.push((order.id(), order.creation()));
        for notification in notifications {
            tables.notifications.insert(notification.id().as_uuid(), notification.clone());
        }
        tables.publish(events);
        Ok(())
    }

    async fn update(&self, order: &Order, expected_version: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        let mut tables = self.tables();
        let stored = tables.orders.get_mut(&order.id().as_uuid()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected_version)?;
        *stored = order.clone();
        tables.publish(events);
        Ok(())
    }

    async fn delete(&self, id: OrderId, expected_version: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        let mut tables = self.tables();
        let stored = tables.orders.get(&id.as_uuid()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected_version)?;
        let attempted = |n: &Notification| {
            n.order_id() == id
                && n.status() != NotificationStatus::Skipped
                && (n.attempts() > 0 || n.status() != NotificationStatus::Pending || n.lease().is_some())
        };
        if stored.status() != OrderStatus::Received || tables.notifications.values().any(attempted) {
            return Err(RepoError::ForeignKey);
        }
        tables.orders.remove(&id.as_uuid());
        // Only SMS never attempted are left; they and the history go, as in the database.
        tables.notifications.retain(|_, n| n.order_id() != id);
        tables.history.retain(|(order, _)| *order != id);
        tables.publish(events);
        Ok(())
    }

    async fn change_status(
        &self,
        order: &Order,
        change: &StatusChange,
        notifications: &[Notification],
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut tables = self.tables();
        check_key(&tables, record.as_ref())?;
        let stored = tables.orders.get_mut(&order.id().as_uuid()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, Some(change.version.wrapping_sub(1)))?;
        *stored = order.clone();
        keep_key(&mut tables, record);
        tables.history.push((order.id(), change.clone()));
        tables.notifications.extend(notifications.iter().map(|n| (n.id().as_uuid(), n.clone())));
        tables.publish(events);
        Ok(())
    }

    async fn history(&self, id: OrderId) -> Result<Vec<StatusChange>, RepoError> {
        Ok(self.tables().history.iter().filter(|(order, _)| *order == id).map(|(_, change)| change.clone()).collect())
    }

    async fn find(&self, id: OrderId) -> Result<Option<Order>, RepoError> {
        Ok(self.tables().orders.get(&id.as_uuid()).cloned())
    }

    async fn list(&self, filter: OrderFilter, page: PageRequest) -> Result<Page<Order>, RepoError> {
        let rows = newest_first(self.tables().orders.iter(), page, |o| matches(&filter, o));
        Ok(Page::from_overfetch(rows, page.limit, |o| o.id().as_uuid()))
    }
}

#[async_trait]
impl EventRepository for InMemoryStore {
    async fn list(
        &self,
        selector: &EventSelector,
        after: Option<EventId>,
        until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Event>, RepoError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self
            .tables()
            .events
            .values()
            .filter(|e| after.is_none_or(|after| e.id > after) && e.created_at <= until && selector.selects(e.kind))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn find(&self, id: EventId) -> Result<Option<Event>, RepoError> {
        Ok(self.tables().events.get(&id.as_uuid()).cloned())
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut tables = self.tables();
        let count = tables.events.len();
        tables.events.retain(|_, e| e.created_at >= before);
        Ok((count - tables.events.len()) as u64)
    }
}

#[async_trait]
impl HealthCheck for InMemoryStore {
    async fn ping(&self) -> Result<(), RepoError> {
        Ok(())
    }
}

#[async_trait]
impl NotificationRepository for InMemoryStore {
    async fn claim_due(&self, claim: &Claim, limit: u64) -> Result<Vec<Notification>, RepoError> {
        let mut tables = self.tables();
        let mut claimed: Vec<Notification> = tables.notifications.values().filter_map(|n| claim.apply(n)).collect();
        claimed.sort_by_key(|n| n.next_attempt_at());
        claimed.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        for n in &claimed {
            tables.notifications.insert(n.id().as_uuid(), n.clone());
        }
        Ok(claimed)
    }

    async fn store(
        &self,
        previous_version: u32,
        next: &Notification,
        attempt: Option<Attempt>,
        events: &[NewEvent],
    ) -> Result<bool, RepoError> {
        let mut tables = self.tables();
        match tables.notifications.get_mut(&next.id().as_uuid()) {
            Some(stored) if stored.version() == previous_version => *stored = next.clone(),
            _ => return Ok(false),
        }
        if let Some(attempt) = attempt {
            tables.attempts.push((next.id().as_uuid(), attempt));
        }
        tables.publish(events);
        Ok(true)
    }

    async fn store_attempts(&self, records: &[AttemptRecord]) -> Result<Vec<bool>, RepoError> {
        let mut stored = Vec::with_capacity(records.len());
        for record in records {
            let attempt = Some(record.attempt.clone());
            stored.push(self.store(record.previous_version, &record.next, attempt, &record.events).await?);
        }
        Ok(stored)
    }

    async fn find(&self, id: NotificationId) -> Result<Option<Notification>, RepoError> {
        Ok(self.tables().notifications.get(&id.as_uuid()).cloned())
    }

    async fn find_by_provider_message_id(&self, message_id: &str) -> Result<Option<Notification>, RepoError> {
        Ok(self.tables().notifications.values().find(|n| n.provider_message_id() == Some(message_id)).cloned())
    }

    async fn list_for_order(&self, order_id: OrderId) -> Result<Vec<Notification>, RepoError> {
        Ok(self.tables().notifications.values().filter(|n| n.order_id() == order_id).cloned().collect())
    }

    async fn attempts(&self, id: NotificationId) -> Result<Vec<Attempt>, RepoError> {
        Ok(self.tables().attempts.iter().filter(|(n, _)| *n == id.as_uuid()).map(|(_, a)| a.clone()).collect())
    }

    async fn count_by_status(&self) -> Result<Vec<(NotificationStatus, u64)>, RepoError> {
        let tables = self.tables();
        Ok(NotificationStatus::ALL
            .into_iter()
            .map(|status| (status, tables.notifications.values().filter(|n| n.status() == status).count() as u64))
            .filter(|(_, count)| *count > 0)
            .collect())
    }

    async fn summary(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<NotificationSummary, RepoError> {
        let tables = self.tables();
        let created = tables.notifications.values().filter(|n| n.created_at() >= from && n.created_at() < to);
        let counts = NotificationStatus::ALL
            .into_iter()
            .map(|status| (status, created.clone().filter(|n| n.status() == status).count() as u64))
            .collect();
        let made = tables.attempts.iter().map(|(_, a)| a).filter(|a| a.attempted_at >= from && a.attempted_at < to);
        let costs = CostTotal::add_up(made.filter_map(|a| Some((a.cost?, a.parts))));
        Ok(NotificationSummary { from, to, counts, costs })
    }

    async fn oldest_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, RepoError> {
        let tables = self.tables();
        let due = tables.notifications.values().filter(|n| n.status() == NotificationStatus::Pending);
        Ok(due.map(|n| n.next_attempt_at()).filter(|at| *at <= now).min())
    }

    async fn log_delivery_report(&self, report: &DeliveryReport, received_at: DateTime<Utc>) -> Result<(), RepoError> {
        self.tables().delivery_reports.push((received_at, report.clone()));
        Ok(())
    }

    async fn delivery_reports_for(&self, message_ids: &[String]) -> Result<Vec<DeliveryReport>, RepoError> {
        let tables = self.tables();
        let about = |r: &DeliveryReport| message_ids.contains(&r.provider_message_id);
        let mut reports: Vec<_> = tables.delivery_reports.iter().filter(|(_, r)| about(r)).cloned().collect();
        reports.sort_by_key(|(at, _)| *at);
        Ok(reports.into_iter().map(|(_, r)| r).collect())
    }
}

#[async_trait]
impl OrderReports for InMemoryStore {
    async fn overview(&self, page: PageRequest) -> Result<Page<OrderOverview>, RepoError> {
        let tables = self.tables();
        let rows: Vec<OrderOverview> = newest_first(tables.orders.iter(), page, |_| true)
            .into_iter()
            .map(|order| overview_of(&tables, order))
            .collect();
        Ok(Page::from_overfetch(rows, page.limit, |row| row.order.id().as_uuid()))
    }

    async fn board(
        &self,
        filter: &OrderFilter,
        after: Option<BoardCursor>,
        limit: u64,
    ) -> Result<BoardPage, RepoError> {
        let tables = self.tables();
        let key = |o: &Order| (o.ordered_at(), o.id().as_uuid());
        let mut rows: Vec<&Order> = tables
            .orders
            .values()
            .filter(|o| matches(filter, o))
            .filter(|o| after.is_none_or(|after| key(o) < (after.ordered_at, after.id.as_uuid())))
            .collect();
        rows.sort_by_key(|o| std::cmp::Reverse(key(o)));
        let take = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
        let rows = rows.into_iter().take(take).map(|o| overview_of(&tables, o.clone())).collect();
        Ok(BoardPage::from_overfetch(rows, limit))
    }

    async fn daily_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: chrono_tz::Tz,
    ) -> Result<Vec<DailyTotal>, RepoError> {
        let mut totals: BTreeMap<(chrono::NaiveDate, &'static str), DailyTotal> = BTreeMap::new();
        let tables = self.tables();
        for order in tables.orders.values().filter(|o| o.ordered_at() >= from && o.ordered_at() < to) {
            let currency = order.amount().currency();
            let day = order.ordered_at().with_timezone(&zone).date_naive();
            let total = totals.entry((day, currency.code())).or_insert(DailyTotal {
                day,
                currency,
                orders: 0,
                revenue_minor: 0,
            });
            total.orders += 1;
            total.revenue_minor += i128::from(order.amount().minor_units());
        }
        Ok(totals.into_values().collect())
    }
}

#[async_trait]
impl InboxRepository for InMemoryStore {
    async fn insert(&self, message: &IncomingMessage) -> Result<bool, RepoError> {
        let mut tables = self.tables();
        if tables.inbox.values().any(|m| m.provider_id == message.provider_id) {
            return Ok(false);
        }
        tables.inbox.insert(message.id, message.clone());
        Ok(true)
    }

    async fn list_from(&self, sender: &str, page: PageRequest) -> Result<Page<IncomingMessage>, RepoError> {
        let rows = newest_first(self.tables().inbox.iter(), page, |m: &IncomingMessage| m.sender == sender);
        Ok(Page::from_overfetch(rows, page.limit, |m| m.id))
    }
}

//! In-memory implementations of the repository ports, with the same constraints as the
//! database (unique customer code ignoring case, orders need their customer). For examples,
//! tests and embedding; data lives only as long as the store.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::RepoError;
use chrono::{DateTime, Utc};

use crate::notification::{Attempt, AttemptOutcome, DeliveryReport, ReportEffect, is_final_delivery_status};
use crate::ports::{
    CustomerRepository, HealthCheck, NotificationRepository, OrderFilter, OrderRepository, customer_key, order_key,
};
use crate::{
    Customer, CustomerId, Notification, NotificationId, NotificationStatus, Order, OrderId, Page, PageRequest,
};

#[derive(Debug, Default)]
struct Tables {
    customers: BTreeMap<Uuid, Customer>,
    orders: BTreeMap<Uuid, Order>,
    notifications: BTreeMap<Uuid, Notification>,
    leases: BTreeMap<Uuid, (String, DateTime<Utc>)>,
    attempts: Vec<(Uuid, Attempt)>,
}

/// Customers and orders kept in memory; implements both repository ports.
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

#[async_trait]
impl CustomerRepository for InMemoryStore {
    async fn insert(&self, customer: &Customer) -> Result<(), RepoError> {
        let mut tables = self.tables();
        if code_taken(&tables, customer) || tables.customers.contains_key(&customer.id().as_uuid()) {
            return Err(RepoError::Duplicate);
        }
        tables.customers.insert(customer.id().as_uuid(), customer.clone());
        Ok(())
    }

    async fn update(&self, customer: &Customer) -> Result<(), RepoError> {
        let mut tables = self.tables();
        if !tables.customers.contains_key(&customer.id().as_uuid()) {
            return Err(RepoError::NotFound);
        }
        if code_taken(&tables, customer) {
            return Err(RepoError::Duplicate);
        }
        tables.customers.insert(customer.id().as_uuid(), customer.clone());
        Ok(())
    }

    async fn delete(&self, id: CustomerId) -> Result<(), RepoError> {
        let mut tables = self.tables();
        if !tables.customers.contains_key(&id.as_uuid()) {
            return Err(RepoError::NotFound);
        }
        if tables.orders.values().any(|o| o.customer_id() == id) {
            return Err(RepoError::ForeignKey);
        }
        tables.customers.remove(&id.as_uuid());
        Ok(())
    }

    async fn find(&self, id: CustomerId) -> Result<Option<Customer>, RepoError> {
        Ok(self.tables().customers.get(&id.as_uuid()).cloned())
    }

    async fn list(&self, page: PageRequest) -> Result<Page<Customer>, RepoError> {
        let rows = newest_first(self.tables().customers.iter(), page, |_| true);
        Ok(Page::from_overfetch(rows, page.limit, customer_key))
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
}

#[async_trait]
impl OrderRepository for InMemoryStore {
    async fn insert(&self, order: &Order, notifications: &[Notification]) -> Result<(), RepoError> {
        let mut tables = self.tables();
        if !tables.customers.contains_key(&order.customer_id().as_uuid()) {
            return Err(RepoError::ForeignKey);
        }
        if tables.orders.contains_key(&order.id().as_uuid()) {
            return Err(RepoError::Duplicate);
        }
        tables.orders.insert(order.id().as_uuid(), order.clone());
        for notification in notifications {
            tables.notifications.insert(notification.id.as_uuid(), notification.clone());
        }
        Ok(())
    }

    async fn update(&self, order: &Order) -> Result<(), RepoError> {
        let mut tables = self.tables();
        match tables.orders.get_mut(&order.id().as_uuid()) {
            Some(stored) => {
                *stored = order.clone();
                Ok(())
            }
            None => Err(RepoError::NotFound),
        }
    }

    async fn delete(&self, id: OrderId) -> Result<(), RepoError> {
        let mut tables = self.tables();
        tables.orders.remove(&id.as_uuid()).ok_or(RepoError::NotFound)?;
        // As ON DELETE CASCADE in the database.
        tables.notifications.retain(|_, n| n.order_id != id);
        Ok(())
    }

    async fn find(&self, id: OrderId) -> Result<Option<Order>, RepoError> {
        Ok(self.tables().orders.get(&id.as_uuid()).cloned())
    }

    async fn list(&self, filter: OrderFilter, page: PageRequest) -> Result<Page<Order>, RepoError> {
        let keep = |o: &Order| {
            filter.customer_id.is_none_or(|c| o.customer_id() == c)
                && filter.ordered_from.is_none_or(|from| o.ordered_at() >= from)
                && filter.ordered_to.is_none_or(|to| o.ordered_at() < to)
        };
        let rows = newest_first(self.tables().orders.iter(), page, keep);
        Ok(Page::from_overfetch(rows, page.limit, order_key))
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
    async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Notification>, RepoError> {
        let mut tables = self.tables();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let due: Vec<Uuid> = tables
            .notifications
            .values()
            .filter(|n| match n.status {
                NotificationStatus::Pending => n.next_attempt_at <= now,
                NotificationStatus::Sending => tables.leases.get(&n.id.as_uuid()).is_none_or(|(_, until)| *until < now),
                _ => false,
            })
            .map(|n| n.id.as_uuid())
            .take(limit)
            .collect();
        let mut claimed = Vec::new();
        for id in due {
            tables.leases.insert(id, (worker.to_owned(), lease_until));
            if let Some(n) = tables.notifications.get_mut(&id) {
                n.status = NotificationStatus::Sending;
                n.updated_at = now;
                claimed.push(n.clone());
            }
        }
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: NotificationId,
        worker: &str,
        attempt: u32,
        at: DateTime<Utc>,
        outcome: &AttemptOutcome,
        timed_out: bool,
    ) -> Result<bool, RepoError> {
        let mut tables = self.tables();
        if tables.leases.get(&id.as_uuid()).is_none_or(|(owner, _)| owner != worker) {
            return Ok(false);
        }
        tables.leases.remove(&id.as_uuid());
        let Some(n) = tables.notifications.get_mut(&id.as_uuid()) else { return Ok(false) };
        n.attempts = attempt;
        n.timed_out = timed_out;
        n.updated_at = at;
        let (label, error) = match outcome {
            AttemptOutcome::Sent(receipt) => {
                n.status = NotificationStatus::Sent;
                n.provider_message_id = Some(receipt.message_id.clone());
                n.provider_status = Some(receipt.status.clone());
                n.cost = receipt.cost.clone();
                n.sent_at = Some(at);
                n.last_error = None;
                ("sent", None)
            }
            AttemptOutcome::RetryAt { at: next, error } => {
                n.status = NotificationStatus::Pending;
                n.next_attempt_at = *next;
                n.last_error = Some(error.clone());
                ("retry", Some(error.clone()))
            }
            AttemptOutcome::GiveUp { error } => {
                n.status = NotificationStatus::Failed;
                n.last_error = Some(error.clone());
                ("failed", Some(error.clone()))
            }
        };
        tables
            .attempts
            .push((id.as_uuid(), Attempt { number: attempt, attempted_at: at, outcome: label.into(), error }));
        Ok(true)
    }

    async fn find(&self, id: NotificationId) -> Result<Option<Notification>, RepoError> {
        Ok(self.tables().notifications.get(&id.as_uuid()).cloned())
    }

    async fn list_for_order(&self, order_id: OrderId) -> Result<Vec<Notification>, RepoError> {
        Ok(self.tables().notifications.values().filter(|n| n.order_id == order_id).cloned().collect())
    }

    async fn attempts(&self, id: NotificationId) -> Result<Vec<Attempt>, RepoError> {
        Ok(self.tables().attempts.iter().filter(|(n, _)| *n == id.as_uuid()).map(|(_, a)| a.clone()).collect())
    }

    async fn requeue(&self, id: NotificationId, now: DateTime<Utc>) -> Result<Option<Notification>, RepoError> {
        let mut tables = self.tables();
        let n = tables.notifications.get_mut(&id.as_uuid()).ok_or(RepoError::NotFound)?;
        if !n.status.is_retryable_by_hand() {
            return Ok(None);
        }
        n.status = NotificationStatus::Pending;
        n.attempts = 0;
        n.timed_out = false;
        n.next_attempt_at = now;
        n.updated_at = now;
        Ok(Some(n.clone()))
    }

    async fn count_by_status(&self) -> Result<Vec<(NotificationStatus, u64)>, RepoError> {
        let tables = self.tables();
        Ok(NotificationStatus::ALL
            .into_iter()
            .map(|status| (status, tables.notifications.values().filter(|n| n.status == status).count() as u64))
            .filter(|(_, count)| *count > 0)
            .collect())
    }

    async fn apply_delivery_report(
        &self,
        report: &DeliveryReport,
        now: DateTime<Utc>,
    ) -> Result<ReportEffect, RepoError> {
        let mut tables = self.tables();
        let Some(n) = tables
            .notifications
            .values_mut()
            .find(|n| n.provider_message_id.as_deref() == Some(report.provider_message_id.as_str()))
        else {
            return Ok(ReportEffect::UnknownMessage);
        };
        let already_final = n.delivery_status.as_deref().is_some_and(is_final_delivery_status);
        if already_final || n.delivery_status.as_deref() == Some(report.status.as_str()) {
            return Ok(ReportEffect::Ignored);
        }
        n.delivery_status = Some(report.status.clone());
        n.delivery_failure_reason = report.failure_reason.clone();
        n.updated_at = now;
        if is_final_delivery_status(&report.status) {
            n.status = if report.status == "Success" {
                NotificationStatus::Delivered
            } else {
                NotificationStatus::Undelivered
            };
        }
        Ok(ReportEffect::Applied)
    }
}

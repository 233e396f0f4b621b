//! In-memory implementations of the repository ports, with the same constraints as the
//! database (unique customer code ignoring case, orders need their customer). For examples,
//! tests and embedding; data lives only as long as the store.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::RepoError;
use crate::ports::{CustomerRepository, HealthCheck, OrderFilter, OrderRepository, customer_key, order_key};
use crate::{Customer, CustomerId, Order, OrderId, Page, PageRequest};

#[derive(Debug, Default)]
struct Tables {
    customers: BTreeMap<Uuid, Customer>,
    orders: BTreeMap<Uuid, Order>,
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
}

#[async_trait]
impl OrderRepository for InMemoryStore {
    async fn insert(&self, order: &Order) -> Result<(), RepoError> {
        let mut tables = self.tables();
        if !tables.customers.contains_key(&order.customer_id().as_uuid()) {
            return Err(RepoError::ForeignKey);
        }
        if tables.orders.contains_key(&order.id().as_uuid()) {
            return Err(RepoError::Duplicate);
        }
        tables.orders.insert(order.id().as_uuid(), order.clone());
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
        self.tables().orders.remove(&id.as_uuid()).map(|_| ()).ok_or(RepoError::NotFound)
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

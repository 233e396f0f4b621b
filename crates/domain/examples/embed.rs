//! Another service embedding orderdesk's domain: it validates a customer and an order with
//! the domain's value objects and runs `CustomerService` and `OrderService` over repositories
//! of its own (here, a few lines over `Mutex<Vec<_>>`), with the SMS outbox switched on.
//!
//! Run it with `cargo run -p orderdesk-domain --example embed`.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use orderdesk_domain::idempotency::IdempotencyRecord;
use orderdesk_domain::notification::{MessageTemplate, SmsCatalog};
use orderdesk_domain::ports::{
    CustomerFilter, CustomerRepository, NoSignal, OrderFilter, OrderRepository, SystemClock,
};
use orderdesk_domain::service::{CustomerDraft, CustomerService, OrderDraft, OrderService, SmsOutbox, StatusRequest};
use orderdesk_domain::{
    Actor, Currency, Customer, CustomerId, NewEvent, Notification, NumberPrefix, Order, OrderError, OrderId,
    OrderNumber, OrderStatus, Page, PageRequest, PhoneNumber, PhoneRegion, RepoError, StatusChange,
};

/// The embedding service's own storage: customers, orders and the SMS it must send.
#[derive(Default)]
struct Store {
    customers: Mutex<Vec<Customer>>,
    orders: Mutex<Vec<Order>>,
    outbox: Mutex<Vec<Notification>>,
    keys: Mutex<Vec<IdempotencyRecord>>,
    history: Mutex<Vec<(OrderId, StatusChange)>>,
    events: Mutex<Vec<NewEvent>>,
}

impl Store {
    /// Keeps a request's idempotency record; a key stored already means a retry got there first.
    fn keep(&self, record: Option<IdempotencyRecord>) -> Result<(), RepoError> {
        let Some(record) = record else { return Ok(()) };
        let mut keys = locked(&self.keys);
        if keys.iter().any(|k| k.request.subject == record.request.subject && k.request.key == record.request.key) {
            return Err(RepoError::KeyTaken);
        }
        keys.push(record);
        Ok(())
    }

    /// Keeps the events of a change (a real store writes them in the change's transaction).
    fn publish(&self, events: &[NewEvent]) {
        locked(&self.events).extend_from_slice(events);
    }
}

/// A conditional write's check: the stored version must be the expected one.
fn check_version(stored: u32, expected: Option<u32>) -> Result<(), RepoError> {
    if expected.is_some_and(|v| v != stored) { Err(RepoError::VersionMismatch) } else { Ok(()) }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl CustomerRepository for Store {
    async fn insert(
        &self,
        customer: &Customer,
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut customers = locked(&self.customers);
        if customers.iter().any(|c| c.code().key() == customer.code().key()) {
            return Err(RepoError::Duplicate);
        }
        self.keep(record)?;
        customers.push(customer.clone());
        self.publish(events);
        Ok(())
    }
    async fn update(&self, customer: &Customer, expected: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        let mut customers = locked(&self.customers);
        let stored = customers.iter_mut().find(|c| c.id() == customer.id()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected)?;
        *stored = customer.clone();
        self.publish(events);
        Ok(())
    }
    async fn delete(&self, id: CustomerId, expected: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        let mut customers = locked(&self.customers);
        let stored = customers.iter().find(|c| c.id() == id).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected)?;
        customers.retain(|c| c.id() != id);
        self.publish(events);
        Ok(())
    }
    async fn store_import(
        &self,
        new: &[Customer],
        changed: &[(Customer, u32)],
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut customers = locked(&self.customers);
        for (customer, version) in changed {
            let stored = customers.iter().find(|c| c.id() == customer.id()).ok_or(RepoError::NotFound)?;
            check_version(stored.audit().version, Some(*version))?;
        }
        if new.iter().any(|n| customers.iter().any(|c| c.code().key() == n.code().key())) {
            return Err(RepoError::Duplicate);
        }
        for (customer, _) in changed {
            if let Some(stored) = customers.iter_mut().find(|c| c.id() == customer.id()) {
                *stored = customer.clone();
            }
        }
        customers.extend_from_slice(new);
        self.publish(events);
        Ok(())
    }
    async fn find(&self, id: CustomerId) -> Result<Option<Customer>, RepoError> {
        Ok(locked(&self.customers).iter().find(|c| c.id() == id).cloned())
    }
    async fn find_many(&self, ids: &[CustomerId]) -> Result<Vec<Customer>, RepoError> {
        Ok(locked(&self.customers).iter().filter(|c| ids.contains(&c.id())).cloned().collect())
    }
    async fn list(&self, page: PageRequest) -> Result<Page<Customer>, RepoError> {
        let rows: Vec<Customer> = locked(&self.customers).iter().rev().cloned().collect();
        Ok(Page::from_overfetch(rows, page.limit, |c| c.id().as_uuid()))
    }
    async fn list_matching(&self, filter: &CustomerFilter, page: PageRequest) -> Result<Page<Customer>, RepoError> {
        let rows: Vec<Customer> = locked(&self.customers).iter().rev().filter(|c| filter.matches(c)).cloned().collect();
        Ok(Page::from_overfetch(rows, page.limit, |c| c.id().as_uuid()))
    }
    async fn search(&self, text: &str, limit: u64) -> Result<Vec<Customer>, RepoError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(locked(&self.customers).iter().filter(|c| c.name().as_str().contains(text)).take(limit).cloned().collect())
    }
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Vec<Customer>, RepoError> {
        Ok(locked(&self.customers).iter().filter(|c| c.phone() == phone).cloned().collect())
    }
    async fn find_by_code_keys(&self, keys: &[String]) -> Result<Vec<Customer>, RepoError> {
        Ok(locked(&self.customers).iter().filter(|c| keys.contains(&c.code().key())).cloned().collect())
    }
}

#[async_trait]
impl OrderRepository for Store {
    async fn next_number(&self) -> Result<OrderNumber, RepoError> {
        let drawn = i64::try_from(locked(&self.orders).len()).unwrap_or(i64::MAX);
        OrderNumber::new(drawn + 1).map_err(|e| RepoError::Unexpected(e.into()))
    }
    async fn insert(
        &self,
        order: &Order,
        notifications: &[Notification],
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        if !locked(&self.customers).iter().any(|c| c.id() == order.customer_id()) {
            return Err(RepoError::ForeignKey);
        }
        self.keep(record)?;
        locked(&self.orders).push(order.clone());
        locked(&self.outbox).extend_from_slice(notifications);
        locked(&self.history).push((order.id(), order.creation()));
        self.publish(events);
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
        let mut orders = locked(&self.orders);
        let stored = orders.iter_mut().find(|o| o.id() == order.id()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, Some(change.version.wrapping_sub(1)))?;
        self.keep(record)?;
        *stored = order.clone();
        locked(&self.outbox).extend_from_slice(notifications);
        locked(&self.history).push((order.id(), change.clone()));
        self.publish(events);
        Ok(())
    }
    async fn history(&self, id: OrderId) -> Result<Vec<StatusChange>, RepoError> {
        Ok(locked(&self.history).iter().filter(|(o, _)| *o == id).map(|(_, c)| c.clone()).collect())
    }
    async fn update(&self, order: &Order, expected: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        let mut orders = locked(&self.orders);
        let stored = orders.iter_mut().find(|o| o.id() == order.id()).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected)?;
        *stored = order.clone();
        self.publish(events);
        Ok(())
    }
    async fn delete(&self, id: OrderId, expected: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        let mut orders = locked(&self.orders);
        let stored = orders.iter().find(|o| o.id() == id).ok_or(RepoError::NotFound)?;
        check_version(stored.audit().version, expected)?;
        if stored.status() != OrderStatus::Received {
            return Err(RepoError::ForeignKey);
        }
        orders.retain(|o| o.id() != id);
        self.publish(events);
        Ok(())
    }
    async fn find(&self, id: OrderId) -> Result<Option<Order>, RepoError> {
        Ok(locked(&self.orders).iter().find(|o| o.id() == id).cloned())
    }
    async fn list(&self, filter: OrderFilter, page: PageRequest) -> Result<Page<Order>, RepoError> {
        let rows: Vec<Order> = locked(&self.orders)
            .iter()
            .rev()
            .filter(|o| filter.customer_id.is_none_or(|c| o.customer_id() == c))
            .filter(|o| filter.statuses.is_empty() || filter.statuses.contains(&o.status()))
            .filter(|o| filter.number.is_none_or(|n| o.number() == n))
            .filter(|o| filter.updated_since.is_none_or(|since| o.updated_at() >= since))
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, page.limit, |o| o.id().as_uuid()))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(Store::default());
    let clock = Arc::new(SystemClock);
    let kenya = PhoneRegion::parse("KE")?;
    let customers = CustomerService::new(store.clone(), clock.clone(), kenya);
    let template = MessageTemplate::new(
        MessageTemplate::DEFAULT,
        "Africa/Nairobi",
        MessageTemplate::DEFAULT_MAX_SEGMENTS,
        MessageTemplate::DEFAULT_TRANSLITERATE,
    )?;
    let orders = OrderService::new(store.clone(), store.clone(), clock, Currency::parse("KES")?)
        .with_sms(SmsOutbox {
            catalog: Arc::new(SmsCatalog::created_only(template)),
            signal: Arc::new(NoSignal),
            max_order_age: chrono::Duration::hours(24),
        })
        .with_number_prefix(NumberPrefix::parse("SHOP")?);
    let clerk = Actor::new("shop|clerk-1");

    // A local number is stored in E.164.
    let draft = CustomerDraft {
        name: "Amina Wanjiru".into(),
        code: "AMINA-01".into(),
        phone: "0712 345 678".into(),
        ..CustomerDraft::default()
    };
    let amina = customers.create(draft, &clerk, None).await?;
    println!("customer {} {} {}", amina.code().as_str(), amina.name().as_str(), amina.phone().as_str());

    // Amounts are exact decimals in the currency's minor units.
    let draft = |amount: &str| OrderDraft {
        customer_id: amina.id(),
        item: "Maize flour 2kg".into(),
        amount: amount.into(),
        currency: None,
        ordered_at: None,
        notify: true,
    };
    let order = orders.create(draft("250.50"), &clerk, None).await?;
    println!("order {} for {}", order.reference().as_str(), order.amount());

    // It moves along the lifecycle; the domain's transition table refuses going back.
    let ready = StatusRequest { status: "ready".into(), ..StatusRequest::default() };
    orders.change_status(order.id(), ready, &clerk, None, None).await?;
    let back = StatusRequest { status: "confirmed".into(), ..StatusRequest::default() };
    match orders.change_status(order.id(), back, &clerk, None, None).await {
        Err(e @ OrderError::InvalidTransition { .. }) => println!("refused: {e}"),
        other => return Err(format!("expected an invalid transition, got {other:?}").into()),
    }
    let history = orders.history(order.id()).await?;
    let statuses: Vec<&str> = history.iter().map(|change| change.status.as_str()).collect();
    println!("history: {}", statuses.join(" -> "));

    // Bad input names every field that is wrong.
    match orders.create(draft("250.505"), &clerk, None).await {
        Err(OrderError::Validation(errors)) => {
            for field in errors.fields() {
                println!("refused: {} {}", field.field, field.reason);
            }
        }
        other => return Err(format!("expected a validation error, got {other:?}").into()),
    }

    // The order's SMS waits in the embedding service's outbox, written with the order.
    let outbox = locked(&store.outbox);
    assert_eq!(outbox.len(), 1, "one SMS per stored order");
    println!("sms to {}: {}", outbox[0].recipient().as_str(), outbox[0].message());

    // Every change wrote its event with it, for the embedding service's own feed.
    let events: Vec<&str> = locked(&store.events).iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(events, ["customer.created", "order.created", "order.status_changed"]);
    println!("events: {}", events.join(", "));
    Ok(())
}

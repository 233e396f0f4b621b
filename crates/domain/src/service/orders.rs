//! Order use cases: create, get, list (optionally per customer), change, delete. The
//! lifecycle (status changes, history) is in [`super::lifecycle`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{Collector, InvalidValue, OrderError, RepoError, ValidationErrors};
use crate::event::{EventType, NewEvent};
use crate::idempotency::Recorder;
use crate::notification::{SkipReason, SmsCatalog, SmsEvent};
use crate::order::order_time;
use crate::ports::{Clock, CustomerRepository, OrderFilter, OrderRepository, OutboxSignal};
use crate::{
    Actor, CancelReason, Currency, Customer, CustomerId, ItemName, Money, Notification, NumberPrefix, Order, OrderId,
    OrderNumber, OrderStatus, Page, PageRequest,
};

/// Raw input for a new order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDraft {
    /// The customer placing the order; must exist.
    pub customer_id: CustomerId,
    /// What was ordered; see [`ItemName`].
    pub item: String,
    /// A decimal string such as `"250.50"`.
    pub amount: String,
    /// ISO 4217 code; the service's default currency when `None`.
    pub currency: Option<String>,
    /// When the customer ordered; now when `None`.
    pub ordered_at: Option<DateTime<Utc>>,
    /// Whether to text the customer (`false` when loading historical orders). Even when true,
    /// an order older than [`SmsOutbox::max_order_age`] is stored without an SMS.
    pub notify: bool,
}

/// Raw input for a partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderChanges {
    /// A new item name.
    pub item: Option<String>,
    /// A new amount as a decimal string, in the new or the current currency.
    pub amount: Option<String>,
    /// A new ISO 4217 code; the amount is re-checked against it.
    pub currency: Option<String>,
    /// A new order time.
    pub ordered_at: Option<DateTime<Utc>>,
}

/// Filters for listing orders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderListQuery {
    /// Only this customer's orders; the customer must exist.
    pub customer_id: Option<CustomerId>,
    /// Only orders in these statuses: one or more names, comma-separated (`"ready,completed"`).
    pub status: Option<String>,
    /// Only the order with this number.
    pub number: Option<i64>,
    /// Inclusive lower bound on `ordered_at`.
    pub ordered_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `ordered_at`; must be after `ordered_from`.
    pub ordered_to: Option<DateTime<Utc>>,
    /// Only orders changed (or created) at or after this time (incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
}

/// How orders are announced by SMS: the texts per event and language, whom to wake once one
/// is stored, and how old an order may be and still be texted.
#[derive(Clone)]
pub struct SmsOutbox {
    /// The texts of each event, in each language.
    pub catalog: Arc<SmsCatalog>,
    /// Woken after an order and its notification are stored.
    pub signal: Arc<dyn OutboxSignal>,
    /// An order whose `ordered_at` is further than this before now is stored without an SMS
    /// (`sms.max_order_age_hours`): loading the old system's orders must not text every
    /// past customer.
    pub max_order_age: chrono::Duration,
}

impl SmsOutbox {
    /// Whether an order placed at `ordered_at` is texted at `now`.
    fn texts(&self, draft_notify: bool, ordered_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        draft_notify && now.signed_duration_since(ordered_at) <= self.max_order_age
    }

    /// The notification announcing `event` about `order` to `customer`, in the customer's
    /// language (or the default one), due now; `None` when the event is not texted.
    /// `{cancel_reason}` is `cancel_reason`, else the order's own. It is
    /// written [`NotificationStatus::Skipped`](crate::NotificationStatus::Skipped) when the
    /// customer opted out, or when their number cannot receive SMS
    /// ([`PhoneNumber::receives_sms`](crate::PhoneNumber::receives_sms)).
    pub fn compose(
        &self,
        event: SmsEvent,
        order: &Order,
        customer: &Customer,
        cancel_reason: Option<CancelReason>,
        now: DateTime<Utc>,
    ) -> Option<Notification> {
        if !self.catalog.is_enabled(event) {
            return None;
        }
        let cancel_reason = cancel_reason.or_else(|| order.lifecycle().cancellation.as_ref().map(|c| c.reason));
        let (language, sms) = self.catalog.render(event, customer.language(), order, cancel_reason)?;
        let notification =
            Notification::new(order.id(), customer.phone().clone(), sms.text, now).for_event(event, language);
        Some(match skip_reason(customer) {
            Some(reason) => notification.skipped(reason),
            None => notification,
        })
    }
}

/// Why `customer` is not texted, if they are not.
fn skip_reason(customer: &Customer) -> Option<SkipReason> {
    if customer.sms_opt_out() {
        Some(SkipReason::OptedOut)
    } else if !customer.phone().receives_sms() {
        Some(SkipReason::NotMobile)
    } else {
        None
    }
}

/// Whether any of `notifications` waits to be sent (a skipped one does not).
pub(super) fn any_to_send(notifications: &[Notification]) -> bool {
    notifications.iter().any(|n| n.status() == crate::NotificationStatus::Pending)
}

/// The order use cases.
#[derive(Clone)]
pub struct OrderService {
    pub(super) orders: Arc<dyn OrderRepository>,
    pub(super) customers: Arc<dyn CustomerRepository>,
    pub(super) clock: Arc<dyn Clock>,
    default_currency: Currency,
    pub(super) sms: Option<SmsOutbox>,
    prefix: NumberPrefix,
}

impl OrderService {
    /// `default_currency` is used for orders that name none; no SMS are written until
    /// [`OrderService::with_sms`].
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        customers: Arc<dyn CustomerRepository>,
        clock: Arc<dyn Clock>,
        default_currency: Currency,
    ) -> Self {
        Self { orders, customers, clock, default_currency, sms: None, prefix: NumberPrefix::default() }
    }

    /// New orders' references start with `prefix` (`orders.number_prefix`; `"ORD-"` until set).
    pub fn with_number_prefix(mut self, prefix: NumberPrefix) -> Self {
        self.prefix = prefix;
        self
    }

    /// Every new order also writes an SMS to its customer into the outbox, atomically.
    pub fn with_sms(mut self, outbox: SmsOutbox) -> Self {
        self.sms = Some(outbox);
        self
    }

    /// The currency used when an order names none.
    pub fn default_currency(&self) -> Currency {
        self.default_currency
    }

    /// Validates and stores a new order. With a `recorder` (a request that carries an
    /// idempotency key), the response it renders is stored in the same transaction as the
    /// order and its SMS: a retry never creates a second order nor texts the customer twice.
    ///
    /// # Errors
    /// [`OrderError::Validation`] listing every bad field (an unknown customer is one),
    /// [`OrderError::KeyTaken`] when a request with the same key was stored first, or storage.
    pub async fn create(
        &self,
        draft: OrderDraft,
        actor: &Actor,
        recorder: Option<Recorder<Order>>,
    ) -> Result<Order, OrderError> {
        let mut errors = Collector::default();
        let item = errors.check("item", ItemName::parse(&draft.item));
        let currency = match &draft.currency {
            Some(code) => errors.check("currency", Currency::parse(code)),
            None => Some(self.default_currency),
        };
        let amount = currency.and_then(|c| errors.check("amount", Money::parse(&draft.amount, c)));
        let ordered_at = draft.ordered_at.map(|t| errors.check("ordered_at", order_time(t)));
        let (item, amount) = errors.finish(item.zip(amount))?;

        let number = self.orders.next_number().await.map_err(OrderError::Storage)?;
        let now = self.clock.now();
        let ordered_at = ordered_at.flatten().unwrap_or(now);
        let order = Order::new(draft.customer_id, self.prefix.reference(number), item, amount, ordered_at, now, actor);
        let unknown_customer =
            || OrderError::from(ValidationErrors::single("customer_id", InvalidValue::UnknownReference));
        let notification = match &self.sms {
            Some(outbox)
                if outbox.texts(draft.notify, ordered_at, now) && outbox.catalog.is_enabled(SmsEvent::OrderCreated) =>
            {
                let customer = self
                    .customers
                    .find(draft.customer_id)
                    .await
                    .map_err(OrderError::Storage)?
                    .ok_or_else(unknown_customer)?;
                outbox.compose(SmsEvent::OrderCreated, &order, &customer, None, now)
            }
            _ => None,
        };
        let record = recorder.map(|r| r.record(&order, now));
        let events = change_events(EventType::OrderCreated, &order, notification.as_slice(), now);
        self.orders.insert(&order, notification.as_slice(), record, &events).await.map_err(|e| match e {
            RepoError::ForeignKey => unknown_customer(),
            RepoError::KeyTaken => OrderError::KeyTaken,
            other => OrderError::Storage(other),
        })?;
        if let Some(outbox) = self.sms.as_ref().filter(|_| any_to_send(notification.as_slice())) {
            outbox.signal.notify();
        }
        Ok(order)
    }

    /// # Errors
    /// [`OrderError::NotFound`], or storage.
    pub async fn get(&self, id: OrderId) -> Result<Order, OrderError> {
        self.orders.find(id).await.map_err(OrderError::Storage)?.ok_or(OrderError::NotFound(id))
    }

    /// Lists orders newest first. With a customer filter, that customer must exist.
    ///
    /// # Errors
    /// [`OrderError::CustomerNotFound`], [`OrderError::Validation`] for an empty time range, or storage.
    pub async fn list(&self, query: OrderListQuery, page: PageRequest) -> Result<Page<Order>, OrderError> {
        let mut errors = Collector::default();
        let from = query.ordered_from.map(|t| errors.check("ordered_from", order_time(t)));
        let to = query.ordered_to.map(|t| errors.check("ordered_to", order_time(t)));
        let since = query.updated_since.map(|t| errors.check("updated_since", order_time(t)));
        let statuses = query.status.as_deref().map(|s| errors.check("status", OrderStatus::parse_list(s)));
        let number = query.number.map(|n| errors.check("number", OrderNumber::new(n)));
        errors.finish(Some(()))?;
        let (from, to) = (from.flatten(), to.flatten());
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(
                ValidationErrors::single("ordered_to", InvalidValue::BeforeOther { other: "ordered_from" }).into()
            );
        }
        if let Some(customer_id) = query.customer_id
            && self.customers.find(customer_id).await.map_err(OrderError::Storage)?.is_none()
        {
            return Err(OrderError::CustomerNotFound(customer_id));
        }
        let filter = OrderFilter {
            customer_id: query.customer_id,
            statuses: statuses.flatten().unwrap_or_default(),
            number: number.flatten(),
            ordered_from: from,
            ordered_to: to,
            updated_since: since.flatten(),
        };
        self.orders.list(filter, page).await.map_err(OrderError::Storage)
    }

    /// Applies a partial update; with `expected_version` (`If-Match`), only to that version.
    /// Changing only the currency re-checks the stored amount in it.
    ///
    /// # Errors
    /// [`OrderError::NotFound`], [`OrderError::PreconditionFailed`], [`OrderError::Validation`], or storage.
    pub async fn update(
        &self,
        id: OrderId,
        changes: OrderChanges,
        actor: &Actor,
        expected_version: Option<u32>,
    ) -> Result<Order, OrderError> {
        let mut order = self.get(id).await?;
        let mut errors = Collector::default();
        let item = changes.item.map(|i| errors.check("item", ItemName::parse(&i)));
        let currency = match &changes.currency {
            Some(code) => errors.check("currency", Currency::parse(code)),
            None => Some(order.amount().currency()),
        };
        let amount = match (&changes.amount, &changes.currency) {
            (None, None) => None,
            (amount, _) => {
                let text = amount.clone().unwrap_or_else(|| order.amount().amount_string());
                Some(currency.and_then(|c| errors.check("amount", Money::parse(&text, c))))
            }
        };
        let ordered_at = changes.ordered_at.map(|t| errors.check("ordered_at", order_time(t)));
        errors.finish(Some(()))?;
        // After validation, as for customers: an invalid body is 422 whatever `If-Match` says
        // (RFC 9110 §13.2.1), and only a request that would succeed is 412.
        if expected_version.is_some_and(|v| v != order.audit().version) {
            return Err(OrderError::PreconditionFailed(id));
        }

        let ordered_at = ordered_at.flatten();
        let now = self.clock.now();
        let read_at = order.audit().version;
        order.change(item.flatten(), amount.flatten(), ordered_at, now, actor);
        if order.audit().version == read_at {
            // Nothing differs: nothing is written, no version moves, no event.
            return Ok(order);
        }
        let events = [NewEvent::order(EventType::OrderUpdated, &order, now)];
        self.orders.update(&order, expected_version, &events).await.map_err(|e| order_write_error(e, id))?;
        Ok(order)
    }

    /// Deletes an order taken by mistake: only while it is `received` and no SMS was attempted
    /// (an SMS not yet attempted goes with it); with `expected_version` (`If-Match`), only that
    /// version. Any other order is cancelled instead, so its history and SMS costs stay. The
    /// `order.deleted` event carries the order as deleted: it is read first and deleted only at
    /// the version read (read again up to three times when another write got there first,
    /// unless `expected_version` was given).
    ///
    /// # Errors
    /// [`OrderError::NotFound`], [`OrderError::PreconditionFailed`], [`OrderError::HasHistory`],
    /// or storage.
    pub async fn delete(&self, id: OrderId, expected_version: Option<u32>) -> Result<(), OrderError> {
        const TRIES: usize = 3;
        for attempt in 1..=TRIES {
            let order = self.get(id).await?;
            let read_at = order.audit().version;
            if expected_version.is_some_and(|v| v != read_at) {
                return Err(OrderError::PreconditionFailed(id));
            }
            let events = [NewEvent::order(EventType::OrderDeleted, &order, self.clock.now())];
            match self.orders.delete(id, Some(read_at), &events).await {
                Ok(()) => return Ok(()),
                Err(RepoError::VersionMismatch) if expected_version.is_none() && attempt < TRIES => {}
                Err(RepoError::ForeignKey) => return Err(OrderError::HasHistory(id)),
                Err(other) => return Err(order_write_error(other, id)),
            }
        }
        Err(OrderError::PreconditionFailed(id))
    }
}

/// The events of an order change (`kind`) that wrote `notifications`: the order's, then
/// `notification.skipped` for each SMS written skipped.
pub(super) fn change_events(
    kind: EventType,
    order: &Order,
    notifications: &[Notification],
    now: DateTime<Utc>,
) -> Vec<NewEvent> {
    let mut events = vec![NewEvent::order(kind, order, now)];
    events.extend(notifications.iter().filter_map(|n| NewEvent::notification_written(n, now)));
    events
}

pub(super) fn order_write_error(error: RepoError, id: OrderId) -> OrderError {
    match error {
        RepoError::NotFound => OrderError::NotFound(id),
        RepoError::VersionMismatch => OrderError::PreconditionFailed(id),
        RepoError::KeyTaken => OrderError::KeyTaken,
        other => OrderError::Storage(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockCustomerRepository, MockOrderRepository, SystemClock};
    use crate::{Customer, CustomerCode, CustomerName, PhoneNumber, PhoneRegion};

    fn actor() -> Actor {
        Actor::new("auth0|tester")
    }

    fn customer() -> Customer {
        let phone = PhoneNumber::parse("+254712345678", PhoneRegion::default()).unwrap();
        let (name, code) = (CustomerName::parse("Alice").unwrap(), CustomerCode::parse("A").unwrap());
        Customer::new(name, code, phone, Utc::now(), &actor())
    }

    fn draft(customer_id: CustomerId) -> OrderDraft {
        OrderDraft {
            customer_id,
            item: "Flour".into(),
            amount: "250.50".into(),
            currency: None,
            ordered_at: None,
            notify: true,
        }
    }

    fn service(mut orders: MockOrderRepository, customers: MockCustomerRepository) -> OrderService {
        orders.expect_next_number().returning(|| Ok(OrderNumber::new(1042).unwrap()));
        OrderService::new(Arc::new(orders), Arc::new(customers), Arc::new(SystemClock), Currency::parse("KES").unwrap())
    }

    fn stored(order: &Order) -> MockOrderRepository {
        let order = order.clone();
        let mut orders = MockOrderRepository::new();
        orders.expect_find().returning(move |_| Ok(Some(order.clone())));
        orders.expect_update().returning(|_, _, _| Ok(()));
        orders
    }

    #[tokio::test]
    async fn create_uses_default_currency_and_now() {
        let mut orders = MockOrderRepository::new();
        orders
            .expect_insert()
            .withf(|_, sms, record, _| sms.is_empty() && record.is_none())
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let order = service(orders, MockCustomerRepository::new())
            .create(draft(CustomerId::generate()), &actor(), None)
            .await
            .unwrap();
        assert_eq!(order.amount().currency().code(), "KES");
        assert_eq!(order.amount().minor_units(), 25050);
        assert_eq!(order.ordered_at(), order.created_at());
        assert_eq!((order.number().get(), order.reference().as_str()), (1042, "ORD-1042"));
        assert_eq!(order.status(), OrderStatus::Received);
    }

    #[tokio::test]
    async fn create_with_sms_writes_the_order_and_its_text_together() {
        let alice = customer();
        let mut customers = MockCustomerRepository::new();
        let found = alice.clone();
        customers.expect_find().returning(move |_| Ok(Some(found.clone())));
        let mut orders = MockOrderRepository::new();
        orders
            .expect_insert()
            .withf(|order, sms, _, _| {
                sms.len() == 1 && sms[0].order_id() == order.id() && sms[0].recipient().as_str() == "+254712345678"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        service(orders, customers).with_sms(outbox()).create(draft(alice.id()), &actor(), None).await.unwrap();
    }

    fn outbox() -> SmsOutbox {
        let template = crate::notification::MessageTemplate::new("{item} {amount}", "UTC", 1, true).unwrap();
        let catalog = Arc::new(SmsCatalog::created_only(template));
        SmsOutbox { catalog, signal: Arc::new(crate::ports::NoSignal), max_order_age: chrono::Duration::hours(24) }
    }

    #[tokio::test]
    async fn historical_orders_and_notify_false_are_stored_without_an_sms() {
        let alice = customer();
        let now = Utc::now();
        let cases = [
            (true, Some(now - chrono::Duration::hours(25)), 0),
            (true, Some(now - chrono::Duration::hours(23)), 1),
            (true, None, 1),
            (false, None, 0),
        ];
        for (notify, ordered_at, texts) in cases {
            let mut customers = MockCustomerRepository::new();
            let found = alice.clone();
            customers.expect_find().returning(move |_| Ok(Some(found.clone())));
            let mut orders = MockOrderRepository::new();
            orders
                .expect_insert()
                .withf(move |_, sms, _, _| sms.len() == texts)
                .times(1)
                .returning(|_, _, _, _| Ok(()));
            let draft = OrderDraft { notify, ordered_at, ..draft(alice.id()) };
            service(orders, customers).with_sms(outbox()).create(draft, &actor(), None).await.unwrap();
        }
    }

    #[tokio::test]
    async fn order_for_unknown_customer_is_a_customer_id_validation_error() {
        let mut orders = MockOrderRepository::new();
        orders.expect_insert().returning(|_, _, _, _| Err(RepoError::ForeignKey));
        let result =
            service(orders, MockCustomerRepository::new()).create(draft(CustomerId::generate()), &actor(), None).await;
        let Err(OrderError::Validation(errors)) = result else { panic!("expected validation error") };
        assert_eq!(errors.fields()[0].field, "customer_id");
    }

    #[tokio::test]
    async fn amount_is_checked_against_the_given_currency() {
        let mut orders = MockOrderRepository::new();
        orders.expect_insert().never();
        let bad = OrderDraft { currency: Some("JPY".into()), ..draft(CustomerId::generate()) };
        let Err(OrderError::Validation(errors)) =
            service(orders, MockCustomerRepository::new()).create(bad, &actor(), None).await
        else {
            panic!("expected validation error")
        };
        assert_eq!(errors.fields()[0].reason, InvalidValue::TooManyDecimals { max: 0 });
    }

    #[tokio::test]
    async fn changing_only_the_currency_rechecks_the_amount() {
        let money = Money::parse("250.50", Currency::parse("KES").unwrap()).unwrap();
        let now = Utc::now();
        let reference = NumberPrefix::default().reference(OrderNumber::new(1).unwrap());
        let order =
            Order::new(CustomerId::generate(), reference, ItemName::parse("Flour").unwrap(), money, now, now, &actor());
        let service = service(stored(&order), MockCustomerRepository::new());
        let to_yen = OrderChanges { currency: Some("JPY".into()), ..Default::default() };
        assert!(matches!(service.update(order.id(), to_yen, &actor(), None).await, Err(OrderError::Validation(_))));
        let lower_case = OrderChanges { currency: Some("usd".into()), ..Default::default() };
        assert!(matches!(service.update(order.id(), lower_case, &actor(), None).await, Err(OrderError::Validation(_))));
        let to_usd = OrderChanges { currency: Some("USD".into()), ..Default::default() };
        let changed = service.update(order.id(), to_usd, &actor(), None).await.unwrap();
        assert_eq!(changed.amount().to_string(), "250.50 USD");
        assert!(changed.updated_at() >= order.updated_at());
    }

    /// Input first, then the version, as for customers: a stale `If-Match` with an invalid
    /// change is a validation error, and nothing is written.
    #[tokio::test]
    async fn an_invalid_change_is_refused_before_a_stale_version_is() {
        let money = Money::parse("250.50", Currency::parse("KES").unwrap()).unwrap();
        let now = Utc::now();
        let reference = NumberPrefix::default().reference(OrderNumber::new(1).unwrap());
        let order =
            Order::new(CustomerId::generate(), reference, ItemName::parse("Flour").unwrap(), money, now, now, &actor());
        let mut orders = MockOrderRepository::new();
        let found = order.clone();
        orders.expect_find().returning(move |_| Ok(Some(found.clone())));
        orders.expect_update().never();
        let service = service(orders, MockCustomerRepository::new());
        let invalid = OrderChanges { amount: Some("-1".into()), ..Default::default() };
        let result = service.update(order.id(), invalid, &actor(), Some(7)).await;
        assert!(matches!(result, Err(OrderError::Validation(_))), "{result:?}");
        let valid = OrderChanges { amount: Some("1".into()), ..Default::default() };
        let result = service.update(order.id(), valid, &actor(), Some(7)).await;
        assert!(matches!(result, Err(OrderError::PreconditionFailed(_))), "{result:?}");
    }

    #[tokio::test]
    async fn times_outside_the_years_1_to_9999_are_refused() {
        let far = chrono::NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
        let mut orders = MockOrderRepository::new();
        orders.expect_insert().never();
        let service = service(orders, MockCustomerRepository::new());
        let draft = OrderDraft { ordered_at: Some(far), ..draft(CustomerId::generate()) };
        let Err(OrderError::Validation(errors)) = service.create(draft, &actor(), None).await else {
            panic!("refused")
        };
        assert_eq!(errors.fields()[0].field, "ordered_at");
        assert_eq!(errors.fields()[0].reason, InvalidValue::TimeOutOfRange);
        let query = OrderListQuery { ordered_from: Some(far), ..Default::default() };
        assert!(matches!(service.list(query, PageRequest::default()).await, Err(OrderError::Validation(_))));
    }

    #[tokio::test]
    async fn empty_time_range_is_refused() {
        let now = Utc::now();
        let query = OrderListQuery { ordered_from: Some(now), ordered_to: Some(now), ..Default::default() };
        let service = service(MockOrderRepository::new(), MockCustomerRepository::new());
        assert!(matches!(service.list(query, PageRequest::default()).await, Err(OrderError::Validation(_))));
    }

    #[tokio::test]
    async fn listing_orders_of_unknown_customer_is_not_found() {
        let mut customers = MockCustomerRepository::new();
        customers.expect_find().returning(|_| Ok(None));
        let query = OrderListQuery { customer_id: Some(CustomerId::generate()), ..Default::default() };
        let service = service(MockOrderRepository::new(), customers);
        assert!(matches!(service.list(query, PageRequest::default()).await, Err(OrderError::CustomerNotFound(_))));
    }
}

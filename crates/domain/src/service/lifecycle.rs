//! Order lifecycle use cases: moving an order along the transition table, and its history.
//! The table itself is [`crate::OrderStatus::can_move_to`].

use crate::error::{Collector, InvalidValue, OrderError, RepoError, ValidationErrors};
use crate::event::EventType;
use crate::idempotency::Recorder;
use crate::notification::SmsEvent;
use crate::service::orders::{OrderService, any_to_send, change_events, order_write_error};
use crate::{Actor, CancelReason, Cancellation, Notification, Order, OrderId, OrderStatus, StatusChange, StatusNote};

/// Raw input for a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRequest {
    /// The status to move to, e.g. `"ready"`.
    pub status: String,
    /// A note for the history (and, when cancelling, the order's `cancel_note`).
    pub note: Option<String>,
    /// Why the order is cancelled: required with `cancelled`, refused with any other status.
    pub cancel_reason: Option<String>,
    /// Whether to text the customer when the new status's event is enabled (`false` when
    /// loading history). By [`Default`]: `true`, as the API's `notify`.
    pub notify: bool,
}

impl Default for StatusRequest {
    fn default() -> Self {
        Self { status: String::new(), note: None, cancel_reason: None, notify: true }
    }
}

/// How often a status change is decided again when another change got in first (only
/// without `If-Match`; with it, that is a 412).
const ATTEMPTS: usize = 3;

impl OrderService {
    /// Moves an order to another status by the transition table, writing its history entry
    /// and, when the new status's [`SmsEvent`] is enabled and `request.notify`, the SMS to
    /// the customer in the same transaction. Asking for the status it already has changes nothing (whatever
    /// `expected_version` says, so a retry after a lost answer is safe) and stores no
    /// idempotency record. With `expected_version` (`If-Match`), only that version moves;
    /// without, a concurrent change makes it decide again on the new state.
    ///
    /// # Errors
    /// [`OrderError::Validation`] (unknown `status` or `cancel_reason`, `cancel_reason`
    /// missing when cancelling or given otherwise, a bad `note`), [`OrderError::NotFound`],
    /// [`OrderError::InvalidTransition`], [`OrderError::PreconditionFailed`],
    /// [`OrderError::KeyTaken`], or storage.
    pub async fn change_status(
        &self,
        id: OrderId,
        request: StatusRequest,
        actor: &Actor,
        expected_version: Option<u32>,
        recorder: Option<Recorder<Order>>,
    ) -> Result<Order, OrderError> {
        let notify = request.notify;
        let (to, cancellation, note) = parse(request)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut order = self.get(id).await?;
            let version = order.audit().version;
            if order.status() != to && expected_version.is_some_and(|v| v != version) {
                return Err(OrderError::PreconditionFailed(id));
            }
            let now = self.clock.now();
            let change = match order.move_to(to, cancellation.clone(), note.clone(), now, actor) {
                Ok(Some(change)) => change,
                Ok(None) => return Ok(order),
                Err(from) => return Err(OrderError::InvalidTransition { id, from, to }),
            };
            let notification = if notify { self.status_text(&order, now).await? } else { None };
            let record = recorder.as_ref().map(|r| r.record(&order, now));
            let events = change_events(EventType::OrderStatusChanged, &order, notification.as_slice(), now);
            match self.orders.change_status(&order, &change, notification.as_slice(), record, &events).await {
                Ok(()) => {
                    if let Some(outbox) = self.sms.as_ref().filter(|_| any_to_send(notification.as_slice())) {
                        outbox.signal.notify();
                    }
                    return Ok(order);
                }
                Err(RepoError::VersionMismatch) if expected_version.is_none() && attempt < ATTEMPTS => {}
                Err(e) => return Err(order_write_error(e, id)),
            }
        }
    }

    /// The SMS announcing `order`'s (new) status, if its event is texted.
    async fn status_text(
        &self,
        order: &Order,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Notification>, OrderError> {
        let Some((outbox, event)) = self.sms.as_ref().zip(SmsEvent::for_status(order.status())) else {
            return Ok(None);
        };
        if !outbox.catalog.is_enabled(event) {
            return Ok(None);
        }
        let customer = self.customers.find(order.customer_id()).await.map_err(OrderError::Storage)?;
        // The order's customer exists: a customer with orders cannot be deleted.
        let Some(customer) = customer else { return Ok(None) };
        Ok(outbox.compose(event, order, &customer, None, now))
    }

    /// An order's history, oldest first: its creation (`received`), then each status change.
    ///
    /// # Errors
    /// [`OrderError::NotFound`], or storage.
    pub async fn history(&self, id: OrderId) -> Result<Vec<StatusChange>, OrderError> {
        self.get(id).await?;
        self.orders.history(id).await.map_err(OrderError::Storage)
    }
}

/// The status, the cancellation exactly when cancelling, and the note; every bad field at once.
fn parse(request: StatusRequest) -> Result<(OrderStatus, Option<Cancellation>, Option<StatusNote>), ValidationErrors> {
    let mut errors = Collector::default();
    let to = errors.check("status", OrderStatus::parse(&request.status));
    let note = request.note.as_deref().map(|n| errors.check("note", StatusNote::parse(n)));
    let reason = request.cancel_reason.as_deref().map(|r| errors.check("cancel_reason", CancelReason::parse(r)));
    let cancelling = to == Some(OrderStatus::Cancelled);
    match (&reason, cancelling) {
        (None, true) => {
            errors.check::<()>("cancel_reason", Err(InvalidValue::RequiredToCancel));
        }
        (Some(_), false) if to.is_some() => {
            errors.check::<()>("cancel_reason", Err(InvalidValue::OnlyWhenCancelling));
        }
        _ => {}
    }
    let to = errors.finish(to)?;
    let note = note.flatten();
    let cancellation = reason.flatten().map(|reason| Cancellation { reason, note: note.clone() });
    Ok((to, cancellation, note))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::Utc;

    use super::*;
    use crate::ports::{MockCustomerRepository, MockOrderRepository, SystemClock};
    use crate::{Currency, CustomerId, ItemName, Money, NumberPrefix, OrderNumber};

    fn actor() -> Actor {
        Actor::new("auth0|clerk")
    }

    fn order() -> Order {
        let money = Money::parse("10", Currency::parse("KES").unwrap()).unwrap();
        let reference = NumberPrefix::default().reference(OrderNumber::new(1001).unwrap());
        let now = Utc::now();
        Order::new(CustomerId::generate(), reference, ItemName::parse("Tea").unwrap(), money, now, now, &actor())
    }

    fn service(orders: MockOrderRepository) -> OrderService {
        let kes = Currency::parse("KES").unwrap();
        OrderService::new(Arc::new(orders), Arc::new(MockCustomerRepository::new()), Arc::new(SystemClock), kes)
    }

    fn request(status: &str, reason: Option<&str>) -> StatusRequest {
        StatusRequest {
            status: status.into(),
            note: Some(" at the gate ".into()),
            cancel_reason: reason.map(Into::into),
            notify: true,
        }
    }

    #[tokio::test]
    async fn a_move_stores_the_order_and_its_history_entry_over_the_version_read() {
        let stored = order();
        let mut orders = MockOrderRepository::new();
        orders.expect_find().returning(move |_| Ok(Some(stored.clone())));
        orders
            .expect_change_status()
            .withf(|order, change, notifications, record, _| {
                order.status() == OrderStatus::Ready
                    && change.version == 1
                    && change.note.as_ref().map(StatusNote::as_str) == Some("at the gate")
                    && change.by.as_deref() == Some("auth0|clerk")
                    && record.is_none()
                    && notifications.is_empty()
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        let service = service(orders);
        let moved = service.change_status(order().id(), request("ready", None), &actor(), None, None).await;
        assert_eq!(moved.unwrap().status(), OrderStatus::Ready);
    }

    /// Texts `order.ready` in Swahili and `order.cancelled` in English (no Swahili text).
    fn texting(orders: MockOrderRepository, customer: crate::Customer) -> OrderService {
        use crate::Language;
        use crate::notification::{EventTexts, SmsCatalog, TemplateOptions};
        let mut customers = MockCustomerRepository::new();
        customers.expect_find().returning(move |_| Ok(Some(customer.clone())));
        let options =
            TemplateOptions { time_zone: "UTC".into(), max_segments: 1, transliterate: true, shop_name: "Duka".into() };
        let texts = |pairs: &[(Language, &str)]| EventTexts {
            enabled: true,
            templates: pairs.iter().map(|(l, t)| (*l, (*t).to_owned())).collect(),
        };
        let events = std::collections::BTreeMap::from([
            (
                SmsEvent::OrderReady,
                texts(&[(Language::En, "{shop}: {reference} ready"), (Language::Sw, "{shop}: {reference} tayari")]),
            ),
            (SmsEvent::OrderCancelled, texts(&[(Language::En, "{reference} cancelled: {cancel_reason}")])),
        ]);
        let catalog = Arc::new(SmsCatalog::new(&options, Language::En, &events).unwrap());
        let outbox = crate::service::SmsOutbox {
            catalog,
            signal: Arc::new(crate::ports::NoSignal),
            max_order_age: chrono::Duration::hours(24),
        };
        let kes = Currency::parse("KES").unwrap();
        OrderService::new(Arc::new(orders), Arc::new(customers), Arc::new(SystemClock), kes).with_sms(outbox)
    }

    fn customer(language: crate::Language, opted_out: bool) -> crate::Customer {
        let phone = crate::PhoneNumber::parse("0712345678", crate::PhoneRegion::default()).unwrap();
        let name = crate::CustomerName::parse("Amina").unwrap();
        crate::Customer::new(name, crate::CustomerCode::parse("A1").unwrap(), phone, Utc::now(), &actor())
            .with_sms_preferences(crate::SmsPreferences { language, opted_out })
    }

    #[tokio::test]
    async fn a_move_to_a_texted_status_writes_its_sms_in_the_customers_language_with_the_change() {
        use crate::{Language, NotificationStatus};
        let cases = [
            (
                "ready",
                None,
                Language::Sw,
                false,
                true,
                Some(("Duka: ORD-1001 tayari", Language::Sw, NotificationStatus::Pending)),
            ),
            (
                "cancelled",
                Some("out_of_stock"),
                Language::Sw,
                false,
                true,
                Some(("ORD-1001 cancelled: out of stock", Language::En, NotificationStatus::Pending)),
            ),
            (
                "ready",
                None,
                Language::En,
                true,
                true,
                Some(("Duka: ORD-1001 ready", Language::En, NotificationStatus::Skipped)),
            ),
            ("ready", None, Language::Sw, false, false, None),
            ("confirmed", None, Language::Sw, false, true, None),
        ];
        for (status, reason, language, opted_out, notify, expected) in cases {
            let stored = order();
            let mut orders = MockOrderRepository::new();
            orders.expect_find().returning(move |_| Ok(Some(stored.clone())));
            orders
                .expect_change_status()
                .withf(move |order, _, notifications, _, _| {
                    let got: Vec<_> = notifications.iter().map(|n| (n.message(), n.language(), n.status())).collect();
                    let event = SmsEvent::for_status(order.status());
                    got == expected.as_slice() && notifications.iter().all(|n| Some(n.event()) == event)
                })
                .times(1)
                .returning(|_, _, _, _, _| Ok(()));
            let service = texting(orders, customer(language, opted_out));
            let request = StatusRequest { notify, ..request(status, reason) };
            let moved = service.change_status(order().id(), request, &actor(), None, None).await;
            assert!(moved.is_ok(), "{status} {language:?} {opted_out} {notify}");
        }
    }

    #[tokio::test]
    async fn the_same_status_again_changes_nothing_even_with_a_stale_if_match() {
        let stored = order();
        let mut orders = MockOrderRepository::new();
        orders.expect_find().returning(move |_| Ok(Some(stored.clone())));
        orders.expect_change_status().never();
        let service = service(orders);
        let same = service.change_status(order().id(), request("received", None), &actor(), Some(9), None).await;
        assert_eq!(same.unwrap().audit().version, 0);
    }

    #[tokio::test]
    async fn forbidden_moves_name_both_states_and_store_nothing() {
        let mut done = order();
        done.move_to(OrderStatus::Completed, None, None, Utc::now(), &actor()).unwrap();
        let mut orders = MockOrderRepository::new();
        orders.expect_find().returning(move |_| Ok(Some(done.clone())));
        orders.expect_change_status().never();
        let service = service(orders);
        let result = service.change_status(order().id(), request("ready", None), &actor(), None, None).await;
        let Err(OrderError::InvalidTransition { from, to, .. }) = result else { panic!("refused") };
        assert_eq!((from, to), (OrderStatus::Completed, OrderStatus::Ready));
        let cancel =
            service.change_status(order().id(), request("cancelled", Some("duplicate")), &actor(), None, None).await;
        assert!(matches!(cancel, Err(OrderError::InvalidTransition { .. })));
    }

    #[tokio::test]
    async fn cancelling_needs_a_reason_and_other_moves_refuse_one() {
        let service = service(MockOrderRepository::new());
        let cases = [
            (request("cancelled", None), "cancel_reason", InvalidValue::RequiredToCancel),
            (request("ready", Some("other")), "cancel_reason", InvalidValue::OnlyWhenCancelling),
            (request("cancelled", Some("bored")), "cancel_reason", InvalidValue::UnknownCancelReason),
            (request("shipped", None), "status", InvalidValue::UnknownStatus),
        ];
        for (request, field, reason) in cases {
            let result = service.change_status(OrderId::generate(), request, &actor(), None, None).await;
            let Err(OrderError::Validation(errors)) = result else { panic!("refused") };
            assert_eq!((errors.fields()[0].field, &errors.fields()[0].reason), (field, &reason));
        }
    }

    #[tokio::test]
    async fn a_lost_race_is_decided_again_on_the_new_state_without_if_match() {
        let stored = order();
        let mut cancelled = stored.clone();
        let reason = Cancellation { reason: CancelReason::Duplicate, note: None };
        cancelled.move_to(OrderStatus::Cancelled, Some(reason), None, Utc::now(), &actor()).unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let mut orders = MockOrderRepository::new();
        let seen = reads.clone();
        orders.expect_find().returning(move |_| {
            Ok(Some(if seen.fetch_add(1, Ordering::SeqCst) == 0 { stored.clone() } else { cancelled.clone() }))
        });
        orders.expect_change_status().times(1).returning(|_, _, _, _, _| Err(RepoError::VersionMismatch));
        let service = service(orders);
        let result = service.change_status(order().id(), request("completed", None), &actor(), None, None).await;
        assert!(matches!(result, Err(OrderError::InvalidTransition { from: OrderStatus::Cancelled, .. })));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_lost_race_with_if_match_is_a_failed_precondition() {
        let stored = order();
        let mut orders = MockOrderRepository::new();
        orders.expect_find().returning(move |_| Ok(Some(stored.clone())));
        orders.expect_change_status().times(1).returning(|_, _, _, _, _| Err(RepoError::VersionMismatch));
        let service = service(orders);
        let result = service.change_status(order().id(), request("ready", None), &actor(), Some(0), None).await;
        assert!(matches!(result, Err(OrderError::PreconditionFailed(_))));
    }
}

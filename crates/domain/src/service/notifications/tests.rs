//! The use cases over mocked ports: what is loaded, what is stored, and what happens when
//! another writer changed the notification first. The rules themselves are tested in
//! `notification::tests`.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use mockall::Sequence;

use super::*;
use crate::notification::{NotificationParts, NotificationSummary};
use crate::notification::{SmsError, SmsReceipt};
use crate::ports::{
    MockCustomerRepository, MockNotificationRepository, MockOrderRepository, MockOutboxMetrics, MockSmsGateway,
    SystemClock,
};
use std::time::Duration;

use crate::notification::{AttemptOutcome, RetryPolicy};
use crate::service::NotificationDispatcher;
use crate::{Actor, Currency, Customer, CustomerCode, CustomerName, ItemName, Money, Order, PhoneNumber, PhoneRegion};

fn pending() -> Notification {
    let phone = PhoneNumber::parse("+254712345678", PhoneRegion::default()).unwrap();
    Notification::new(OrderId::generate(), phone, "Tea, KES 5.00".into(), Utc::now() - chrono::Duration::seconds(1))
}

/// A notification as stored, with `change` made to its fields.
fn stored(change: impl FnOnce(&mut NotificationParts)) -> Notification {
    let mut parts = pending().parts().clone();
    change(&mut parts);
    Notification::restore(parts)
}

/// Metrics that expect `times` SMS attempts counted as `outcome`, and nothing else.
fn counting(outcome: AttemptOutcome, times: usize) -> MockOutboxMetrics {
    let mut metrics = MockOutboxMetrics::new();
    metrics.expect_sms_attempt().withf(move |counted| *counted == outcome).times(times).return_const(());
    metrics
}

/// Metrics that expect `times` delivery reports counted, and nothing else.
fn counting_reports(times: usize) -> MockOutboxMetrics {
    let mut metrics = MockOutboxMetrics::new();
    metrics.expect_delivery_report().times(times).return_const(());
    metrics
}

fn dispatcher(
    repo: MockNotificationRepository,
    gateway: MockSmsGateway,
    metrics: MockOutboxMetrics,
) -> NotificationDispatcher {
    NotificationDispatcher::new(
        Arc::new(repo),
        Arc::new(gateway),
        Arc::new(SystemClock),
        Arc::new(metrics),
        RetryPolicy::default(),
        "w1",
        Duration::from_secs(30),
    )
}

#[derive(Default)]
struct CountingSignal(AtomicUsize);

impl OutboxSignal for CountingSignal {
    fn notify(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn service(repo: MockNotificationRepository, metrics: MockOutboxMetrics) -> NotificationService {
    let (orders, customers) = (MockOrderRepository::new(), MockCustomerRepository::new());
    let (clock, signal) = (Arc::new(SystemClock), Arc::new(CountingSignal::default()));
    NotificationService::new(Arc::new(repo), Arc::new(orders), Arc::new(customers), clock, signal, Arc::new(metrics))
}

/// A service whose order `order_id` belongs to a customer now at `phone`.
fn service_with_customer(
    repo: MockNotificationRepository,
    signal: Arc<CountingSignal>,
    order_id: OrderId,
    phone: &str,
) -> NotificationService {
    let actor = Actor::new("t");
    let phone = PhoneNumber::parse(phone, PhoneRegion::default()).unwrap();
    let (name, code) = (CustomerName::parse("Alice").unwrap(), CustomerCode::parse("A").unwrap());
    let customer = Customer::new(name, code, phone, Utc::now(), &actor);
    let money = Money::parse("5", Currency::parse("KES").unwrap()).unwrap();
    let reference = crate::NumberPrefix::default().reference(crate::OrderNumber::new(1001).unwrap());
    let order =
        Order::new(customer.id(), reference, ItemName::parse("Tea").unwrap(), money, Utc::now(), Utc::now(), &actor);
    let order = Order::restore(
        order_id,
        order.customer_id(),
        order.reference().clone(),
        order.item().clone(),
        order.amount(),
        order.ordered_at(),
        order.audit().clone(),
    );
    let mut orders = MockOrderRepository::new();
    orders.expect_find().returning(move |id| Ok((id == order_id).then(|| order.clone())));
    let mut customers = MockCustomerRepository::new();
    customers.expect_find().returning(move |_| Ok(Some(customer.clone())));
    let metrics = Arc::new(MockOutboxMetrics::new());
    NotificationService::new(
        Arc::new(repo),
        Arc::new(orders),
        Arc::new(customers),
        Arc::new(SystemClock),
        signal,
        metrics,
    )
}

#[tokio::test]
async fn a_due_notification_is_claimed_sent_once_and_its_outcome_stored_over_the_claim() {
    let n = pending();
    let mut repo = MockNotificationRepository::new();
    let mut seq = Sequence::new();
    let due = n.clone();
    repo.expect_claim_due()
        .withf(|claim, limit| claim.worker == "w1" && claim.lease_until > claim.now && *limit == 32)
        .times(1)
        .returning(move |claim, _| Ok(claim.apply(&due).into_iter().collect()));
    repo.expect_store_attempts()
        .withf(|records| {
            let [record] = records else { return false };
            record.previous_version == 1
                && record.next.status() == NotificationStatus::Sent
                && record.next.provider_message_id() == Some("ATXid_1")
                && record.attempt.outcome == AttemptOutcome::Sent
                && record.attempt.number == 1
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|records| Ok(vec![true; records.len()]));
    repo.expect_delivery_reports_for()
        .withf(|ids| ids == ["ATXid_1"])
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Vec::new()));
    let mut gateway = MockSmsGateway::new();
    gateway
        .expect_send()
        .withf(|to, text| to.as_str() == "+254712345678" && text == "Tea, KES 5.00")
        .times(1)
        .returning(|_, _| Ok(SmsReceipt::accepted("ATXid_1", "Success")));
    assert_eq!(dispatcher(repo, gateway, counting(AttemptOutcome::Sent, 1)).run_once().await.unwrap(), 1);
}

#[tokio::test]
async fn a_dispatcher_told_to_stop_sends_the_sms_in_hand_and_releases_the_rest_of_its_batch() {
    let (first, second, third) = (pending(), pending(), pending());
    let mut repo = MockNotificationRepository::new();
    let due = [first.clone(), second.clone(), third.clone()];
    repo.expect_claim_due().times(1).returning(move |claim, _| Ok(due.iter().filter_map(|n| claim.apply(n)).collect()));
    let first_id = first.id();
    repo.expect_store_attempts()
        .withf(move |records| {
            records.len() == 1
                && records[0].next.id() == first_id
                && records[0].next.status() == NotificationStatus::Sent
        })
        .times(1)
        .returning(|records| Ok(vec![true; records.len()]));
    let released_ids = [second.id(), third.id()];
    repo.expect_store()
        .withf(move |version, next, attempt, _| {
            released_ids.contains(&next.id())
                && *version == 1
                && next.status() == NotificationStatus::Pending
                && next.lease().is_none()
                && attempt.is_none()
        })
        .times(2)
        .returning(|_, _, _, _| Ok(true));
    repo.expect_delivery_reports_for().times(1).returning(|_| Ok(Vec::new()));
    let sends = Arc::new(AtomicUsize::new(0));
    let counted = sends.clone();
    let mut gateway = MockSmsGateway::new();
    gateway.expect_send().times(1).returning(move |_, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(SmsReceipt::accepted("ATXid_1", "Success"))
    });
    // Stop is asked while the first SMS is being sent.
    let stopping = || sends.load(Ordering::SeqCst) > 0;
    let metrics = counting(AttemptOutcome::Sent, 1);
    assert_eq!(dispatcher(repo, gateway, metrics).run_once_unless(&stopping).await.unwrap(), 1);
}

#[test]
fn only_the_lease_holder_can_release_a_claim() {
    let now = Utc::now();
    let claimed = pending().claim("w1", now, now + chrono::Duration::seconds(30)).unwrap();
    assert!(claimed.release("w2", now).is_none());
    let released = claimed.release("w1", now).unwrap();
    assert_eq!(released.status(), NotificationStatus::Pending);
    assert!(released.is_due(now));
    assert!(pending().release("w1", now).is_none(), "not claimed");
}

#[tokio::test]
async fn nothing_claimed_means_nothing_sent() {
    let mut repo = MockNotificationRepository::new();
    repo.expect_claim_due().returning(|_, _| Ok(Vec::new()));
    repo.expect_store().never();
    repo.expect_store_attempts().never();
    let mut gateway = MockSmsGateway::new();
    gateway.expect_send().never();
    assert_eq!(dispatcher(repo, gateway, MockOutboxMetrics::new()).run_once().await.unwrap(), 0);
}

#[tokio::test]
async fn an_outcome_decided_after_the_lease_was_taken_over_is_dropped_by_the_store() {
    let n = pending();
    let mut repo = MockNotificationRepository::new();
    repo.expect_claim_due().returning(move |claim, _| Ok(claim.apply(&n).into_iter().collect()));
    repo.expect_store_attempts().times(1).returning(|records| Ok(vec![false; records.len()]));
    repo.expect_delivery_reports_for().never();
    let mut gateway = MockSmsGateway::new();
    gateway.expect_send().times(1).returning(|_, _| Ok(SmsReceipt::accepted("x", "Success")));
    let metrics = counting(AttemptOutcome::Sent, 0);
    assert_eq!(dispatcher(repo, gateway, metrics).run_once().await.unwrap(), 1, "handled; the lost outcome is logged");
}

#[tokio::test]
async fn a_temporary_failure_stores_a_retry_attempt() {
    let n = pending();
    let mut repo = MockNotificationRepository::new();
    repo.expect_claim_due().returning(move |claim, _| Ok(claim.apply(&n).into_iter().collect()));
    repo.expect_store_attempts()
        .withf(|records| {
            records.len() == 1
                && records[0].next.status() == NotificationStatus::Pending
                && records[0].attempt.outcome == AttemptOutcome::Retry
        })
        .times(1)
        .returning(|records| Ok(vec![true; records.len()]));
    let mut gateway = MockSmsGateway::new();
    gateway.expect_send().times(1).returning(|_, _| Err(SmsError::Retryable("HTTP 500".into())));
    assert_eq!(dispatcher(repo, gateway, counting(AttemptOutcome::Retry, 1)).run_once().await.unwrap(), 1);
}

#[tokio::test]
async fn retry_requeues_only_a_failed_notification_of_that_order_and_wakes_the_dispatcher() {
    let failed = stored(|n| n.status = NotificationStatus::Failed);
    let order_id = failed.order_id();
    let id = failed.id();
    let mut repo = MockNotificationRepository::new();
    let found = failed.clone();
    repo.expect_find().returning(move |_| Ok(Some(found.clone())));
    repo.expect_store()
        .withf(|version, next, _, _| *version == 0 && next.status() == NotificationStatus::Pending)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let signal = Arc::new(CountingSignal::default());
    let service = service_with_customer(repo, signal.clone(), order_id, "+254733111222");

    assert!(matches!(service.retry(OrderId::generate(), id).await, Err(NotificationError::OrderNotFound(_))));
    let requeued = service.retry(order_id, id).await.unwrap();
    assert_eq!((requeued.status(), requeued.attempts()), (NotificationStatus::Pending, 0));
    assert_eq!(requeued.recipient().as_str(), "+254733111222", "the customer's current number");
    assert_eq!(signal.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_of_a_sent_notification_is_refused() {
    let sent = stored(|n| n.status = NotificationStatus::Sent);
    let (order_id, id) = (sent.order_id(), sent.id());
    let mut repo = MockNotificationRepository::new();
    repo.expect_find().returning(move |_| Ok(Some(sent.clone())));
    repo.expect_store().never();
    let result = service_with_customer(repo, Arc::default(), order_id, "+254712345678").retry(order_id, id).await;
    assert!(matches!(result, Err(NotificationError::NotRetryable { status: "sent", .. })));
}

fn report(status: &str) -> DeliveryReport {
    DeliveryReport {
        provider_message_id: "ATXid_1".into(),
        status: status.into(),
        phone_number: None,
        network_code: None,
        failure_reason: None,
        raw: "id=ATXid_1".into(),
    }
}

#[tokio::test]
async fn a_report_is_logged_and_reapplied_when_another_writer_changed_the_notification_first() {
    let sent = stored(|n| {
        n.status = NotificationStatus::Sent;
        n.provider_message_id = Some("ATXid_1".into());
    });
    let mut repo = MockNotificationRepository::new();
    repo.expect_log_delivery_report().times(1).returning(|_, _| Ok(()));
    repo.expect_find_by_provider_message_id().times(2).returning(move |_| Ok(Some(sent.clone())));
    let mut seq = Sequence::new();
    repo.expect_store().times(1).in_sequence(&mut seq).returning(|_, _, _, _| Ok(false));
    repo.expect_store()
        .withf(|_, next, _, _| next.status() == NotificationStatus::Delivered)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(true));
    let effect = service(repo, counting_reports(1)).record_delivery_report(&report("Success")).await.unwrap();
    assert!(matches!(effect, ReportDecision::Apply(_)), "{effect:?}");
}

#[tokio::test]
async fn a_report_about_no_current_message_is_logged_and_unknown() {
    let mut repo = MockNotificationRepository::new();
    repo.expect_log_delivery_report().times(1).returning(|_, _| Ok(()));
    repo.expect_find_by_provider_message_id().returning(|_| Ok(None));
    repo.expect_store().never();
    let effect = service(repo, counting_reports(1)).record_delivery_report(&report("Success")).await.unwrap();
    assert_eq!(effect, ReportDecision::Ignore(IgnoredReport::UnknownMessage));
}

#[tokio::test]
async fn a_report_that_came_before_the_send_was_stored_is_applied_once_it_is() {
    let n = pending();
    let mut repo = MockNotificationRepository::new();
    let due = n.clone();
    repo.expect_claim_due().returning(move |claim, _| Ok(claim.apply(&due).into_iter().collect()));
    let stored_sent = Arc::new(std::sync::Mutex::new(None::<Notification>));
    let keep = stored_sent.clone();
    let mut seq = Sequence::new();
    repo.expect_store_attempts()
        .withf(|records| records.len() == 1 && records[0].next.status() == NotificationStatus::Sent)
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |records| {
            *keep.lock().unwrap() = Some(records[0].next.clone());
            Ok(vec![true])
        });
    repo.expect_delivery_reports_for()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(vec![report("Buffered"), report("Success")]));
    let current = stored_sent.clone();
    repo.expect_find_by_provider_message_id().returning(move |_| Ok(current.lock().unwrap().clone()));
    let delivered = stored_sent.clone();
    repo.expect_store().withf(|_, _, attempt, _| attempt.is_none()).times(2).in_sequence(&mut seq).returning(
        move |_, next, _, _| {
            *delivered.lock().unwrap() = Some(next.clone());
            Ok(true)
        },
    );
    let mut gateway = MockSmsGateway::new();
    gateway.expect_send().returning(|_, _| Ok(SmsReceipt::accepted("ATXid_1", "Success")));
    dispatcher(repo, gateway, counting(AttemptOutcome::Sent, 1)).run_once().await.unwrap();
    let last = stored_sent.lock().unwrap().clone().unwrap();
    assert_eq!(last.status(), NotificationStatus::Delivered);
    assert_eq!(last.delivery_status(), Some("Success"));
}

#[tokio::test]
async fn a_summary_needs_a_period_of_at_most_a_year_and_counts_every_status() {
    use chrono::TimeZone;
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut repo = MockNotificationRepository::new();
    repo.expect_summary().times(1).returning(|from, to| {
        Ok(NotificationSummary { from, to, counts: vec![(NotificationStatus::Sent, 3)], costs: Vec::new() })
    });
    let service = service(repo, MockOutboxMetrics::new());
    let invalid = |result: Result<NotificationSummary, NotificationError>| match result {
        Err(NotificationError::Validation(errors)) => errors.fields().iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(invalid(service.summary(from, from).await), ["to must not be earlier than from"]);
    assert_eq!(invalid(service.summary(from, from - chrono::Duration::seconds(1)).await).len(), 1);
    let too_long = service.summary(from, from + chrono::Duration::days(366) + chrono::Duration::microseconds(1));
    assert_eq!(invalid(too_long.await), ["to must be at most 366 days after from"]);

    let summary = service.summary(from, from + chrono::Duration::days(366)).await.unwrap();
    assert_eq!(summary.counts.len(), NotificationStatus::ALL.len(), "a count for every status");
    assert_eq!(summary.counts[0], (NotificationStatus::Pending, 0));
    assert_eq!(summary.count(NotificationStatus::Sent), 3);
}

/// A dispatcher over `due`, storing through `store_attempts` and recording the size of each
/// call.
async fn batch_sizes(due: Vec<Notification>) -> Vec<usize> {
    let mut repo = MockNotificationRepository::new();
    repo.expect_claim_due().times(1).returning(move |claim, _| Ok(due.iter().filter_map(|n| claim.apply(n)).collect()));
    let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = sizes.clone();
    repo.expect_store_attempts().returning(move |records| {
        recorded.lock().unwrap().push(records.len());
        Ok(vec![true; records.len()])
    });
    repo.expect_delivery_reports_for().returning(|_| Ok(Vec::new()));
    let mut gateway = MockSmsGateway::new();
    gateway.expect_send().returning(|_, _| Ok(SmsReceipt::accepted("ATXid_1", "Success")));
    let mut metrics = MockOutboxMetrics::new();
    metrics.expect_sms_attempt().return_const(());
    assert_eq!(dispatcher(repo, gateway, metrics).run_once().await.unwrap(), 3);
    sizes.lock().unwrap().clone()
}

#[tokio::test]
async fn a_batch_is_claimed_at_once_and_each_outcome_stored_right_after_its_send() {
    // A dispatcher killed mid-batch may resend only the message in hand.
    assert_eq!(batch_sizes(vec![pending(), pending(), pending()]).await, [1, 1, 1]);
}

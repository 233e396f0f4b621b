use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use orderdesk_adapters::counters::{SMS_ATTEMPTS, SMS_DELIVERY_REPORTS};
use orderdesk_adapters::memory::InMemoryStore;
use orderdesk_adapters::sms::AfricasTalkingSmsGateway;
use orderdesk_adapters::testing::africastalking::FakeAfricasTalking;
use orderdesk_adapters::testing::{Backend, RecordingMetrics, TestDatabase, backends, on_each_backend, with_database};
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmNotificationRepository, SeaOrmOrderRepository, connect};
use orderdesk_domain::notification::{
    AttemptOutcome, AttemptRecord, Claim, DeliveryReport, IgnoredReport, ReportDecision, RetryPolicy, SmsError,
    SmsReceipt,
};
use orderdesk_domain::ports::{
    CustomerRepository, NoSignal, NotificationRepository, OrderRepository, SmsGateway, SystemClock,
};
use orderdesk_domain::service::{NotificationDispatcher, NotificationService};
use orderdesk_domain::{Customer, Notification, NotificationStatus, PhoneNumber, RepoError};

use crate::{customer, day, now, order};

fn claim(worker: &str, at: chrono::DateTime<Utc>, lease_seconds: i64) -> Claim {
    Claim { worker: worker.into(), now: at, lease_until: at + chrono::Duration::seconds(lease_seconds) }
}

fn notification_for(o: &orderdesk_domain::Order, c: &orderdesk_domain::Customer) -> Notification {
    Notification::new(o.id(), c.phone().clone(), "Order received".into(), now())
}

/// Repositories on one test database, with one customer.
struct Shop {
    customers: SeaOrmCustomerRepository,
    orders: SeaOrmOrderRepository,
    outbox: SeaOrmNotificationRepository,
    alice: Customer,
}

impl Shop {
    async fn open(db: &TestDatabase) -> Self {
        let alice = customer("A");
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        customers.insert(&alice, None, &[]).await.unwrap();
        Self {
            customers,
            orders: SeaOrmOrderRepository::new(db.connection.clone()),
            outbox: SeaOrmNotificationRepository::new(db.connection.clone()),
            alice,
        }
    }

    /// Stores an order with its SMS, claims the SMS and records it as accepted under `message_id`.
    async fn sent_sms(&self, message_id: &str) -> Notification {
        let o = order(&self.alice, "1", day(1));
        let n = notification_for(&o, &self.alice);
        self.orders.insert(&o, std::slice::from_ref(&n), None, &[]).await.unwrap();
        let claimed = self.outbox.claim_due(&claim("w", now(), 30), 1).await.unwrap().remove(0);
        let receipt = SmsReceipt::accepted(message_id, "Success");
        let (sent, attempt) = claimed.record_attempt("w", Ok(receipt), &RetryPolicy::default(), now()).unwrap();
        assert!(self.outbox.store(claimed.version(), &sent, Some(attempt.clone()), &[]).await.unwrap());
        sent
    }

    fn service(&self) -> NotificationService {
        NotificationService::new(
            Arc::new(self.outbox.clone()),
            Arc::new(self.orders.clone()),
            Arc::new(self.customers.clone()),
            Arc::new(SystemClock),
            Arc::new(NoSignal),
            Arc::new(RecordingMetrics::default()),
        )
    }
}

#[tokio::test]
async fn an_order_and_its_sms_are_stored_together_or_not_at_all() {
    on_each_backend(|db| async move {
        let Shop { orders, outbox, alice, .. } = Shop::open(&db).await;
        let good = order(&alice, "10", day(1));
        orders.insert(&good, &[notification_for(&good, &alice)], None, &[]).await.unwrap();
        assert_eq!(outbox.list_for_order(good.id()).await.unwrap().len(), 1);

        // The order insert fails (unknown customer): its notification must not exist either.
        let ghost = customer("GHOST");
        let orphan = order(&ghost, "10", day(1));
        let result = orders.insert(&orphan, &[notification_for(&orphan, &ghost)], None, &[]).await;
        assert!(matches!(result, Err(RepoError::ForeignKey)), "{:?}", db.backend);
        assert!(outbox.list_for_order(orphan.id()).await.unwrap().is_empty());
        assert_eq!(outbox.claim_due(&claim("w", now(), 30), 10).await.unwrap().len(), 1, "only the good one is due");
    })
    .await;
}

#[tokio::test]
async fn every_field_round_trips_and_a_stale_write_is_refused() {
    on_each_backend(|db| async move {
        let Shop { orders, outbox, alice, .. } = Shop::open(&db).await;
        let o = order(&alice, "10", day(1));
        let n = notification_for(&o, &alice);
        orders.insert(&o, std::slice::from_ref(&n), None, &[]).await.unwrap();
        assert_eq!(outbox.find(n.id()).await.unwrap().as_ref(), Some(&n));

        let t0 = now();
        let claimed = outbox.claim_due(&claim("w1", t0, 30), 10).await.unwrap().remove(0);
        assert_eq!(claimed, n.claim("w1", t0, t0 + chrono::Duration::seconds(30)).unwrap(), "the domain's claim");
        assert_eq!(outbox.find(n.id()).await.unwrap().as_ref(), Some(&claimed), "lease and version stored");
        // Another writer decided from the old version: refused, nothing changes.
        let rival = n.claim("w2", t0, t0 + chrono::Duration::seconds(30)).unwrap();
        assert!(!outbox.store(n.version(), &rival, None, &[]).await.unwrap(), "{:?}", db.backend);

        let cost = orderdesk_domain::notification::SmsCost::parse_provider("KES 0.8012").unwrap();
        let receipt = SmsReceipt { cost, parts: Some(2), ..SmsReceipt::accepted("ATXid_1", "Success") };
        let (sent, attempt) = claimed.record_attempt("w1", Ok(receipt), &RetryPolicy::default(), now()).unwrap();
        assert!(outbox.store(claimed.version(), &sent, Some(attempt.clone()), &[]).await.unwrap());
        assert!(
            !outbox.store(claimed.version(), &sent, Some(attempt.clone()), &[]).await.unwrap(),
            "a replay is refused"
        );
        assert_eq!(outbox.find(n.id()).await.unwrap().as_ref(), Some(&sent));
        assert_eq!(outbox.find_by_provider_message_id("ATXid_1").await.unwrap().as_ref(), Some(&sent));
        let attempts = outbox.attempts(n.id()).await.unwrap();
        assert_eq!(attempts, vec![attempt], "the attempt is stored once, with the state");
        assert_eq!(attempts[0].outcome, AttemptOutcome::Sent);
    })
    .await;
}

#[tokio::test]
async fn a_lease_left_by_a_crashed_dispatcher_is_due_again_after_it_expires() {
    on_each_backend(|db| async move {
        let Shop { orders, outbox, alice, .. } = Shop::open(&db).await;
        let o = order(&alice, "10", day(1));
        let n = notification_for(&o, &alice);
        orders.insert(&o, std::slice::from_ref(&n), None, &[]).await.unwrap();

        let t0 = now();
        let lease = chrono::Duration::seconds(30);
        let claimed = outbox.claim_due(&claim("crashed", t0, 30), 10).await.unwrap().remove(0);
        // "crashed" never records an outcome. While its lease holds, nobody else gets the row.
        let early = claim("other", t0 + chrono::Duration::seconds(10), 30);
        assert!(outbox.claim_due(&early, 10).await.unwrap().is_empty());
        let later = t0 + lease + chrono::Duration::seconds(1);
        let taken = outbox.claim_due(&claim("other", later, 30), 10).await.unwrap();
        assert_eq!(taken.len(), 1, "{:?}", db.backend);
        assert_eq!(taken[0].lease().map(|l| l.owner.as_str()), Some("other"));
        // The crashed worker's late outcome was decided over an old version: refused.
        let receipt = SmsReceipt::accepted("ATXid_1", "Success");
        let (late, attempt) = claimed.record_attempt("crashed", Ok(receipt), &RetryPolicy::default(), later).unwrap();
        assert!(!outbox.store(claimed.version(), &late, Some(attempt.clone()), &[]).await.unwrap());
        assert!(outbox.attempts(n.id()).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn delivery_reports_are_logged_idempotent_and_never_undo_a_final_status() {
    on_each_backend(|db| async move {
        let shop = Shop::open(&db).await;
        let n = shop.sent_sms("ATXid_42").await;
        let (service, alice) = (shop.service(), &shop.alice);

        let report = |status: &str| DeliveryReport {
            provider_message_id: "ATXid_42".into(),
            status: status.into(),
            phone_number: Some(alice.phone().as_str().into()),
            network_code: Some("99999".into()),
            failure_reason: None,
            raw: format!("id=ATXid_42&status={status}"),
        };
        let apply = |r: DeliveryReport| {
            let service = service.clone();
            async move { service.record_delivery_report(&r).await.unwrap() }
        };
        assert!(matches!(apply(report("Buffered")).await, ReportDecision::Apply(_)));
        assert_eq!(apply(report("Buffered")).await, ReportDecision::Ignore(IgnoredReport::Duplicate));
        assert!(matches!(apply(report("Success")).await, ReportDecision::Apply(_)));
        // A late interim report arrives after the final one.
        assert_eq!(apply(report("Submitted")).await, ReportDecision::Ignore(IgnoredReport::AlreadyFinal));
        let stored = shop.outbox.find(n.id()).await.unwrap().unwrap();
        assert_eq!((stored.status(), stored.delivery_status()), (NotificationStatus::Delivered, Some("Success")));
        let unknown = DeliveryReport { provider_message_id: "ATXid_nope".into(), ..report("Success") };
        assert_eq!(apply(unknown).await, ReportDecision::Ignore(IgnoredReport::UnknownMessage));
    })
    .await;
}

/// Two dispatchers with their own connection pools (as two processes) drain 500 orders:
/// the provider receives each SMS exactly once.
#[tokio::test]
async fn two_dispatchers_send_each_of_500_sms_exactly_once() {
    let backend = if backends().contains(&Backend::Postgres) { Backend::Postgres } else { Backend::Sqlite };
    let fake = FakeAfricasTalking::start().await;
    with_database(backend, |db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();
        for _ in 0..500 {
            let o = order(&alice, "1", day(1));
            orders.insert(&o, &[notification_for(&o, &alice)], None, &[]).await.unwrap();
        }
        let total = Arc::new(AtomicUsize::new(0));
        let dispatcher = |name: &'static str| {
            let total = total.clone();
            let fake_settings = fake.settings();
            let settings = db.settings.clone();
            async move {
                let pool = connect(&settings).await.unwrap();
                let gateway = AfricasTalkingSmsGateway::new(&fake_settings, Duration::from_secs(5)).unwrap();
                let d = NotificationDispatcher::new(
                    Arc::new(SeaOrmNotificationRepository::new(pool)),
                    Arc::new(gateway),
                    Arc::new(SystemClock),
                    Arc::new(RecordingMetrics::default()),
                    RetryPolicy::default(),
                    name,
                    Duration::from_secs(60),
                );
                let mut handled = 0;
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                // Until both together have sent all 500: a run that finds nothing claimable
                // (the other holds the rest) is not the end.
                while total.load(Ordering::SeqCst) < 500 && std::time::Instant::now() < deadline {
                    let n = d.run_once().await.unwrap();
                    handled += n;
                    total.fetch_add(n, Ordering::SeqCst);
                    if n == 0 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                handled
            }
        };
        let (a, b) = tokio::join!(dispatcher("dispatcher-a"), dispatcher("dispatcher-b"));
        assert_eq!(a + b, 500, "{:?}", db.backend);
        assert!(a > 0 && b > 0, "both dispatchers took part: {a} + {b}");
        assert_eq!(fake.requests(), 500);
        let mut ids: Vec<String> = fake.accepted().into_iter().map(|s| s.message_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 500);
        let _ = Utc::now();
    })
    .await;
}

#[tokio::test]
async fn each_delivery_status_maps_to_the_right_notification_state() {
    on_each_backend(|db| async move {
        let shop = Shop::open(&db).await;
        let (outbox, service) = (&shop.outbox, shop.service());
        let cases = [
            ("Sent", NotificationStatus::Sent),
            ("Submitted", NotificationStatus::Sent),
            ("Buffered", NotificationStatus::Sent),
            ("Success", NotificationStatus::Delivered),
            ("Rejected", NotificationStatus::Undelivered),
            ("Failed", NotificationStatus::Undelivered),
            ("AbsentSubscriber", NotificationStatus::Undelivered),
            ("Expired", NotificationStatus::Undelivered),
        ];
        for (i, (status, expected)) in cases.into_iter().enumerate() {
            let message_id = format!("ATXid_status_{i}");
            let n = shop.sent_sms(&message_id).await;
            let report = DeliveryReport {
                provider_message_id: message_id,
                status: status.into(),
                phone_number: None,
                network_code: Some("99999".into()),
                failure_reason: (expected == NotificationStatus::Undelivered).then(|| "DeliveryFailure".to_owned()),
                raw: String::new(),
            };
            let decision = service.record_delivery_report(&report).await.unwrap();
            assert!(matches!(decision, ReportDecision::Apply(_)), "{status}");
            let stored = outbox.find(n.id()).await.unwrap().unwrap();
            assert_eq!(stored.status(), expected, "{status} on {:?}", db.backend);
            assert_eq!(stored.delivery_status(), Some(status));
        }
        let counts = outbox.count_by_status().await.unwrap();
        assert!(counts.contains(&(NotificationStatus::Undelivered, 4)), "{counts:?}");
    })
    .await;
}

#[tokio::test]
async fn the_oldest_due_sms_is_found_for_the_outbox_age_metric() {
    on_each_backend(|db| async move {
        let shop = Shop::open(&db).await;
        let later = now() + chrono::Duration::seconds(60);
        assert_eq!(shop.outbox.oldest_due_at(later).await.unwrap(), None);
        let o = order(&shop.alice, "1", day(1));
        let n = notification_for(&o, &shop.alice);
        shop.orders.insert(&o, std::slice::from_ref(&n), None, &[]).await.unwrap();
        let millis = |at: Option<chrono::DateTime<Utc>>| at.map(|t| t.timestamp_millis());
        let due = shop.outbox.oldest_due_at(later).await.unwrap();
        assert_eq!(millis(due), millis(Some(n.next_attempt_at())), "{:?}", db.backend);
        let before = n.next_attempt_at() - chrono::Duration::seconds(1);
        assert_eq!(shop.outbox.oldest_due_at(before).await.unwrap(), None, "not due yet");
        shop.outbox.claim_due(&claim("w", later, 30), 1).await.unwrap();
        assert_eq!(shop.outbox.oldest_due_at(later).await.unwrap(), None, "claimed: no longer waiting");
    })
    .await;
}

/// Answers the first send with a temporary failure and every later one with acceptance.
struct FlakyGateway(AtomicUsize);

#[async_trait::async_trait]
impl SmsGateway for FlakyGateway {
    async fn send(&self, _: &PhoneNumber, _: &str) -> Result<SmsReceipt, SmsError> {
        match self.0.fetch_add(1, Ordering::SeqCst) {
            0 => Err(SmsError::Retryable("HTTP 503".into())),
            n => Ok(SmsReceipt::accepted(format!("ATXid_{n}"), "Success")),
        }
    }
}

/// Stores an order with its SMS, sends it (a temporary failure, then accepted) and applies a
/// delivery report for it, through the use cases over these stores; returns what they counted.
async fn count_one_dispatch(
    notifications: Arc<dyn NotificationRepository>,
    orders: Arc<dyn OrderRepository>,
    customers: Arc<dyn CustomerRepository>,
) -> BTreeMap<(&'static str, &'static str), u64> {
    let alice = customer("A");
    customers.insert(&alice, None, &[]).await.unwrap();
    let o = order(&alice, "1", day(1));
    orders.insert(&o, &[notification_for(&o, &alice)], None, &[]).await.unwrap();
    let metrics = Arc::new(RecordingMetrics::default());
    let policy = RetryPolicy { initial_backoff: Duration::ZERO, ..RetryPolicy::default() };
    let gateway = Arc::new(FlakyGateway(AtomicUsize::new(0)));
    let dispatcher = NotificationDispatcher::new(
        notifications.clone(),
        gateway,
        Arc::new(SystemClock),
        metrics.clone(),
        policy,
        "w",
        Duration::from_secs(30),
    );
    assert_eq!(dispatcher.run_once().await.unwrap(), 1, "the failed attempt");
    assert_eq!(dispatcher.run_once().await.unwrap(), 1, "the retry, accepted");
    let (clock, signal) = (Arc::new(SystemClock), Arc::new(NoSignal));
    let service = NotificationService::new(notifications, orders, customers, clock, signal, metrics.clone());
    let report = DeliveryReport {
        provider_message_id: "ATXid_1".into(),
        status: "Success".into(),
        phone_number: None,
        network_code: None,
        failure_reason: None,
        raw: String::new(),
    };
    assert!(matches!(service.record_delivery_report(&report).await.unwrap(), ReportDecision::Apply(_)));
    metrics.counts()
}

#[tokio::test]
async fn the_memory_store_and_the_sql_store_count_the_same_dispatch() {
    let expected = BTreeMap::from([
        ((SMS_ATTEMPTS, "retry"), 1),
        ((SMS_ATTEMPTS, "sent"), 1),
        ((SMS_DELIVERY_REPORTS, "Success"), 1),
    ]);
    let memory = Arc::new(InMemoryStore::default());
    assert_eq!(count_one_dispatch(memory.clone(), memory.clone(), memory).await, expected, "in memory");
    on_each_backend(|db| {
        let expected = expected.clone();
        async move {
            let counted = count_one_dispatch(
                Arc::new(SeaOrmNotificationRepository::new(db.connection.clone())),
                Arc::new(SeaOrmOrderRepository::new(db.connection.clone())),
                Arc::new(SeaOrmCustomerRepository::new(db.connection.clone())),
            )
            .await;
            assert_eq!(counted, expected, "{:?}", db.backend);
        }
    })
    .await;
}

#[tokio::test]
async fn a_batch_of_outcomes_is_stored_in_one_call_and_a_stale_one_is_left_out() {
    on_each_backend(|db| async move {
        let Shop { orders, outbox, alice, .. } = Shop::open(&db).await;
        let mut due = Vec::new();
        for item in ["1", "2", "3"] {
            let o = order(&alice, item, day(1));
            let n = notification_for(&o, &alice);
            orders.insert(&o, std::slice::from_ref(&n), None, &[]).await.unwrap();
            due.push(n.id());
        }
        let t0 = now();
        let claimed = outbox.claim_due(&claim("w1", t0, 30), 10).await.unwrap();
        assert_eq!(claimed.len(), 3, "one claim takes the batch ({:?})", db.backend);
        for n in &claimed {
            assert_eq!(outbox.find(n.id()).await.unwrap().as_ref(), Some(n), "each claim is stored as decided");
        }
        assert!(outbox.claim_due(&claim("w2", t0, 30), 10).await.unwrap().is_empty(), "held by w1");

        let records: Vec<AttemptRecord> = claimed
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let receipt = SmsReceipt::accepted(format!("ATXid_{i}"), "Success");
                let (next, attempt) = n.record_attempt("w1", Ok(receipt), &RetryPolicy::default(), now()).unwrap();
                // The last one is decided from a version that is no longer stored.
                let previous_version = if i == 2 { n.version() - 1 } else { n.version() };
                AttemptRecord { previous_version, next, attempt, events: Vec::new() }
            })
            .collect();
        assert_eq!(outbox.store_attempts(&records).await.unwrap(), [true, true, false]);
        for (record, stored) in records.iter().zip([true, true, false]) {
            let now_stored = outbox.find(record.next.id()).await.unwrap().unwrap();
            assert_eq!(now_stored == record.next, stored);
            let attempts = outbox.attempts(record.next.id()).await.unwrap();
            assert_eq!(attempts.len(), usize::from(stored), "an attempt only with its outcome");
        }
        let report = |id: &str| DeliveryReport {
            provider_message_id: id.into(),
            status: "Success".into(),
            phone_number: None,
            network_code: None,
            failure_reason: None,
            raw: format!("id={id}"),
        };
        for id in ["ATXid_0", "ATXid_9", "ATXid_1"] {
            outbox.log_delivery_report(&report(id), now()).await.unwrap();
        }
        let reports = outbox.delivery_reports_for(&["ATXid_0".into(), "ATXid_1".into()]).await.unwrap();
        let ids: Vec<&str> = reports.iter().map(|r| r.provider_message_id.as_str()).collect();
        assert_eq!(ids, ["ATXid_0", "ATXid_1"], "only the ones asked for, oldest first");
    })
    .await;
}

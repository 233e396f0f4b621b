//! What SMS cost (issue #22): every attempt keeps its own cost, a retry by hand adds attempts
//! and never overwrites earlier ones, and the summary of a period adds them up exactly, on
//! SQLite and PostgreSQL alike.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use orderdesk_adapters::testing::{RecordingMetrics, on_each_backend};
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmNotificationRepository, SeaOrmOrderRepository};
use orderdesk_domain::notification::{
    AttemptOutcome, Claim, DeliveryReport, ReportDecision, RetryPolicy, SmsCost, SmsError, SmsReceipt,
};
use orderdesk_domain::ports::{CustomerRepository, NoSignal, NotificationRepository, OrderRepository, SystemClock};
use orderdesk_domain::service::NotificationService;
use orderdesk_domain::{Customer, Notification, NotificationStatus};

use crate::{customer, day, now, order};

fn receipt(message_id: &str, cost: &str, parts: u32) -> SmsReceipt {
    let cost = SmsCost::parse_provider(cost).unwrap();
    SmsReceipt { cost, parts: Some(parts), ..SmsReceipt::accepted(message_id, "Success") }
}

/// Claims `n` at `at` and stores the attempt ending with `result` at `at`.
async fn attempt(
    outbox: &SeaOrmNotificationRepository,
    n: &Notification,
    at: DateTime<Utc>,
    result: Result<SmsReceipt, SmsError>,
) -> Notification {
    let claim = Claim { worker: "w".into(), now: at, lease_until: at + Duration::seconds(30) };
    let claimed = outbox.claim_due(&claim, 10).await.unwrap().into_iter().find(|c| c.id() == n.id()).expect("due");
    let (next, attempt) = claimed.record_attempt("w", result, &RetryPolicy::default(), at).unwrap();
    assert!(outbox.store(claimed.version(), &next, Some(attempt), &[]).await.unwrap());
    next
}

async fn new_sms(orders: &SeaOrmOrderRepository, alice: &Customer, created_at: DateTime<Utc>) -> Notification {
    let o = order(alice, "1", day(1));
    let n = Notification::new(o.id(), alice.phone().clone(), "Order received".into(), created_at);
    orders.insert(&o, std::slice::from_ref(&n), None, &[]).await.unwrap();
    n
}

#[tokio::test]
async fn every_attempt_keeps_its_cost_and_the_summary_adds_them_up_exactly() {
    on_each_backend(|db| async move {
        let alice = customer("A");
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        customers.insert(&alice, None, &[]).await.unwrap();
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let outbox = SeaOrmNotificationRepository::new(db.connection.clone());
        let service = NotificationService::new(
            Arc::new(outbox.clone()),
            Arc::new(orders.clone()),
            Arc::new(customers.clone()),
            Arc::new(SystemClock),
            Arc::new(NoSignal),
            Arc::new(RecordingMetrics::default()),
        );
        let t0 = now() - Duration::hours(1);
        let n = new_sms(&orders, &alice, t0).await;

        // A temporary failure, then a send; the SMS is not delivered and is retried by hand,
        // and the second message costs more (two parts).
        let retry = attempt(&outbox, &n, t0, Err(SmsError::Retryable("HTTP 500".into()))).await;
        let sent = attempt(&outbox, &retry, retry.next_attempt_at(), Ok(receipt("ATXid_c1", "KES 0.8000", 1))).await;
        let failed = DeliveryReport {
            provider_message_id: "ATXid_c1".into(),
            status: "Failed".into(),
            phone_number: None,
            network_code: None,
            failure_reason: Some("DeliveryFailure".into()),
            raw: String::new(),
        };
        let ReportDecision::Apply(undelivered) = sent.apply_delivery_report(&failed, now()) else { panic!("applies") };
        assert!(outbox.store(sent.version(), &undelivered, None, &[]).await.unwrap());
        let requeued = service.retry(n.order_id(), n.id()).await.unwrap();
        assert_eq!(outbox.attempts(n.id()).await.unwrap().len(), 2, "a retry by hand deletes no attempt");
        let resent = attempt(&outbox, &requeued, now(), Ok(receipt("ATXid_c2", "KES 1.6012", 2))).await;
        assert_eq!(resent.status(), NotificationStatus::Sent);

        let attempts = outbox.attempts(n.id()).await.unwrap();
        let log: Vec<_> =
            attempts.iter().map(|a| (a.number, a.outcome, a.cost.map(|c| c.to_string()), a.parts)).collect();
        assert_eq!(
            log,
            [
                (1, AttemptOutcome::Retry, None, None),
                (2, AttemptOutcome::Sent, Some("KES 0.80".to_owned()), Some(1)),
                (1, AttemptOutcome::Sent, Some("KES 1.6012".to_owned()), Some(2)),
            ],
            "each attempt is its own row, in the order made, with its own cost ({:?})",
            db.backend
        );

        // A USD attempt in the period, and a KES one (of an SMS created) after it.
        let usd = new_sms(&orders, &alice, t0).await;
        attempt(&outbox, &usd, now(), Ok(receipt("ATXid_c3", "USD 0.0100", 1))).await;
        let to = now() + Duration::minutes(1);
        let late = new_sms(&orders, &alice, to).await;
        attempt(&outbox, &late, to + Duration::seconds(1), Ok(receipt("ATXid_c4", "KES 0.8000", 1))).await;

        let summary = service.summary(t0, to).await.unwrap();
        assert_eq!(summary.count(NotificationStatus::Sent), 2, "{:?}", db.backend);
        assert_eq!(summary.counts.iter().map(|(_, n)| n).sum::<u64>(), 2, "created in the period only");
        let costs: Vec<_> =
            summary.costs.iter().map(|c| (c.currency.code(), c.amount_string(), c.attempts, c.parts)).collect();
        assert_eq!(
            costs,
            [("KES", "2.4012".to_owned(), 2, 3), ("USD", "0.01".to_owned(), 1, 1)],
            "exact, per currency, ordered by currency ({:?})",
            db.backend
        );
        assert_eq!(summary.costs[0].micros, 2_401_200);
        // A wider period takes the later attempt in too.
        let whole_day = service.summary(t0, to + Duration::hours(1)).await.unwrap();
        assert_eq!(whole_day.costs[0].amount_string(), "3.2012");
    })
    .await;
}

#[tokio::test]
async fn large_sums_stay_exact() {
    on_each_backend(|db| async move {
        let alice = customer("A");
        SeaOrmCustomerRepository::new(db.connection.clone()).insert(&alice, None, &[]).await.unwrap();
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let outbox = SeaOrmNotificationRepository::new(db.connection.clone());
        let t0 = now();
        // Three of the largest costs kept: their sum is beyond what a double holds exactly.
        for i in 0..3 {
            let n = new_sms(&orders, &alice, t0).await;
            let cost = format!("KES 999999999.99999{}", 7 + i);
            attempt(&outbox, &n, t0, Ok(receipt(&format!("ATXid_big{i}"), &cost, 1))).await;
        }
        let summary = outbox.summary(t0, t0 + Duration::seconds(1)).await.unwrap();
        assert_eq!(summary.costs[0].amount_string(), "2999999999.999994", "{:?}", db.backend);
    })
    .await;
}

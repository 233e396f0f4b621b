//! Webhooks in storage (routing, claiming, versions, attempts, cascade) on each database, and
//! the HTTP sender's target rules against a loopback receiver.

use std::time::Duration;

use chrono::Utc;
use orderdesk_adapters::testing::{TestDatabase, on_each_backend};
use orderdesk_adapters::webhook::HttpWebhookSender;
use orderdesk_adapters::{
    SeaOrmCustomerRepository, SeaOrmEventRepository, SeaOrmWebhookDeliveryRepository, SeaOrmWebhookEndpointRepository,
};
use orderdesk_domain::notification::Claim;
use orderdesk_domain::ports::{
    CustomerRepository, EventRepository, WebhookDeliveryRepository, WebhookEndpointRepository, WebhookSender,
};
use orderdesk_domain::webhook::{
    AttemptOutcome, DeliveryStatus, SendResult, WebhookRequest, WebhookRetryPolicy, WebhookSecret, WebhookUrl,
};
use orderdesk_domain::{Event, EventId, EventSelector, EventType, NewEvent, PageRequest, WebhookEndpoint};
use sea_orm::ConnectionTrait;
use wiremock::matchers::{header_exists, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{actor, customer, now};

fn endpoint(patterns: &str, created: chrono::DateTime<Utc>) -> WebhookEndpoint {
    WebhookEndpoint::new(
        WebhookUrl::parse("https://hooks.example.com/orderdesk").unwrap(),
        EventSelector::parse_list(patterns).unwrap(),
        None,
        WebhookSecret::from_random([3; 32]),
        created,
        &actor(),
    )
}

struct Stores {
    endpoints: SeaOrmWebhookEndpointRepository,
    deliveries: SeaOrmWebhookDeliveryRepository,
    customers: SeaOrmCustomerRepository,
    events: SeaOrmEventRepository,
}

impl Stores {
    fn on(db: &TestDatabase) -> Self {
        Self {
            endpoints: SeaOrmWebhookEndpointRepository::new(db.connection.clone()),
            deliveries: SeaOrmWebhookDeliveryRepository::new(db.connection.clone()),
            customers: SeaOrmCustomerRepository::new(db.connection.clone()),
            events: SeaOrmEventRepository::new(db.connection.clone()),
        }
    }

    /// Stores a customer with its `customer.created` event; returns the event.
    async fn customer_created(&self, code: &str) -> Event {
        let c = customer(code);
        let event = NewEvent::customer(EventType::CustomerCreated, &c, now());
        self.customers.insert(&c, None, std::slice::from_ref(&event)).await.unwrap();
        let later = now() + chrono::Duration::seconds(1);
        let feed = self.events.list(&EventSelector::all(), None, later, 1000).await.unwrap();
        feed.into_iter().find(|e| e.object.id() == c.id().as_uuid()).expect("the stored event")
    }
}

async fn unrouted(db: &TestDatabase) -> i64 {
    let row = db
        .connection
        .write()
        .query_one_raw(sea_orm::Statement::from_string(
            db.connection.backend(),
            "SELECT COUNT(*) AS n FROM events WHERE routed = FALSE",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

fn claim(worker: &str, at: chrono::DateTime<Utc>) -> Claim {
    Claim { worker: worker.into(), now: at, lease_until: at + chrono::Duration::seconds(130) }
}

#[tokio::test]
async fn routing_makes_one_delivery_per_wanting_endpoint_once_and_marks_events_routed() {
    on_each_backend(|db| async move {
        let stores = Stores::on(&db);
        let created = now() - chrono::Duration::seconds(5);
        let customers = endpoint("customer.*", created);
        let everything = endpoint("*", created);
        let orders_only = endpoint("order.*", created);
        let mut disabled = endpoint("*", created);
        for e in [&customers, &everything, &orders_only, &disabled] {
            stores.endpoints.insert(e).await.unwrap();
        }
        // Disable one the way the dispatcher does: after a delivery failed for its window.
        let policy = WebhookRetryPolicy::default().retrying_for(Duration::from_secs(1));
        let probe = orderdesk_domain::webhook::Delivery::route(
            &disabled,
            EventId::generate(),
            EventType::OrderCreated,
            now(),
            created,
        )
        .unwrap()
        .claim(&claim("w", now()))
        .unwrap();
        let failure = SendResult { status: Ok(500), duration: Duration::ZERO };
        let (failed, _) = probe.record_attempt("w", &failure, &policy, now()).unwrap();
        let off = disabled.disable_after(&failed, policy.retry_for, None, now()).unwrap();
        assert!(stores.endpoints.store(disabled.audit().version, &off).await.unwrap());
        disabled = off;

        let first = stores.customer_created("HOOK-1").await;
        stores.customer_created("HOOK-2").await;
        assert_eq!(unrouted(&db).await, 2);

        assert_eq!(stores.deliveries.route(1, now()).await.unwrap(), 1, "one event at a time when asked");
        assert_eq!(unrouted(&db).await, 1);
        assert_eq!(stores.deliveries.route(200, now()).await.unwrap(), 1);
        assert_eq!(unrouted(&db).await, 0);
        assert_eq!(stores.deliveries.route(200, now()).await.unwrap(), 0, "nothing left to route");

        let due = stores.deliveries.claim_due(&claim("w", now()), 50).await.unwrap();
        assert_eq!(due.len(), 4, "two events to the two endpoints that want customers");
        let mut to: Vec<_> = due.iter().map(|d| d.endpoint_id()).collect();
        to.sort();
        to.dedup();
        let mut wanted = vec![customers.id(), everything.id()];
        wanted.sort();
        assert_eq!(to, wanted, "not the order-only or the disabled endpoint");
        assert!(due.iter().any(|d| d.event_id() == first.id));
        assert!(!to.contains(&disabled.id()) && !to.contains(&orders_only.id()));

        // An endpoint created after the events gets none of them, even if they were unrouted.
        let later = endpoint("*", now() + chrono::Duration::seconds(5));
        stores.endpoints.insert(&later).await.unwrap();
        db.connection.write().execute_unprepared("UPDATE events SET routed = FALSE").await.unwrap();
        assert_eq!(stores.deliveries.route(200, now()).await.unwrap(), 2);
        let again = stores.deliveries.claim_due(&claim("x", now() + chrono::Duration::hours(1)), 50).await.unwrap();
        assert!(again.iter().all(|d| d.endpoint_id() != later.id()), "no backlog for a new endpoint");
        assert!(again.iter().all(|d| d.status() == DeliveryStatus::Sending));
        assert_eq!(again.len(), 4, "re-routing makes no second delivery: the lapsed claims are taken over");
    })
    .await;
}

#[tokio::test]
async fn claims_and_outcomes_are_stored_over_their_version_with_the_attempts_listed_newest_first() {
    on_each_backend(|db| async move {
        let stores = Stores::on(&db);
        let hooks = endpoint("*", now() - chrono::Duration::seconds(5));
        stores.endpoints.insert(&hooks).await.unwrap();
        stores.customer_created("HOOK-3").await;
        stores.deliveries.route(200, now()).await.unwrap();

        let mine = stores.deliveries.claim_due(&claim("a", now()), 10).await.unwrap().remove(0);
        assert!(stores.deliveries.claim_due(&claim("b", now()), 10).await.unwrap().is_empty(), "held by a's lease");

        let policy = WebhookRetryPolicy::default();
        let failure = SendResult { status: Ok(500), duration: Duration::from_millis(12) };
        let (retry, attempt) = mine.record_attempt("a", &failure, &policy, now()).unwrap();
        assert!(stores.deliveries.store(mine.version(), &retry, Some(attempt)).await.unwrap());
        let (stale, attempt) = mine.record_attempt("a", &failure, &policy, now()).unwrap();
        assert!(!stores.deliveries.store(mine.version(), &stale, Some(attempt)).await.unwrap(), "an old version loses");

        let later = retry.next_attempt_at();
        let again = stores.deliveries.claim_due(&claim("b", later), 10).await.unwrap().remove(0);
        let ok = SendResult { status: Ok(204), duration: Duration::from_millis(7) };
        let (done, attempt) = again.record_attempt("b", &ok, &policy, later).unwrap();
        assert!(stores.deliveries.store(again.version(), &done, Some(attempt)).await.unwrap());
        assert!(
            stores.deliveries.claim_due(&claim("c", later + chrono::Duration::days(9)), 10).await.unwrap().is_empty()
        );

        let page = stores.deliveries.attempts(hooks.id(), PageRequest::new(None, Some(1)).unwrap()).await.unwrap();
        assert_eq!((page.items[0].status_code, page.items[0].outcome), (Some(204), AttemptOutcome::Delivered));
        let rest = stores.deliveries.attempts(hooks.id(), PageRequest::new(page.next, Some(5)).unwrap()).await.unwrap();
        assert_eq!(rest.items.len(), 1, "the stale attempt was never written");
        assert_eq!((rest.items[0].status_code, rest.items[0].duration_ms, rest.items[0].number), (Some(500), 12, 1));
        assert_eq!(rest.next, None);
        assert_eq!(stores.deliveries.last_success(hooks.id()).await.unwrap(), Some(later));

        // Rotation is stored over the version too; the secrets read back as they were.
        let rotated = hooks.rotate(WebhookSecret::from_random([4; 32]), now(), &actor());
        assert!(stores.endpoints.store(0, &rotated).await.unwrap());
        assert!(!stores.endpoints.store(0, &rotated).await.unwrap());
        assert_eq!(stores.endpoints.find(hooks.id()).await.unwrap(), Some(rotated));
        let listed = stores.endpoints.list(PageRequest::default()).await.unwrap();
        assert_eq!(listed.items.len(), 1);

        // Deleting the endpoint takes its deliveries and attempts with it.
        assert!(stores.endpoints.delete(hooks.id()).await.unwrap());
        assert!(!stores.endpoints.delete(hooks.id()).await.unwrap());
        let gone = stores.deliveries.attempts(hooks.id(), PageRequest::default()).await.unwrap();
        assert!(gone.items.is_empty());
        let remaining = db
            .connection
            .write()
            .query_one_raw(sea_orm::Statement::from_string(
                db.connection.backend(),
                "SELECT COUNT(*) AS n FROM webhook_deliveries",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(remaining.try_get::<i64>("", "n").unwrap(), 0);
    })
    .await;
}

fn request(url: &str) -> WebhookRequest {
    WebhookRequest {
        url: WebhookUrl::parse(url).unwrap(),
        event_id: EventId::generate(),
        signature: "t=1,v1=00".into(),
        body: b"{}".to_vec(),
    }
}

#[tokio::test]
async fn production_refuses_plain_http_credentials_and_non_public_addresses_at_creation_and_at_delivery() {
    let production = HttpWebhookSender::new(false).unwrap();
    let check = |url: &str| {
        let url = WebhookUrl::parse(url).unwrap();
        let production = production.clone();
        async move { production.check_target(&url).await }
    };
    let plain = check("http://hooks.example.com/x").await.unwrap_err();
    assert!(plain.contains("must use https"), "{plain}");
    let credentials = check("https://user:pass@hooks.example.com/x").await.unwrap_err();
    assert!(credentials.contains("credentials"), "{credentials}");
    for (url, kind) in [
        ("https://127.0.0.1/x", "loopback"),
        ("https://[::1]:8443/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::ffff:192.168.0.1]/x", "private"),
        ("https://localhost:9/x", "loopback"),
    ] {
        let refused = check(url).await.unwrap_err();
        assert!(refused.contains(kind) && refused.contains("allow_private_targets"), "{url}: {refused}");
    }
    let unknown = check("https://no-such-host.invalid/x").await.unwrap_err();
    assert!(unknown.contains("does not resolve"), "{unknown}");

    // At delivery: a literal is refused before any connection, a name by the resolver the
    // connection goes through (so what was checked is what is connected to).
    for url in ["https://127.0.0.1:9/x", "https://localhost:9/x"] {
        let result = production.send(&request(url)).await;
        let error = result.status.unwrap_err();
        assert!(error.starts_with("refused:") && error.contains("loopback"), "{url}: {error}");
    }
}

#[tokio::test]
async fn the_dev_sender_posts_to_loopback_with_the_event_headers_and_reports_any_status() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header_exists("orderdesk-signature"))
        .and(header_exists("orderdesk-event-id"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&receiver)
        .await;
    let dev = HttpWebhookSender::new(true).unwrap();
    let url = format!("{}/hooks", receiver.uri());
    assert_eq!(dev.check_target(&WebhookUrl::parse(&url).unwrap()).await, Ok(()));
    let sent = request(&url);
    let result = dev.send(&sent).await;
    assert_eq!(result.status, Ok(503));
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received[0].headers["orderdesk-event-id"], sent.event_id.to_string().as_str());
    assert_eq!(received[0].headers["orderdesk-signature"], "t=1,v1=00");
    assert_eq!(received[0].headers["content-type"], "application/json");
    assert_eq!(received[0].body, b"{}");

    // Nobody listening: an error in words, without the URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = dev.send(&request(&format!("http://{closed}/hooks"))).await.status.unwrap_err();
    assert!(refused.starts_with("cannot connect"), "{refused}");
    assert!(!refused.contains("/hooks"), "{refused}");
    // A redirect is an answer like any other, not followed.
    let redirecting = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "http://169.254.169.254/"))
        .mount(&redirecting)
        .await;
    assert_eq!(dev.send(&request(&redirecting.uri())).await.status, Ok(307));
    assert_eq!(redirecting.received_requests().await.unwrap().len(), 1);
}

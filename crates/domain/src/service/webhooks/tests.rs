//! The webhook use cases over mockall mocks of their ports.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::event::{Event, EventType, NewEvent};
use crate::ports::{
    MockClock, MockEventRepository, MockOutboxMetrics, MockSecretGenerator, MockWebhookDeliveryRepository,
    MockWebhookEndpointRepository, MockWebhookSender,
};
use crate::webhook::{EndpointStatus, SIGNATURE_HEADER, verify_signature};
use crate::{Customer, CustomerCode, CustomerName, PhoneNumber, PhoneRegion};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).single().expect("time")
}

fn clock(at: DateTime<Utc>) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || at);
    Arc::new(clock)
}

/// Writes `{"id": …, "type": …}`: enough to check what is signed is what is sent.
struct Encoder;

impl EventEncoder for Encoder {
    fn encode(&self, event: &Event) -> Vec<u8> {
        format!(r#"{{"id":"{}","type":"{}"}}"#, event.id, event.kind).into_bytes()
    }
    fn encode_test(&self, test: &WebhookTestEvent) -> Vec<u8> {
        format!(r#"{{"id":"{}","type":"{}"}}"#, test.id, WebhookTestEvent::TYPE).into_bytes()
    }
}

/// Metrics that expect one webhook attempt counted as `outcome`, and nothing else.
fn counting(outcome: AttemptOutcome) -> MockOutboxMetrics {
    let mut metrics = MockOutboxMetrics::new();
    metrics.expect_webhook_attempt().withf(move |counted| *counted == outcome).times(1).return_const(());
    metrics
}

fn actor() -> Actor {
    Actor::new("auth0|owner")
}

fn endpoint(created: DateTime<Utc>) -> WebhookEndpoint {
    WebhookEndpoint::new(
        WebhookUrl::parse("https://hooks.example.com/x").expect("url"),
        EventSelector::parse_list("order.*").expect("selector"),
        None,
        WebhookSecret::from_random([7; 32]),
        created,
        &actor(),
    )
}

fn customer_event(at: DateTime<Utc>) -> Event {
    let customer = Customer::new(
        CustomerName::parse("Amina").expect("name"),
        CustomerCode::parse("AMINA").expect("code"),
        PhoneNumber::parse("0712345678", PhoneRegion::default()).expect("phone"),
        at,
        &actor(),
    );
    NewEvent::customer(EventType::CustomerCreated, &customer, at).stored(crate::EventId::generate())
}

fn secrets() -> Arc<MockSecretGenerator> {
    let mut secrets = MockSecretGenerator::new();
    secrets.expect_random_bytes().returning(|| [0xcd; 32]);
    Arc::new(secrets)
}

fn service(
    endpoints: MockWebhookEndpointRepository,
    deliveries: MockWebhookDeliveryRepository,
    sender: MockWebhookSender,
) -> WebhookService {
    WebhookService::new(
        Arc::new(endpoints),
        Arc::new(deliveries),
        Arc::new(sender),
        secrets(),
        Arc::new(Encoder),
        clock(now()),
    )
}

fn draft(url: &str, events: &[&str]) -> WebhookEndpointDraft {
    WebhookEndpointDraft {
        url: url.into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        description: None,
    }
}

#[tokio::test]
async fn create_checks_the_target_and_stores_an_enabled_endpoint_with_a_fresh_secret() {
    let mut sender = MockWebhookSender::new();
    sender.expect_check_target().returning(|_| Ok(()));
    let mut endpoints = MockWebhookEndpointRepository::new();
    endpoints.expect_insert().times(1).returning(|_| Ok(()));
    let service = service(endpoints, MockWebhookDeliveryRepository::new(), sender);
    let mut new = draft("https://hooks.example.com/x", &["order.*", "customer.created"]);
    new.description = Some(" ERP ".into());
    let created = service.create(new, &actor()).await.expect("created");
    assert_eq!(created.secret().expose(), format!("whsec_{}", "cd".repeat(32)));
    assert_eq!(created.events().patterns(), ["order.*", "customer.created"]);
    assert_eq!(created.description().map(WebhookDescription::as_str), Some("ERP"));
    assert_eq!(created.status(), EndpointStatus::Enabled);
}

#[tokio::test]
async fn create_reports_every_bad_field_and_the_senders_refusal_on_url() {
    let mut sender = MockWebhookSender::new();
    sender.expect_check_target().returning(|_| Err("must use https (webhooks.allow_private_targets is off)".into()));
    let service = service(MockWebhookEndpointRepository::new(), MockWebhookDeliveryRepository::new(), sender);

    let error = service.create(draft("http://hooks.example.com", &["order.shipped"]), &actor()).await.unwrap_err();
    let WebhookError::Validation(errors) = error else { panic!("{error:?}") };
    let fields: Vec<(&str, String)> = errors.fields().iter().map(|f| (f.field, f.reason.to_string())).collect();
    assert_eq!(fields[0].0, "events");
    assert_eq!(fields[1], ("url", "must use https (webhooks.allow_private_targets is off)".to_owned()));

    let error = service.create(draft("ftp://x", &[]), &actor()).await.unwrap_err();
    let WebhookError::Validation(errors) = error else { panic!("{error:?}") };
    let fields: Vec<&str> = errors.fields().iter().map(|f| f.field).collect();
    assert_eq!(fields, ["url", "events"], "an unreadable URL is not looked up");
    let many: Vec<&str> = vec!["order.created"; MAX_EVENT_PATTERNS + 1];
    let error = service.create(draft("ftp://x", &many), &actor()).await.unwrap_err();
    assert!(error.to_string().contains("at most 20 items"), "{error}");
    let error = service.create(draft("ftp://x", &["order.created,customer.created"]), &actor()).await.unwrap_err();
    assert!(error.to_string().contains("events must be an event type"), "{error}");
}

#[tokio::test]
async fn rotation_rereads_when_another_writer_won_and_keeps_the_old_secret_signing() {
    let stored = endpoint(now());
    let mut endpoints = MockWebhookEndpointRepository::new();
    let found = stored.clone();
    endpoints.expect_find().times(2).returning(move |_| Ok(Some(found.clone())));
    let mut tries = 0;
    endpoints.expect_store().times(2).returning(move |version, next| {
        tries += 1;
        assert_eq!(version, 0);
        assert_eq!(next.audit().version, 1);
        Ok(tries == 2)
    });
    let service = service(endpoints, MockWebhookDeliveryRepository::new(), MockWebhookSender::new());
    let rotated = service.rotate_secret(stored.id(), &actor()).await.expect("rotated");
    assert_ne!(rotated.secret(), stored.secret());
    assert_eq!(rotated.signing_secrets(now()), [rotated.secret(), stored.secret()]);
}

#[tokio::test]
async fn a_test_is_signed_sent_and_logged_even_for_a_disabled_endpoint() {
    let stored = endpoint(now());
    let secret = stored.secret().expose().to_owned();
    let mut endpoints = MockWebhookEndpointRepository::new();
    endpoints.expect_find().returning(move |_| Ok(Some(stored.clone())));
    let mut sender = MockWebhookSender::new();
    sender.expect_send().times(1).returning(move |request| {
        assert_eq!(
            verify_signature(&request.signature, &secret, &request.body, now().timestamp(), 300),
            Ok(now().timestamp())
        );
        assert!(String::from_utf8_lossy(&request.body).contains(&request.event_id.to_string()));
        SendResult { status: Ok(202), duration: StdDuration::from_millis(5) }
    });
    let mut deliveries = MockWebhookDeliveryRepository::new();
    deliveries.expect_log_attempt().times(1).returning(|attempt| {
        assert_eq!((attempt.status_code, attempt.outcome), (Some(202), AttemptOutcome::Delivered));
        Ok(())
    });
    let service = service(endpoints, deliveries, sender);
    let id = WebhookEndpointId::generate();
    let result = service.test(id).await.expect("tested");
    assert_eq!(result.attempt.event_id, result.event_id);
}

#[tokio::test]
async fn unknown_endpoints_are_not_found() {
    let mut endpoints = MockWebhookEndpointRepository::new();
    endpoints.expect_find().returning(|_| Ok(None));
    endpoints.expect_delete().returning(|_| Ok(false));
    let service = service(endpoints, MockWebhookDeliveryRepository::new(), MockWebhookSender::new());
    let id = WebhookEndpointId::generate();
    assert!(matches!(service.get(id).await, Err(WebhookError::NotFound(_))));
    assert!(matches!(service.delete(id).await, Err(WebhookError::NotFound(_))));
    assert!(matches!(service.test(id).await, Err(WebhookError::NotFound(_))));
    assert!(matches!(service.deliveries(id, PageRequest::default()).await, Err(WebhookError::NotFound(_))));
    assert!(matches!(service.enable(id, &actor()).await, Err(WebhookError::NotFound(_))));
}

/// A dispatcher over one endpoint and one event, with a delivery of it claimed at `at`.
struct Fixture {
    endpoint: WebhookEndpoint,
    event: Event,
    delivery: Delivery,
}

impl Fixture {
    fn new(endpoint: WebhookEndpoint, at: DateTime<Utc>) -> Self {
        let mut event = customer_event(now());
        event.kind = EventType::CustomerCreated;
        let everything = WebhookEndpoint::restore(
            endpoint.id(),
            endpoint.url().clone(),
            EventSelector::all(),
            None,
            endpoint.secret().clone(),
            endpoint.previous_secret().cloned(),
            endpoint.disabled().cloned(),
            endpoint.audit().clone(),
        );
        let delivery = Delivery::route(&everything, event.id, event.kind, now(), now()).expect("route");
        let claim = Claim { worker: "w".into(), now: at, lease_until: at + WebhookDispatcher::lease() };
        Self { endpoint: everything, event, delivery: delivery.claim(&claim).expect("due") }
    }

    fn dispatcher(
        &self,
        endpoints: MockWebhookEndpointRepository,
        deliveries: MockWebhookDeliveryRepository,
        sender: MockWebhookSender,
        metrics: MockOutboxMetrics,
        at: DateTime<Utc>,
    ) -> WebhookDispatcher {
        let mut events = MockEventRepository::new();
        let event = self.event.clone();
        events.expect_find().returning(move |_| Ok(Some(event.clone())));
        let policy = WebhookRetryPolicy::default().retrying_for(StdDuration::from_secs(3600));
        WebhookDispatcher::new(
            Arc::new(endpoints),
            Arc::new(deliveries),
            Arc::new(events),
            Arc::new(sender),
            Arc::new(Encoder),
            clock(at),
            Arc::new(metrics),
            policy,
            "w",
        )
    }

    fn deliveries(&self) -> MockWebhookDeliveryRepository {
        let mut deliveries = MockWebhookDeliveryRepository::new();
        deliveries.expect_route().returning(|_, _| Ok(1));
        let claimed = self.delivery.clone();
        deliveries.expect_claim_due().times(1).returning(move |claim, limit| {
            assert_eq!((claim.worker.as_str(), limit), ("w", u64::from(WebhookDispatcher::BATCH)));
            Ok(vec![claimed.clone()])
        });
        deliveries
    }

    fn endpoints(&self) -> MockWebhookEndpointRepository {
        let mut endpoints = MockWebhookEndpointRepository::new();
        let endpoint = self.endpoint.clone();
        endpoints.expect_find().returning(move |_| Ok(Some(endpoint.clone())));
        endpoints
    }
}

#[tokio::test]
async fn the_dispatcher_signs_the_exact_body_it_sends_and_records_a_2xx_as_delivered() {
    let fixture = Fixture::new(endpoint(now()), now());
    let secret = fixture.endpoint.secret().expose().to_owned();
    let event_id = fixture.event.id;
    let mut sender = MockWebhookSender::new();
    sender.expect_send().times(1).returning(move |request| {
        assert_eq!(request.event_id, event_id);
        assert!(request.signature.starts_with(&format!("t={},v1=", now().timestamp())), "{SIGNATURE_HEADER}");
        assert!(verify_signature(&request.signature, &secret, &request.body, now().timestamp(), 300).is_ok());
        SendResult { status: Ok(200), duration: StdDuration::from_millis(9) }
    });
    let mut deliveries = fixture.deliveries();
    let version = fixture.delivery.version();
    deliveries.expect_store().times(1).returning(move |previous, next, attempt| {
        assert_eq!(previous, version);
        assert_eq!(next.status(), DeliveryStatus::Delivered);
        let attempt = attempt.expect("logged");
        assert_eq!((attempt.status_code, attempt.duration_ms, attempt.number), (Some(200), 9, 1));
        Ok(true)
    });
    let metrics = counting(AttemptOutcome::Delivered);
    let dispatcher = fixture.dispatcher(fixture.endpoints(), deliveries, sender, metrics, now());
    assert_eq!(dispatcher.run_once().await.expect("ran"), 2, "one event routed, one delivery sent");
}

#[tokio::test]
async fn a_delivery_failing_at_the_end_of_its_window_disables_its_endpoint_with_the_reason() {
    let end = now() + chrono::Duration::hours(1);
    let fixture = Fixture::new(endpoint(now()), end);
    let mut sender = MockWebhookSender::new();
    sender.expect_send().returning(|_| SendResult { status: Ok(500), duration: StdDuration::from_millis(3) });
    let mut deliveries = fixture.deliveries();
    deliveries.expect_store().times(1).returning(|_, next, attempt| {
        assert_eq!(next.status(), DeliveryStatus::Failed);
        assert_eq!(attempt.map(|a| a.outcome), Some(AttemptOutcome::Failed));
        Ok(true)
    });
    deliveries.expect_last_success().returning(|_| Ok(None));
    let mut endpoints = fixture.endpoints();
    let disabled = Arc::new(Mutex::new(None));
    let seen = disabled.clone();
    endpoints.expect_store().times(1).returning(move |version, next| {
        assert_eq!(version, 0);
        *seen.lock().expect("lock") = Some(next.clone());
        Ok(true)
    });
    let dispatcher = fixture.dispatcher(endpoints, deliveries, sender, counting(AttemptOutcome::Failed), end);
    dispatcher.run_once().await.expect("ran");
    let disabled = disabled.lock().expect("lock").clone().expect("endpoint stored");
    assert_eq!(disabled.status(), EndpointStatus::Disabled);
    let reason = &disabled.disabled().expect("why").reason;
    assert!(reason.starts_with("deliveries kept failing for 1 hour") && reason.contains("HTTP 500"), "{reason}");
}

#[tokio::test]
async fn a_delivery_of_a_disabled_endpoint_is_abandoned_unsent() {
    let fixture = Fixture::new(endpoint(now()), now());
    let window = StdDuration::from_secs(60);
    let policy = WebhookRetryPolicy::default().retrying_for(window);
    let mut failed = Delivery::route(&fixture.endpoint, fixture.event.id, fixture.event.kind, now(), now()).expect("r");
    let claim = Claim {
        worker: "x".into(),
        now: now() + chrono::Duration::seconds(60),
        lease_until: now() + chrono::Duration::hours(1),
    };
    failed = failed.claim(&claim).expect("due");
    let result = SendResult { status: Ok(500), duration: StdDuration::ZERO };
    let (failed, _) = failed.record_attempt("x", &result, &policy, claim.now).expect("held");
    let disabled = fixture.endpoint.disable_after(&failed, window, None, claim.now).expect("disabled");

    let mut endpoints = MockWebhookEndpointRepository::new();
    endpoints.expect_find().returning(move |_| Ok(Some(disabled.clone())));
    let mut deliveries = fixture.deliveries();
    deliveries.expect_store().times(1).returning(|_, next, attempt| {
        assert_eq!(next.status(), DeliveryStatus::Failed);
        assert!(next.last_error().is_some_and(|e| e.contains("disabled")));
        assert!(attempt.is_none(), "nothing was sent");
        Ok(true)
    });
    let dispatcher =
        fixture.dispatcher(endpoints, deliveries, MockWebhookSender::new(), MockOutboxMetrics::new(), now());
    dispatcher.run_once().await.expect("ran");
}

#[tokio::test]
async fn a_stopping_dispatcher_releases_its_claims_unsent() {
    let fixture = Fixture::new(endpoint(now()), now());
    let mut deliveries = fixture.deliveries();
    deliveries.expect_store().times(1).returning(|_, next, attempt| {
        assert_eq!(next.status(), DeliveryStatus::Pending);
        assert!(attempt.is_none());
        Ok(true)
    });
    let (sender, metrics) = (MockWebhookSender::new(), MockOutboxMetrics::new());
    let dispatcher = fixture.dispatcher(fixture.endpoints(), deliveries, sender, metrics, now());
    assert_eq!(dispatcher.run_once_unless(&|| true).await.expect("ran"), 1, "routed only");
}

//! Every rule of endpoints, deliveries and signatures, without storage or network.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::EventType;
use crate::notification::Claim;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).single().expect("time") + Duration::seconds(seconds)
}

fn secret(byte: u8) -> WebhookSecret {
    WebhookSecret::from_random([byte; 32])
}

fn endpoint(patterns: &str) -> WebhookEndpoint {
    WebhookEndpoint::new(
        WebhookUrl::parse("https://hooks.example.com/orderdesk").expect("url"),
        EventSelector::parse_list(patterns).expect("patterns"),
        None,
        secret(1),
        at(0),
        &Actor::new("auth0|owner"),
    )
}

fn claimed(delivery: &Delivery, now: DateTime<Utc>) -> Delivery {
    let claim = Claim { worker: "w".into(), now, lease_until: now + Duration::seconds(130) };
    delivery.claim(&claim).expect("due")
}

fn answer(status: Result<u16, &str>) -> SendResult {
    SendResult { status: status.map_err(str::to_owned), duration: StdDuration::from_millis(42) }
}

#[test]
fn urls_must_be_absolute_http_or_https_without_spaces_and_at_most_2048_characters() {
    for good in ["https://hooks.example.com/x", "HTTP://127.0.0.1:9000/hook?a=b", "  https://a.example/  "] {
        assert!(WebhookUrl::parse(good).is_ok(), "{good}");
    }
    assert_eq!(WebhookUrl::parse(" "), Err(InvalidValue::Empty));
    for bad in
        ["ftp://x.example", "hooks.example.com", "https://a b.example", "https://x\u{7}", "//x.example", "https:x"]
    {
        assert_eq!(WebhookUrl::parse(bad), Err(InvalidValue::WebhookUrl), "{bad}");
    }
    let long = format!("https://x.example/{}", "a".repeat(2048));
    assert_eq!(WebhookUrl::parse(&long), Err(InvalidValue::TooLong { max: 2048 }));
}

#[test]
fn secrets_are_whsec_and_64_hex_digits_and_never_debug_printed() {
    let s = WebhookSecret::from_random([0xab; 32]);
    assert_eq!(s.expose(), format!("whsec_{}", "ab".repeat(32)));
    assert!(!format!("{s:?}").contains("abab"));
    assert_eq!(WebhookSecret::from_stored(s.expose()), Ok(s));
    assert_eq!(WebhookSecret::from_stored("whsec_short"), Err(InvalidValue::WebhookSecret));
    assert_eq!(WebhookSecret::from_stored(&"x".repeat(70)), Err(InvalidValue::WebhookSecret));
}

#[test]
fn descriptions_are_visible_text_of_at_most_200_characters() {
    assert_eq!(WebhookDescription::parse(" ERP sync ").expect("ok").as_str(), "ERP sync");
    assert_eq!(WebhookDescription::parse(&"a".repeat(201)), Err(InvalidValue::TooLong { max: 200 }));
    assert_eq!(WebhookDescription::parse("\u{202E}gnp"), Err(InvalidValue::InvisibleText));
}

#[test]
fn an_endpoint_wants_selected_types_of_events_after_its_creation_while_enabled() {
    let orders = endpoint("order.*,customer.created");
    assert!(orders.wants(EventType::OrderStatusChanged, at(1)));
    assert!(orders.wants(EventType::CustomerCreated, at(0)));
    assert!(!orders.wants(EventType::CustomerUpdated, at(1)));
    assert!(!orders.wants(EventType::OrderCreated, at(-1)), "no backlog from before the endpoint existed");
    assert!(Delivery::route(&orders, EventId::generate(), EventType::OrderCreated, at(1), at(2)).is_some());
    assert!(Delivery::route(&orders, EventId::generate(), EventType::NotificationSent, at(1), at(2)).is_none());
}

#[test]
fn a_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new_one() {
    let before = endpoint("*");
    let actor = Actor::new("auth0|owner");
    let rotated = before.rotate(secret(2), at(100), &actor);
    assert_eq!(rotated.secret(), &secret(2));
    assert_eq!(rotated.audit().version, before.audit().version + 1);
    assert_eq!(rotated.signing_secrets(at(100)), [&secret(2), &secret(1)]);
    assert_eq!(rotated.signing_secrets(at(100 + 24 * 3600 - 1)), [&secret(2), &secret(1)]);
    assert_eq!(rotated.signing_secrets(at(100 + 24 * 3600)), [&secret(2)]);
    // A second rotation within the overlap keeps two secrets: the newest and the one it replaced.
    let again = rotated.rotate(secret(3), at(200), &actor);
    assert_eq!(again.signing_secrets(at(200)), [&secret(3), &secret(2)]);
}

#[test]
fn the_signature_header_has_a_timestamp_and_one_v1_per_signing_secret_and_verifies() {
    let body = br#"{"id":"e","type":"order.created"}"#;
    let (current, previous) = (secret(2), secret(1));
    let header = signature_header(&[&current, &previous], 1_764_493_200, body);
    let parts: Vec<&str> = header.split(',').collect();
    assert_eq!(parts[0], "t=1764493200");
    assert_eq!(parts.len(), 3);
    assert!(parts[1..].iter().all(|p| p.starts_with("v1=") && p.len() == 3 + 64), "{header}");
    assert_ne!(parts[1], parts[2]);
    for s in [&current, &previous] {
        assert_eq!(verify_signature(&header, s.expose(), body, 1_764_493_200 + 10, 300), Ok(1_764_493_200));
    }
    assert_eq!(verify_signature(&header, secret(9).expose(), body, 1_764_493_200, 300), Err(SignatureError::NoMatch));
    assert_eq!(
        verify_signature(&header, current.expose(), b"{}", 1_764_493_200, 300),
        Err(SignatureError::NoMatch),
        "another body"
    );
    assert_eq!(verify_signature(&header, current.expose(), body, 1_764_493_200 + 301, 300), Err(SignatureError::Stale));
    for malformed in ["v1=00", "t=1", "t=x,v1=00", "t=1,v1=0g", "t=1,v1=+f", "nonsense"] {
        assert_eq!(verify_signature(malformed, current.expose(), body, 1, 300), Err(SignatureError::Malformed));
    }
}

#[test]
fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_lowercase_hex() {
    // Computed independently with openssl and with Python's hmac module:
    // printf %s 1700000000.{} | openssl dgst -sha256 -hmac "whsec_$(printf '01%.0s' $(seq 32))"
    let header = signature_header(&[&secret(1)], 1_700_000_000, b"{}");
    assert_eq!(header, "t=1700000000,v1=322181519a8015fa2170c8208170791658b7eb000379dde64ae5649d4718e07f");
}

#[test]
fn backoff_doubles_from_30_seconds_caps_at_6_hours_and_never_passes_the_window() {
    let policy = WebhookRetryPolicy::default();
    let id = DeliveryId::generate();
    for (attempt, base) in [(1, 30), (2, 60), (3, 120), (10, 15_360), (11, 6 * 3600), (40, 6 * 3600)] {
        let delay = policy.backoff(id, attempt).num_milliseconds();
        assert!(delay > base * 800 - 1 && delay < base * 1000, "attempt {attempt}: {delay} ms for {base} s");
    }
    let created = at(0);
    let window = 72 * 3600;
    assert_eq!(policy.next_attempt(id, 1, created, at(window - 10)), Some(at(window)), "the last try is at the end");
    assert_eq!(policy.next_attempt(id, 1, created, at(window)), None);
    // A whole window of failures is about twenty attempts.
    let (mut now, mut attempts) = (created, 1);
    while let Some(next) = policy.next_attempt(id, attempts, created, now) {
        now = next;
        attempts += 1;
    }
    assert!((18..=24).contains(&attempts), "{attempts} attempts");
}

#[test]
fn a_2xx_is_delivered_anything_else_is_retried_until_the_window_ends_then_failed() {
    let policy = WebhookRetryPolicy::default().retrying_for(StdDuration::from_secs(3600));
    let orders = endpoint("order.*");
    let delivery = Delivery::route(&orders, EventId::generate(), EventType::OrderCreated, at(1), at(1)).expect("route");
    assert!(delivery.is_due(at(1)));

    let sending = claimed(&delivery, at(1));
    assert_eq!(sending.status(), DeliveryStatus::Sending);
    assert!(!sending.is_due(at(2)), "held by its lease");
    assert!(sending.is_due(at(200)), "taken over once the lease expired");

    let (retry, attempt) = sending.record_attempt("w", &answer(Ok(500)), &policy, at(2)).expect("held");
    assert_eq!((retry.status(), retry.attempts(), retry.last_status_code()), (DeliveryStatus::Pending, 1, Some(500)));
    assert_eq!(
        (attempt.outcome, attempt.status_code, attempt.error.as_deref()),
        (AttemptOutcome::Retry, Some(500), None)
    );
    assert_eq!((attempt.number, attempt.duration_ms, attempt.event_type.as_str()), (1, 42, "order.created"));
    assert!(retry.next_attempt_at() > at(2) && !retry.is_due(at(2)));

    let sending = claimed(&retry, retry.next_attempt_at());
    let refused = answer(Err("connection refused"));
    let (again, attempt) = sending.record_attempt("w", &refused, &policy, at(60)).expect("held");
    assert_eq!(
        (again.status(), again.last_status_code(), again.last_error()),
        (DeliveryStatus::Pending, None, Some("connection refused"))
    );
    assert_eq!(attempt.number, 2);

    let sending = claimed(&again, again.next_attempt_at());
    let (done, attempt) = sending.record_attempt("w", &answer(Ok(204)), &policy, at(200)).expect("held");
    assert_eq!((done.status(), attempt.outcome), (DeliveryStatus::Delivered, AttemptOutcome::Delivered));
    assert!(!done.is_due(at(10_000)));

    let late = claimed(&again, again.next_attempt_at());
    let (failed, attempt) = late.record_attempt("w", &answer(Ok(500)), &policy, at(3601)).expect("held");
    assert_eq!((failed.status(), attempt.outcome), (DeliveryStatus::Failed, AttemptOutcome::Failed));
    assert!(!failed.is_due(at(100_000)));
}

#[test]
fn only_the_lease_holder_records_releases_or_abandons() {
    let policy = WebhookRetryPolicy::default();
    let delivery =
        Delivery::route(&endpoint("*"), EventId::generate(), EventType::OrderCreated, at(1), at(1)).expect("route");
    let sending = claimed(&delivery, at(1));
    assert_eq!(sending.record_attempt("other", &answer(Ok(200)), &policy, at(2)), Err(DeliveryLeaseLost));
    assert_eq!(delivery.record_attempt("w", &answer(Ok(200)), &policy, at(2)), Err(DeliveryLeaseLost));
    assert!(sending.release("other", at(2)).is_none());
    let released = sending.release("w", at(2)).expect("held");
    assert!(released.is_due(at(2)) && released.version() == sending.version() + 1);
    let abandoned = sending.abandon("w", "the endpoint was disabled", at(2)).expect("held");
    assert_eq!(
        (abandoned.status(), abandoned.last_error()),
        (DeliveryStatus::Failed, Some("the endpoint was disabled"))
    );
}

#[test]
fn a_delivery_failing_its_whole_window_disables_the_endpoint_unless_it_succeeded_since() {
    let window = StdDuration::from_secs(72 * 3600);
    let policy = WebhookRetryPolicy::default().retrying_for(window);
    let orders = endpoint("order.*");
    let delivery = Delivery::route(&orders, EventId::generate(), EventType::OrderCreated, at(1), at(1)).expect("route");
    let end = at(1 + 72 * 3600);
    let (failed, _) = claimed(&delivery, end).record_attempt("w", &answer(Ok(500)), &policy, end).expect("held");

    let disabled = orders.disable_after(&failed, window, None, end).expect("disabled");
    assert_eq!(disabled.status(), EndpointStatus::Disabled);
    let reason = &disabled.disabled().expect("reason").reason;
    assert!(reason.contains("72 hours") && reason.contains("HTTP 500"), "{reason}");
    assert_eq!(disabled.audit().version, orders.audit().version + 1);
    assert_eq!(disabled.audit().updated_by, orders.audit().updated_by, "the system changed it, not a person");
    assert!(!disabled.wants(EventType::OrderCreated, end));

    assert!(
        orders.disable_after(&failed, window, Some(at(3600)), end).is_none(),
        "a 2xx since: not failing throughout"
    );
    assert!(orders.disable_after(&failed, window, Some(at(0)), end).is_some(), "a 2xx before it does not count");
    assert!(disabled.disable_after(&failed, window, None, end).is_none(), "disabled once");
    assert!(orders.disable_after(&delivery, window, None, end).is_none(), "only a failed delivery disables");

    let enabled = disabled.enable(at(200_000), &Actor::new("auth0|fixer")).expect("enabled");
    assert_eq!(enabled.status(), EndpointStatus::Enabled);
    assert_eq!(enabled.audit().updated_by.as_deref(), Some("auth0|fixer"));
    assert!(enabled.enable(at(200_001), &Actor::new("auth0|fixer")).is_none(), "already enabled");
}

#[test]
fn windows_are_described_in_the_largest_whole_unit() {
    assert_eq!(describe_duration(StdDuration::from_secs(72 * 3600)), "72 hours");
    assert_eq!(describe_duration(StdDuration::from_secs(3600)), "1 hour");
    assert_eq!(describe_duration(StdDuration::from_secs(90 * 60)), "90 minutes");
    assert_eq!(describe_duration(StdDuration::from_secs(3)), "3 seconds");
    assert_eq!(describe_duration(StdDuration::from_millis(1500)), "1.5 seconds");
}

#[test]
fn a_test_attempt_is_delivered_on_2xx_and_failed_otherwise() {
    let test = WebhookTestEvent { id: EventId::generate(), created_at: at(0), endpoint: endpoint("*") };
    let ok = DeliveryAttempt::test(&test, &answer(Ok(200)), at(1));
    assert_eq!(
        (ok.outcome, ok.delivery_id, ok.event_type.as_str()),
        (AttemptOutcome::Delivered, None, "webhook_endpoint.test")
    );
    let refused = DeliveryAttempt::test(&test, &answer(Err("refused: loopback")), at(1));
    assert_eq!(
        (refused.outcome, refused.status_code, refused.error.as_deref()),
        (AttemptOutcome::Failed, None, Some("refused: loopback"))
    );
}

use std::time::Duration;

use orderdesk_adapters::sms::AfricasTalkingSmsGateway;
use orderdesk_adapters::testing::africastalking::{FakeAfricasTalking, Mode};
use orderdesk_domain::notification::SmsError;
use orderdesk_domain::ports::SmsGateway;
use orderdesk_domain::{PhoneNumber, PhoneRegion};

fn phone(number: &str) -> PhoneNumber {
    PhoneNumber::parse(number, PhoneRegion::default()).unwrap()
}

fn gateway(fake: &FakeAfricasTalking, timeout_ms: u64) -> AfricasTalkingSmsGateway {
    AfricasTalkingSmsGateway::new(&fake.settings(), Duration::from_millis(timeout_ms)).unwrap()
}

#[tokio::test]
async fn an_accepted_sms_returns_the_provider_id_and_cost() {
    let fake = FakeAfricasTalking::start().await;
    let receipt = gateway(&fake, 2_000).send(&phone("+254712345678"), "Order ABC received").await.unwrap();
    assert!(receipt.message_id.starts_with("ATXid_"));
    assert_eq!(receipt.cost.map(|c| (c.currency().code(), c.micros())), Some(("KES", 800_000)));
    assert_eq!((receipt.parts, receipt.unreadable_cost), (Some(1), None));
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!((accepted[0].to.as_str(), accepted[0].message.as_str()), ("+254712345678", "Order ABC received"));
}

#[tokio::test]
async fn the_request_trace_goes_to_the_provider_and_other_sends_start_their_own() {
    let fake = FakeAfricasTalking::start().await;
    let gateway = gateway(&fake, 2_000);
    let (span, request) = crate::request_span();
    let to = phone("+254712345678");
    orderdesk_adapters::trace_context::in_scope(span, gateway.send(&to, "a")).await.unwrap();
    gateway.send(&to, "b").await.unwrap();
    let seen = fake.traceparents().await;
    assert_eq!(seen[0], request);
    assert_eq!(seen[1].len(), 55, "{seen:?}");
    assert!(seen[1].starts_with("00-") && !seen[1].contains("4bf92f3577b34da6a3ce929d0e0e4736"), "{seen:?}");
}

#[tokio::test]
async fn each_per_recipient_failure_is_classified() {
    let fake = FakeAfricasTalking::start().await;
    let gateway = gateway(&fake, 2_000);
    // The fake fails a number whose last three digits are the status code.
    let cases = [
        ("+254712345401", "permanent"), // RiskHold
        ("+254712345403", "permanent"), // InvalidPhoneNumber
        ("+254712345404", "permanent"), // UnsupportedNumberType
        ("+254712345405", "permanent"), // InsufficientBalance
        ("+254712345406", "permanent"), // UserInBlacklist
        ("+254712345407", "retryable"), // CouldNotRoute
        ("+254712345500", "retryable"), // InternalServerError
        ("+254712345501", "retryable"), // GatewayError
        ("+254712345502", "permanent"), // RejectedByGateway
    ];
    for (number, class) in cases {
        let error = gateway.send(&phone(number), "hi").await.unwrap_err();
        let actual = match error {
            SmsError::Permanent(_) => "permanent",
            SmsError::Retryable(_) => "retryable",
            SmsError::Ambiguous(_) => "ambiguous",
        };
        assert_eq!(actual, class, "{number}: {error}");
    }
    assert!(fake.accepted().is_empty());
}

#[tokio::test]
async fn outages_and_bad_credentials_are_classified() {
    let fake = FakeAfricasTalking::start().await;
    let to = phone("+254712345678");

    fake.set_mode(Mode::Unauthorized);
    let error = gateway(&fake, 2_000).send(&to, "hi").await.unwrap_err();
    assert!(matches!(&error, SmsError::Permanent(reason) if reason.contains("401")), "{error}");
    assert!(!error.to_string().contains(orderdesk_adapters::testing::africastalking::API_KEY), "the key never shows");

    fake.set_mode(Mode::Down);
    assert!(matches!(gateway(&fake, 2_000).send(&to, "hi").await, Err(SmsError::Retryable(_))));

    // A 2xx that cannot be read may hide an accepted send: unclear, retried at most once.
    fake.set_mode(Mode::NotAvailable);
    let error = gateway(&fake, 2_000).send(&to, "hi").await.unwrap_err();
    assert!(matches!(&error, SmsError::Ambiguous(reason) if reason.contains("currently not available")), "{error}");

    fake.set_mode(Mode::Slow(Duration::from_millis(800)));
    assert!(matches!(gateway(&fake, 200).send(&to, "hi").await, Err(SmsError::Ambiguous(_))));

    fake.set_mode(Mode::Normal);
    assert!(gateway(&fake, 2_000).send(&to, "hi").await.is_ok(), "recovers");
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_fake_like_the_real_api() {
    let fake = FakeAfricasTalking::start().await;
    let mut settings = fake.settings();
    settings.api_key = Some(orderdesk_adapters::secret::Secret::new("wrong"));
    let gateway = AfricasTalkingSmsGateway::new(&settings, Duration::from_secs(2)).unwrap();
    assert!(matches!(gateway.send(&phone("+254712345678"), "hi").await, Err(SmsError::Permanent(_))));
}

#[tokio::test]
async fn unreachable_provider_is_retryable() {
    let mut settings = orderdesk_adapters::sms::AfricasTalkingSettings {
        api_key: Some(orderdesk_adapters::secret::Secret::new("k")),
        ..Default::default()
    };
    settings.base_url = "http://127.0.0.1:9".into();
    let gateway = AfricasTalkingSmsGateway::new(&settings, Duration::from_secs(2)).unwrap();
    assert!(matches!(gateway.send(&phone("+254712345678"), "hi").await, Err(SmsError::Retryable(_))));
}

#[tokio::test]
async fn an_accepted_send_without_a_message_id_or_with_an_endless_answer_is_an_unclear_outcome() {
    let fake = FakeAfricasTalking::start().await;
    let to = phone("+254712345678");
    fake.set_mode(Mode::AcceptedWithoutId);
    let error = gateway(&fake, 2_000).send(&to, "hi").await.unwrap_err();
    assert!(matches!(&error, SmsError::Ambiguous(reason) if reason.contains("without a message id")), "{error}");
    fake.set_mode(Mode::Oversized);
    let error = gateway(&fake, 5_000).send(&to, "hi").await.unwrap_err();
    assert!(matches!(&error, SmsError::Ambiguous(reason) if reason.contains("longer than")), "{error}");
    assert_eq!(fake.accepted().len(), 2, "both were sent: retrying freely would text twice");
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_key_never_reaches_the_other_host() {
    let fake = FakeAfricasTalking::start().await;
    let elsewhere = wiremock::MockServer::start().await;
    fake.set_mode(Mode::Redirect(format!("{}/version1/messaging", elsewhere.uri())));
    let error = gateway(&fake, 2_000).send(&phone("+254712345678"), "hi").await.unwrap_err();
    assert!(matches!(&error, SmsError::Permanent(reason) if reason.contains("307")), "{error}");
    assert!(elsewhere.received_requests().await.unwrap_or_default().is_empty(), "nothing reached the other host");
}

#[tokio::test]
async fn the_cost_is_exact_money_per_part_and_an_odd_one_never_fails_the_send() {
    let fake = FakeAfricasTalking::start().await;
    let gateway = gateway(&fake, 2_000);
    let to = phone("+254712345678");
    // 200 GSM-7 characters are two parts: KES 1.6000.
    let long = gateway.send(&to, &"x".repeat(200)).await.unwrap();
    assert_eq!(long.parts, Some(2));
    assert_eq!(long.cost.map(|c| c.to_string()).as_deref(), Some("KES 1.60"));
    for (written, kept) in [
        (serde_json::json!("KES 0,80"), "KES 0,80"),
        (serde_json::json!("kes 0.8000"), "kes 0.8000"),
        (serde_json::json!(0.8), "0.8"),
    ] {
        fake.set_cost(Some(written));
        let receipt = gateway.send(&to, "hi").await.expect("the send stands");
        assert_eq!((receipt.cost, receipt.unreadable_cost.as_deref()), (None, Some(kept)));
        assert!(receipt.message_id.starts_with("ATXid_"));
    }
    fake.set_cost(Some(serde_json::json!("0")));
    let free = gateway.send(&to, "hi").await.unwrap();
    assert_eq!((free.cost, free.unreadable_cost), (None, None), "\"0\" is no charge");
}

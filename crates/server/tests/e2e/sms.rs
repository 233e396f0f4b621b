use std::time::{Duration, Instant};

use orderdesk_adapters::secret::Secret;
use orderdesk_adapters::sms::SmsProvider;
use orderdesk_adapters::testing::africastalking::{FakeAfricasTalking, Mode};
use orderdesk_adapters::testing::{Backend, with_database};
use orderdesk_server::settings::Settings;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const SECRET: &str = "e2e-webhook-secret-0123456789";

fn with_fake(fake: &FakeAfricasTalking) -> impl FnOnce(&mut Settings) + '_ {
    move |s| {
        s.sms.provider = Some(SmsProvider::Africastalking);
        s.sms.africastalking = fake.settings();
        s.sms.webhook_secret = Some(Secret::new(SECRET));
        s.sms.initial_backoff_ms = 100;
        s.sms.max_backoff_ms = 200;
        s.sms.request_timeout_ms = 2_000;
        s.sms.poll_interval_ms = 100;
    }
}

async fn notifications(app: &TestApp, order: &Value) -> Vec<Value> {
    let url = app.url(&format!("/api/v1/orders/{}/notifications", order["id"].as_str().unwrap()));
    let list: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

async fn wait_for_status(app: &TestApp, order: &Value, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let items = notifications(app, order).await;
        if items[0]["status"] == status || Instant::now() > deadline {
            return items[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn report(app: &TestApp, secret: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let url = app.url(&format!("/webhooks/africastalking/delivery-reports/{secret}"));
    app.anonymous.post(url).form(form).send().await.unwrap()
}

#[tokio::test]
async fn a_new_order_is_texted_within_a_second_and_its_delivery_report_lands() {
    let fake = FakeAfricasTalking::start().await;
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, with_fake(&fake)).await;
        let customer: Value = app.post_customer("SMS-1").await.json().await.unwrap();
        let started = Instant::now();
        let response = app.post_order(&customer["id"], "250.50").await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let order: Value = response.json().await.unwrap();

        let accepted = fake.wait_for_accepted(1, Duration::from_secs(1)).await;
        assert_eq!(accepted.len(), 1, "sent within a second");
        let elapsed = started.elapsed();
        assert_eq!(accepted[0].to, "+254712345678");
        assert!(accepted[0].message.contains("KES 250.50"), "{}", accepted[0].message);

        let sent = wait_for_status(&app, &order, "sent").await;
        assert_eq!(sent["provider_message_id"], accepted[0].message_id);
        assert_eq!(sent["attempt_log"][0]["outcome"], "sent");
        let message_id = accepted[0].message_id.clone();

        let interim = [
            ("id", message_id.as_str()),
            ("status", "Buffered"),
            ("phoneNumber", "+254712345678"),
            ("networkCode", "99999"),
        ];
        assert_eq!(report(&app, SECRET, &interim).await.status(), StatusCode::OK);
        let fine = [
            ("id", message_id.as_str()),
            ("status", "Success"),
            ("phoneNumber", "+254712345678"),
            ("networkCode", "99999"),
        ];
        assert_eq!(report(&app, SECRET, &fine).await.status(), StatusCode::OK);
        // Replayed and out of order: nothing changes.
        assert_eq!(report(&app, SECRET, &fine).await.status(), StatusCode::OK);
        assert_eq!(report(&app, SECRET, &interim).await.status(), StatusCode::OK);
        let bad_secret = report(&app, "not-the-secret", &[("id", message_id.as_str()), ("status", "Failed")]).await;
        assert_eq!(bad_secret.status(), StatusCode::UNAUTHORIZED);

        let delivered = wait_for_status(&app, &order, "delivered").await;
        assert_eq!(delivered["delivery_status"], "Success");
        assert_eq!(fake.accepted().len(), 1, "texted once");
        eprintln!("order to provider: {elapsed:?}");
    })
    .await;
}

#[tokio::test]
async fn the_provider_being_down_delays_but_never_loses_the_sms() {
    let fake = FakeAfricasTalking::start().await;
    fake.set_mode(Mode::Down);
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, with_fake(&fake)).await;
        let customer: Value = app.post_customer("SMS-2").await.json().await.unwrap();
        let response = app.post_order(&customer["id"], "10").await;
        assert_eq!(response.status(), StatusCode::CREATED, "the order does not wait for SMS");
        let order: Value = response.json().await.unwrap();

        let deadline = Instant::now() + Duration::from_secs(10);
        let waiting = loop {
            let current = notifications(&app, &order).await.remove(0);
            if current["attempts"].as_u64().unwrap_or(0) >= 1 || Instant::now() > deadline {
                break current;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(waiting["status"], "pending");
        assert!(waiting["attempts"].as_u64().unwrap() >= 1);
        assert!(waiting["last_error"].as_str().unwrap().contains("500"));

        fake.set_mode(Mode::Normal);
        let sent = wait_for_status(&app, &order, "sent").await;
        assert_eq!(sent["status"], "sent");
        assert_eq!(fake.accepted().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_permanent_failure_stops_and_a_person_can_retry_it() {
    let fake = FakeAfricasTalking::start().await;
    fake.set_mode(Mode::Unauthorized);
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, with_fake(&fake)).await;
        let customer: Value = app.post_customer("SMS-3").await.json().await.unwrap();
        let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
        let failed = wait_for_status(&app, &order, "failed").await;
        assert!(failed["last_error"].as_str().unwrap().contains("401"), "{failed}");
        assert_eq!(failed["attempts"], 1, "bad credentials are not retried");

        fake.set_mode(Mode::Normal);
        let url = app.url(&format!(
            "/api/v1/orders/{}/notifications/{}/retry",
            order["id"].as_str().unwrap(),
            failed["id"].as_str().unwrap()
        ));
        let retried = app.http.post(url).send().await.unwrap();
        assert_eq!(retried.status(), StatusCode::OK);
        wait_for_status(&app, &order, "sent").await;
        assert_eq!(fake.accepted().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn with_nothing_configured_sms_go_to_the_log() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("LOG").await.json().await.unwrap();
        let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
        let sent = wait_for_status(&app, &order, "sent").await;
        assert!(sent["provider_message_id"].as_str().unwrap().starts_with("log-"));
    })
    .await;
}

/// Regression: after a `Failed` report and a retry by hand, the re-sent message's `Success`
/// report was ignored as "stale", so the SMS could never be marked delivered.
#[tokio::test]
async fn a_retried_sms_is_marked_delivered_by_the_new_messages_report() {
    let fake = FakeAfricasTalking::start().await;
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, with_fake(&fake)).await;
        let customer: Value = app.post_customer("SMS-4").await.json().await.unwrap();
        let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
        let first = fake.wait_for_accepted(1, Duration::from_secs(5)).await[0].message_id.clone();
        wait_for_status(&app, &order, "sent").await;
        let failed = [("id", first.as_str()), ("status", "Failed"), ("failureReason", "DeliveryFailure")];
        assert_eq!(report(&app, SECRET, &failed).await.status(), StatusCode::OK);
        let undelivered = wait_for_status(&app, &order, "undelivered").await;

        let url = app.url(&format!(
            "/api/v1/orders/{}/notifications/{}/retry",
            order["id"].as_str().unwrap(),
            undelivered["id"].as_str().unwrap()
        ));
        assert_eq!(app.http.post(url.clone()).send().await.unwrap().status(), StatusCode::OK);
        let accepted = fake.wait_for_accepted(2, Duration::from_secs(5)).await;
        assert_eq!(accepted.len(), 2, "re-sent");
        let second = accepted[1].message_id.clone();
        assert_ne!(first, second);
        let resent = wait_for_status(&app, &order, "sent").await;
        assert_eq!(resent["provider_message_id"], second.as_str());

        // A late report about the first message changes nothing; the new message's lands.
        assert_eq!(report(&app, SECRET, &failed).await.status(), StatusCode::OK);
        assert_eq!(notifications(&app, &order).await[0]["status"], "sent");
        let fine = [("id", second.as_str()), ("status", "Success"), ("phoneNumber", "+254712345678")];
        assert_eq!(report(&app, SECRET, &fine).await.status(), StatusCode::OK);
        let delivered = wait_for_status(&app, &order, "delivered").await;
        assert_eq!(delivered["delivery_status"], "Success");
        assert_eq!(app.http.post(url).send().await.unwrap().status(), StatusCode::CONFLICT, "delivered is final");
    })
    .await;
}

async fn post_order_json(app: &TestApp, body: Value) -> reqwest::Response {
    app.http.post(app.url("/api/v1/orders")).json(&body).send().await.unwrap()
}

/// An outage of several attempts (5xx, then connection refused) only delays the SMS: with the
/// shipped retry window it is sent once the provider is back, exactly once.
#[tokio::test]
async fn an_outage_of_many_attempts_only_delays_the_sms_on_each_database() {
    for backend in orderdesk_adapters::testing::backends() {
        let fake = FakeAfricasTalking::start().await;
        fake.set_mode(Mode::Down);
        with_database(backend, |db| async move {
            let app = spawn_app_with(&db, with_fake(&fake)).await;
            let customer: Value = app.post_customer("OUT-1").await.json().await.unwrap();
            let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
            // More attempts than the old six-attempt budget allowed.
            let deadline = Instant::now() + Duration::from_secs(20);
            while fake.requests() < 8 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // The attempt the fake just answered may still be storing its outcome ("sending").
            let waiting = wait_for_status(&app, &order, "pending").await;
            assert_eq!(waiting["status"], "pending", "{waiting}");
            assert!(waiting["attempts"].as_u64().unwrap() >= 7, "{waiting}");
            fake.set_mode(Mode::Normal);
            let sent = wait_for_status(&app, &order, "sent").await;
            assert_eq!(sent["status"], "sent", "{sent}");
            assert_eq!(fake.accepted().len(), 1, "texted once");
        })
        .await;
    }
}

/// An accepted send whose answer names no message id may have gone out: it is retried at
/// most once, never until the window ends.
#[tokio::test]
async fn an_unclear_answer_is_retried_once_only() {
    for backend in orderdesk_adapters::testing::backends() {
        let fake = FakeAfricasTalking::start().await;
        fake.set_mode(Mode::AcceptedWithoutId);
        with_database(backend, |db| async move {
            let app = spawn_app_with(&db, with_fake(&fake)).await;
            let customer: Value = app.post_customer("AMB-1").await.json().await.unwrap();
            let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
            let failed = wait_for_status(&app, &order, "failed").await;
            assert_eq!(failed["attempts"], 2, "{failed}");
            assert!(failed["last_error"].as_str().unwrap().contains("not retried"), "{failed}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(fake.requests(), 2, "two sends at most, never six");
        })
        .await;
    }
}

/// A retry by hand after the phone was corrected texts the current number; each attempt
/// shows the number it used.
#[tokio::test]
async fn a_retry_after_the_phone_was_corrected_texts_the_current_number() {
    for backend in orderdesk_adapters::testing::backends() {
        let fake = FakeAfricasTalking::start().await;
        with_database(backend, |db| async move {
            let app = spawn_app_with(&db, with_fake(&fake)).await;
            // The fake refuses numbers ending in 403 as InvalidPhoneNumber.
            let body = serde_json::json!({"name": "Baraka", "code": "FIX-1", "phone": "0712 345 403"});
            let customer: Value =
                app.http.post(app.url("/api/v1/customers")).json(&body).send().await.unwrap().json().await.unwrap();
            let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
            let failed = wait_for_status(&app, &order, "failed").await;
            assert_eq!(failed["attempt_log"][0]["recipient"], "+254712345403");

            let url = app.url(&format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()));
            let fixed = app.http.patch(url).json(&serde_json::json!({"phone": "0733 111 222"})).send().await.unwrap();
            assert_eq!(fixed.status(), StatusCode::OK);
            let retry = app.url(&format!(
                "/api/v1/orders/{}/notifications/{}/retry",
                order["id"].as_str().unwrap(),
                failed["id"].as_str().unwrap()
            ));
            assert_eq!(app.http.post(retry).send().await.unwrap().status(), StatusCode::OK);
            let accepted = fake.wait_for_accepted(1, Duration::from_secs(5)).await;
            assert_eq!(accepted[0].to, "+254733111222");
            let sent = wait_for_status(&app, &order, "sent").await;
            assert_eq!(sent["recipient"], "+254733111222");
            let numbers: Vec<&str> =
                sent["attempt_log"].as_array().unwrap().iter().map(|a| a["recipient"].as_str().unwrap()).collect();
            assert_eq!(numbers, ["+254712345403", "+254733111222"]);
        })
        .await;
    }
}

/// A report that arrives before the send's answer is stored is kept and applied once it is;
/// reports match the number with or without `+`; a trailing slash reaches the same handler.
#[tokio::test]
async fn an_early_report_is_applied_when_the_message_id_is_stored() {
    for backend in orderdesk_adapters::testing::backends() {
        let fake = FakeAfricasTalking::start().await;
        // The provider holds its answer while the report overtakes it.
        fake.set_mode(Mode::Slow(Duration::from_millis(700)));
        with_database(backend, |db| async move {
            let app = spawn_app_with(&db, with_fake(&fake)).await;
            let customer: Value = app.post_customer("EARLY-1").await.json().await.unwrap();
            let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
            let accepted = fake.wait_for_accepted(1, Duration::from_secs(5)).await;
            let id = accepted[0].message_id.clone();
            assert_eq!(notifications(&app, &order).await[0]["status"], "sending", "the answer is still on its way");
            let url = app.url(&format!("/webhooks/africastalking/delivery-reports/{SECRET}/"));
            let form = [("id", id.as_str()), ("status", "Success"), ("phoneNumber", "254712345678")];
            let response = app.anonymous.post(url).form(&form).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "a trailing slash reaches the handler");
            let delivered = wait_for_status(&app, &order, "delivered").await;
            assert_eq!(delivered["delivery_status"], "Success", "{delivered}");
        })
        .await;
    }
}

/// Loading history does not text: `notify: false`, or an `ordered_at` older than
/// `sms.max_order_age_hours`.
#[tokio::test]
async fn historical_orders_are_stored_without_an_sms() {
    for backend in orderdesk_adapters::testing::backends() {
        let fake = FakeAfricasTalking::start().await;
        with_database(backend, |db| async move {
            let app = spawn_app_with(&db, with_fake(&fake)).await;
            let customer: Value = app.post_customer("OLD-1").await.json().await.unwrap();
            let id = &customer["id"];
            let quiet = serde_json::json!({"customer_id": id, "item": "Tea", "amount": "5", "notify": false});
            let old = serde_json::json!({"customer_id": id, "item": "Tea", "amount": "5", "ordered_at": "2025-01-02T09:00:00Z"});
            let null = serde_json::json!({"customer_id": id, "item": "Tea", "amount": "5", "notify": null});
            for body in [quiet, old] {
                let response = post_order_json(&app, body).await;
                assert_eq!(response.status(), StatusCode::CREATED);
                let order: Value = response.json().await.unwrap();
                assert!(notifications(&app, &order).await.is_empty(), "no SMS for {order}");
            }
            assert_eq!(post_order_json(&app, null).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let texted: Value = app.post_order(id, "5").await.json().await.unwrap();
            let sent = wait_for_status(&app, &texted, "sent").await;
            assert_eq!((sent["encoding"].as_str(), sent["segments"].as_u64()), (Some("gsm7"), Some(1)), "{sent}");
            assert_eq!(fake.accepted().len(), 1, "only the current order was texted");
        })
        .await;
    }
}

/// A typographic apostrophe is sent as `'`, and a non-GSM item is cut to one UCS-2 segment
/// (with a text short enough to leave room for one in UCS-2's 70 units).
#[tokio::test]
async fn items_are_sent_in_one_segment_as_gsm7_where_they_can_be() {
    let fake = FakeAfricasTalking::start().await;
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |s| {
            with_fake(&fake)(s);
            let short = "Order {reference}: {item}, {currency} {amount}, {date} {time}. Thanks!";
            s.sms.events.get_mut("order.created").unwrap().en = Some(short.into());
        })
        .await;
        let customer: Value = app.post_customer("SEG-1").await.json().await.unwrap();
        let id = &customer["id"];
        let shoes = serde_json::json!({"customer_id": id, "item": "Men’s shoes size 42", "amount": "5"});
        let long = "Чай ☕ ".repeat(20);
        let tea = serde_json::json!({"customer_id": id, "item": long.trim(), "amount": "5"});
        for body in [shoes, tea] {
            let order: Value = post_order_json(&app, body).await.json().await.unwrap();
            let sent = wait_for_status(&app, &order, "sent").await;
            assert_eq!(sent["segments"], 1, "{sent}");
        }
        let accepted = fake.wait_for_accepted(2, Duration::from_secs(5)).await;
        assert!(accepted[0].message.contains("Men's shoes size 42"), "{}", accepted[0].message);
        assert!(accepted[1].message.contains("...") && accepted[1].message.encode_utf16().count() <= 70);
    })
    .await;
}

/// Text PostgreSQL refuses (NUL) never reaches it: the same 422 on both databases.
#[tokio::test]
async fn a_report_with_a_nul_byte_is_refused_alike_on_each_database() {
    for backend in orderdesk_adapters::testing::backends() {
        let fake = FakeAfricasTalking::start().await;
        with_database(backend, |db| async move {
            let app = spawn_app_with(&db, with_fake(&fake)).await;
            for form in [[("id", "ATXid_\0x"), ("status", "Success")], [("id", "ATXid_1"), ("status", "Suc\0cess")]] {
                let response = report(&app, SECRET, &form).await;
                assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
            }
            let url = app.url(&format!("/webhooks/africastalking/delivery-reports/{SECRET}"));
            let raw = app
                .anonymous
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b"id=ATXid_1&status=Success\0".to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
        })
        .await;
    }
}

/// Issue #22: each attempt keeps its cost (a temporary failure has none, a send and a re-send
/// by hand each have theirs), the notification shows their total, and the summary of the
/// period adds them up exactly; the summary refuses a missing or invalid period and needs
/// `read:orders`.
#[tokio::test]
async fn the_costs_of_every_attempt_add_up_in_the_summary_on_each_database() {
    for backend in orderdesk_adapters::testing::backends() {
        let fake = FakeAfricasTalking::start().await;
        fake.set_mode(Mode::Down);
        with_database(backend, |db| async move {
            let app = spawn_app_with(&db, with_fake(&fake)).await;
            let from = chrono::Utc::now() - chrono::Duration::minutes(5);
            let customer: Value = app.post_customer("COST-1").await.json().await.unwrap();
            let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while fake.requests() < 1 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            fake.set_mode(Mode::Normal);
            let first = fake.wait_for_accepted(1, Duration::from_secs(10)).await[0].message_id.clone();
            let sent = wait_for_status(&app, &order, "sent").await;
            assert_eq!((sent["cost_amount"].as_str(), sent["cost_currency"].as_str()), (Some("0.80"), Some("KES")));

            let failed = [("id", first.as_str()), ("status", "Failed"), ("failureReason", "DeliveryFailure")];
            assert_eq!(report(&app, SECRET, &failed).await.status(), StatusCode::OK);
            let undelivered = wait_for_status(&app, &order, "undelivered").await;
            let retry = app.url(&format!(
                "/api/v1/orders/{}/notifications/{}/retry",
                order["id"].as_str().unwrap(),
                undelivered["id"].as_str().unwrap()
            ));
            assert_eq!(app.http.post(retry).send().await.unwrap().status(), StatusCode::OK);
            fake.wait_for_accepted(2, Duration::from_secs(10)).await;
            let resent = wait_for_status(&app, &order, "sent").await;

            let log: Vec<(String, Value, Value)> = resent["attempt_log"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["outcome"].as_str().unwrap().to_owned(), a["cost_amount"].clone(), a["parts"].clone()))
                .collect();
            let none = Value::Null;
            assert_eq!(log[0], ("retry".to_owned(), none.clone(), none.clone()), "{resent}");
            assert_eq!(log[1..], [("sent".into(), "0.80".into(), 1.into()), ("sent".into(), "0.80".into(), 1.into())]);
            assert_eq!(resent["cost_amount"], "1.60", "the total of its attempts");

            let to = chrono::Utc::now() + chrono::Duration::minutes(5);
            let encode = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339().replace('+', "%2B");
            let url = app.url(&format!("/api/v1/notifications/summary?from={}&to={}", encode(from), encode(to)));
            let response = app.http.get(&url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let summary: Value = response.json().await.unwrap();
            assert_eq!(summary["counts"]["sent"], 1, "{summary}");
            assert_eq!(summary["counts"]["failed"], 0);
            assert_eq!(
                summary["cost"],
                serde_json::json!([{"currency": "KES", "amount": "1.60", "attempts": 2, "parts": 2}]),
                "{:?}",
                db.backend
            );

            for query in [format!("from={}", encode(from)), format!("from={}&to=yesterday", encode(from))] {
                let url = app.url(&format!("/api/v1/notifications/summary?{query}"));
                let refused = app.http.get(&url).send().await.unwrap();
                assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
                assert_eq!(refused.headers()["content-type"], "application/problem+json");
                let problem: Value = refused.json().await.unwrap();
                assert_eq!(problem["errors"][0]["field"], "to", "{problem}");
            }

            let token = orderdesk_server::startup::dev_issuer(&app.settings, app.address)
                .unwrap()
                .mint("clerk", &[orderdesk_domain::Permission::WriteOrders], Duration::from_secs(600))
                .unwrap();
            let forbidden = app.anonymous.get(&url).bearer_auth(token).send().await.unwrap();
            assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
            assert_eq!(forbidden.headers()["content-type"], "application/problem+json");
        })
        .await;
    }
}

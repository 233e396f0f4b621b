//! Texts per order event and language (issue #22): a status change queues its SMS in the
//! same transaction, in the customer's language; opted-out and fixed-line customers get
//! `skipped` notifications; the preview is what is then sent. On SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use orderdesk_adapters::sms::SmsProvider;
use orderdesk_adapters::testing::africastalking::FakeAfricasTalking;
use orderdesk_adapters::testing::on_each_backend;
use orderdesk_server::settings::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

fn with_fake(fake: &FakeAfricasTalking) -> impl FnOnce(&mut Settings) + '_ {
    move |s| {
        s.sms.provider = Some(SmsProvider::Africastalking);
        s.sms.africastalking = fake.settings();
        s.sms.poll_interval_ms = 100;
        s.shop.name = "Duka la Mama".into();
    }
}

async fn customer(app: &TestApp, body: Value) -> Value {
    let response = app.http.post(app.url("/api/v1/customers")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn order(app: &TestApp, customer: &Value, item: &str) -> Value {
    let body = json!({"customer_id": customer["id"], "item": item, "amount": "450"});
    let response = app.http.post(app.url("/api/v1/orders")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn move_to(app: &TestApp, order: &Value, body: Value) {
    let url = app.url(&format!("/api/v1/orders/{}/status", order["id"].as_str().unwrap()));
    let response = app.http.post(url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{body}");
}

async fn notifications(app: &TestApp, order: &Value) -> Vec<Value> {
    let url = app.url(&format!("/api/v1/orders/{}/notifications", order["id"].as_str().unwrap()));
    let list: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

async fn preview(app: &TestApp, body: Value) -> reqwest::Response {
    app.http.post(app.url("/api/v1/sms/preview")).json(&body).send().await.unwrap()
}

/// Waits until the fake has accepted `count` SMS, and no more arrive for a moment.
async fn settled(fake: &FakeAfricasTalking, count: usize) -> Vec<String> {
    let accepted = fake.wait_for_accepted(count, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted().len(), accepted.len(), "no more SMS than expected");
    accepted.into_iter().map(|sms| sms.message).collect()
}

#[tokio::test]
async fn a_swahili_customer_gets_the_created_and_ready_texts_in_swahili_and_the_preview_is_what_is_sent() {
    on_each_backend(|db| async move {
        let fake = FakeAfricasTalking::start().await;
        let app = spawn_app_with(&db, with_fake(&fake)).await;
        let amina =
            customer(&app, json!({"name": "Amina", "code": "SW-1", "phone": "0712 345 678", "language": "sw"})).await;
        let order = order(&app, &amina, "Unga 2kg").await;
        let reference = order["reference"].as_str().unwrap().to_owned();

        let ready = json!({"order_id": order["id"], "event": "order.ready"});
        let previewed: Value = preview(&app, ready.clone()).await.json().await.unwrap();
        assert_eq!(previewed["language"], "sw", "the customer's language: {previewed}");
        assert_eq!(previewed["message"], format!("Duka la Mama: oda {reference} (Unga 2kg) iko tayari. Asante!"));
        assert_eq!((previewed["encoding"].as_str(), previewed["segments"].as_u64()), (Some("gsm7"), Some(1)));
        assert_eq!(
            previewed["characters"].as_u64(),
            Some(previewed["message"].as_str().unwrap().chars().count() as u64)
        );
        let english: Value = preview(&app, json!({"order_id": order["id"], "event": "order.ready", "language": "en"}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(english["message"], format!("Duka la Mama: order {reference} (Unga 2kg) is ready. Thank you!"));

        // confirmed is not texted by default; ready is.
        move_to(&app, &order, json!({"status": "confirmed"})).await;
        move_to(&app, &order, json!({"status": "ready"})).await;
        move_to(&app, &order, json!({"status": "ready"})).await; // no change: no text
        let sent = settled(&fake, 2).await;
        assert!(
            sent[0].starts_with(&format!("Duka la Mama: oda {reference} imepokelewa: Unga 2kg, KES 450.00, ")),
            "{}",
            sent[0]
        );
        assert!(sent[0].ends_with(". Asante!"), "{}", sent[0]);
        assert_eq!(sent[1], previewed["message"].as_str().unwrap(), "the preview is what was sent");

        let stored = notifications(&app, &order).await;
        let events: Vec<(&str, &str)> =
            stored.iter().map(|n| (n["event"].as_str().unwrap(), n["language"].as_str().unwrap())).collect();
        assert_eq!(events, [("order.created", "sw"), ("order.ready", "sw")]);
    })
    .await;
}

#[tokio::test]
async fn cancellations_say_why_and_notify_false_or_disabled_events_write_nothing() {
    on_each_backend(|db| async move {
        let fake = FakeAfricasTalking::start().await;
        let app = spawn_app_with(&db, with_fake(&fake)).await;
        let juma = customer(&app, json!({"name": "Juma", "code": "EN-1", "phone": "0712 345 679"})).await;
        let quiet = order(&app, &juma, "Sugar").await;
        let loud = order(&app, &juma, "Rice").await;
        settled(&fake, 2).await;

        let cancel = |notify: bool| json!({"status": "cancelled", "cancel_reason": "out_of_stock", "notify": notify});
        move_to(&app, &quiet, cancel(false)).await;
        move_to(&app, &loud, json!({"status": "out_for_delivery"})).await; // disabled by default
        // Sent twice with one Idempotency-Key (a retry after a lost answer): one SMS.
        let url = app.url(&format!("/api/v1/orders/{}/status", loud["id"].as_str().unwrap()));
        for _ in 0..2 {
            let response =
                app.http.post(&url).header("Idempotency-Key", "cancel-loud-1").json(&cancel(true)).send().await;
            assert_eq!(response.unwrap().status(), StatusCode::OK);
        }
        let sent = settled(&fake, 3).await;
        let reference = loud["reference"].as_str().unwrap();
        assert_eq!(sent[2], format!("Duka la Mama: order {reference} (Rice) was cancelled: out of stock."));
        assert_eq!(notifications(&app, &quiet).await.len(), 1, "only the creation's");
        let events: Vec<Value> = notifications(&app, &loud).await.iter().map(|n| n["event"].clone()).collect();
        assert_eq!(events, [json!("order.created"), json!("order.cancelled")]);

        // Previewing a cancellation needs a reason unless the order has one.
        let reasonless = preview(&app, json!({"order_id": loud["id"], "event": "order.cancelled"})).await;
        assert_eq!(reasonless.status(), StatusCode::OK, "the order's own reason");
        let open = order(&app, &juma, "Salt").await;
        let missing = preview(&app, json!({"order_id": open["id"], "event": "order.cancelled"})).await;
        assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = missing.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "cancel_reason", "{body}");
        let unknown = preview(&app, json!({"order_id": open["id"], "event": "order.shipped", "language": "fr"})).await;
        let body: Value = unknown.json().await.unwrap();
        let fields: Vec<&str> =
            body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["event", "language"], "{body}");
        let nowhere = preview(&app, json!({"order_id": uuid::Uuid::now_v7(), "event": "order.ready"})).await;
        assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
        let extra = preview(&app, json!({"order_id": open["id"], "event": "order.ready", "send": true})).await;
        assert_eq!(extra.status(), StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");
    })
    .await;
}

#[tokio::test]
async fn opted_out_and_fixed_line_customers_get_skipped_notifications_and_no_sms() {
    on_each_backend(|db| async move {
        let fake = FakeAfricasTalking::start().await;
        let app = spawn_app_with(&db, with_fake(&fake)).await;
        let out =
            customer(&app, json!({"name": "Out", "code": "OUT-1", "phone": "0712 345 670", "sms_opt_out": true})).await;
        let office = customer(&app, json!({"name": "Office", "code": "LAND-1", "phone": "020 2345678"})).await;
        let mobile = customer(&app, json!({"name": "Mobile", "code": "MOB-1", "phone": "0712 345 671"})).await;
        let first = order(&app, &out, "Tea").await;
        move_to(&app, &first, json!({"status": "ready"})).await;
        let second = order(&app, &office, "Tea").await;
        order(&app, &mobile, "Tea").await;
        let started = Instant::now();
        let sent = settled(&fake, 1).await;
        assert_eq!(sent.len(), 1, "only the mobile customer is texted");
        for (order, reason, count) in [(&first, "opted_out", 2), (&second, "not_mobile", 1)] {
            let stored = notifications(&app, order).await;
            assert_eq!(stored.len(), count);
            for n in stored {
                assert_eq!((n["status"].as_str(), n["skip_reason"].as_str()), (Some("skipped"), Some(reason)));
            }
        }
        // A received order whose only SMS was skipped can still be deleted.
        let url = app.url(&format!("/api/v1/orders/{}", second["id"].as_str().unwrap()));
        assert_eq!(app.http.delete(url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        eprintln!("settled after {:?}", started.elapsed());
    })
    .await;
}

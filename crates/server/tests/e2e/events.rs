//! Issue #24: the event feed through the real server on each database: every change writes
//! its event, listed oldest first by type and cursor, with the object as the API shows it.

use std::time::{Duration, Instant};

use orderdesk_adapters::secret::Secret;
use orderdesk_adapters::sms::SmsProvider;
use orderdesk_adapters::testing::africastalking::FakeAfricasTalking;
use orderdesk_adapters::testing::on_each_backend;
use orderdesk_domain::Permission;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const SECRET: &str = "e2e-events-secret-0123456789";

async fn events(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let response = app.http.get(app.url("/api/v1/events")).query(query).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn types(list: &Value) -> Vec<&str> {
    list["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// The feed of `type` once it holds `count` events (they show a second after their change).
async fn wait_for(app: &TestApp, kind: &str, count: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = events(app, &[("type", kind), ("limit", "200")]).await;
        if list["items"].as_array().unwrap().len() >= count || Instant::now() > deadline {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn every_change_is_in_the_feed_by_type_and_cursor_with_its_object() {
    on_each_backend(|db| async move {
        let fake = FakeAfricasTalking::start().await;
        let app = spawn_app_with(&db, |s| {
            s.sms.provider = Some(SmsProvider::Africastalking);
            s.sms.africastalking = fake.settings();
            s.sms.webhook_secret = Some(Secret::new(SECRET));
            s.sms.poll_interval_ms = 100;
        })
        .await;
        let backend = db.backend;
        let customer: Value = app.post_customer("EVENTS-E2E").await.json().await.unwrap();
        let customer_url = app.url(&format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()));
        send(app.http.patch(&customer_url).json(&json!({"name": "Amina W."}))).await;

        let order: Value = app.post_order(&customer["id"], "250.50").await.json().await.unwrap();
        let order_url = app.url(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap()));
        send(app.http.post(format!("{order_url}/status")).json(&json!({"status": "confirmed"}))).await;
        send(app.http.patch(&order_url).json(&json!({"item": "Maize flour 5kg"}))).await;
        let mistaken: Value = send(app.http.post(app.url("/api/v1/orders")).json(&json!({
            "customer_id": customer["id"], "item": "Sugar", "amount": "90", "notify": false
        })))
        .await;
        let mistaken_url = app.url(&format!("/api/v1/orders/{}", mistaken["id"].as_str().unwrap()));
        assert_eq!(app.http.delete(&mistaken_url).send().await.unwrap().status(), StatusCode::NO_CONTENT);

        let accepted = fake.wait_for_accepted(1, Duration::from_secs(10)).await;
        let report = [("id", accepted[0].message_id.as_str()), ("status", "Success"), ("phoneNumber", "+254712345678")];
        let delivered = app.anonymous.post(app.url(&format!("/webhooks/africastalking/delivery-reports/{SECRET}")));
        assert_eq!(delivered.form(&report).send().await.unwrap().status(), StatusCode::OK);

        let orders = wait_for(&app, "order.*", 5).await;
        assert_eq!(
            types(&orders),
            ["order.created", "order.status_changed", "order.updated", "order.created", "order.deleted"],
            "{backend:?}"
        );
        let objects: Vec<&Value> = orders["items"].as_array().unwrap().iter().map(|e| &e["data"]["object"]).collect();
        assert_eq!(objects[0]["status"], "received");
        assert_eq!(objects[1]["status"], "confirmed");
        assert_eq!(objects[2]["item"], "Maize flour 5kg");
        assert_eq!(objects[4]["id"], mistaken["id"], "a deleted order is in its event as it was");
        let at = chrono::DateTime::parse_from_rfc3339(orders["items"][0]["created_at"].as_str().unwrap()).unwrap();
        assert_eq!(at.offset().local_minus_utc(), 0, "UTC with its offset");

        let customers = wait_for(&app, "customer.*", 2).await;
        assert_eq!(types(&customers), ["customer.created", "customer.updated"]);
        assert_eq!(customers["items"][1]["data"]["object"]["name"], "Amina W.");
        assert_eq!(customers["items"][1]["data"]["object"]["phone"], "+254712345678");

        let sms = wait_for(&app, "notification.sent,notification.delivered", 2).await;
        assert_eq!(types(&sms), ["notification.sent", "notification.delivered"]);
        assert_eq!(sms["items"][1]["data"]["object"]["status"], "delivered");
        assert_eq!(sms["items"][1]["data"]["object"]["order_id"], order["id"]);

        // Paging by cursor: every event once, oldest first; the cursor stays at the end.
        let everything = events(&app, &[("limit", "200")]).await;
        let all: Vec<&str> =
            everything["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
        let (mut seen, mut after) = (Vec::new(), None::<String>);
        loop {
            let mut query = vec![("limit", "3".to_owned())];
            query.extend(after.clone().map(|a| ("after", a)));
            let page = events(&app, &query.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
            seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
            after = page["next_cursor"].as_str().map(str::to_owned);
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
        }
        assert_eq!(seen, all, "{backend:?}");
        let tail = events(&app, &[("after", after.as_deref().unwrap())]).await;
        assert!(tail["items"].as_array().unwrap().is_empty());
        assert_eq!(tail["next_cursor"].as_str(), after.as_deref(), "an empty page keeps the cursor");
    })
    .await;
}

#[tokio::test]
async fn the_feed_needs_read_events_and_refuses_unknown_types_and_cursors() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let token = orderdesk_server::startup::dev_issuer(&app.settings, app.address)
            .unwrap()
            .mint("clerk", &[Permission::ReadOrders, Permission::ReadCustomers], Duration::from_secs(600))
            .unwrap();
        let forbidden = app.anonymous.get(app.url("/api/v1/events")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let challenge = forbidden.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains("read:events"), "{challenge}");
        let anonymous = app.anonymous.get(app.url("/api/v1/events")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        // A customer list's cursor is no feed position.
        for code in ["EV-CURSOR-1", "EV-CURSOR-2"] {
            app.post_customer(code).await;
        }
        let customers = app.get_json("/api/v1/customers?limit=1").await;
        let list_cursor = customers["next_cursor"].as_str().unwrap().to_owned();
        let refused = app.http.get(app.url("/api/v1/events")).query(&[("after", &list_cursor)]).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

        for (query, field) in [
            (("type", "order.shipped"), "type"),
            (("type", "invoice.*"), "type"),
            (("after", "A".repeat(43).leak() as &str), "after"),
            (("limit", "0"), "limit"),
            (("since", "yesterday"), "since"),
        ] {
            let response = app.http.get(app.url("/api/v1/events")).query(&[query]).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query:?}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["type"], "/problems/validation-error", "{problem}");
            assert!(problem.to_string().contains(field), "{query:?}: {problem}");
        }
    })
    .await;
}

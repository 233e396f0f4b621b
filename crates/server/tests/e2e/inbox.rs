//! Customers' language and opt-out, and Africa's Talking's opt-out and incoming-message
//! callbacks, on the real server and each database.

use orderdesk_adapters::secret::Secret;
use orderdesk_adapters::testing::on_each_backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

const SECRET: &str = "e2e-inbox-webhook-secret-0123";

async fn spawn(db: &orderdesk_adapters::testing::TestDatabase) -> TestApp {
    spawn_app_with(db, |s| s.sms.webhook_secret = Some(Secret::new(SECRET))).await
}

async fn callback(app: &TestApp, callback: &str, secret: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let url = app.url(&format!("/webhooks/africastalking/{callback}/{secret}"));
    app.anonymous.post(url).form(form).send().await.unwrap()
}

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    app.http.post(app.url("/api/v1/customers")).json(&body).send().await.unwrap()
}

/// The customer and its `ETag`.
async fn get(app: &TestApp, customer: &Value) -> (Value, String) {
    let url = app.url(&format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()));
    let response = app.http.get(url).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (response.json().await.unwrap(), etag)
}

async fn messages(app: &TestApp, customer: &Value) -> Vec<Value> {
    let url = app.url(&format!("/api/v1/customers/{}/messages", customer["id"].as_str().unwrap()));
    let list: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn language_and_opt_out_are_set_on_create_and_patch_on_each_database() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn(&db).await;
        let plain: Value = app.post_customer("LANG-1").await.json().await.unwrap();
        assert_eq!((plain["language"].clone(), plain["sms_opt_out"].clone()), (json!("en"), json!(false)));

        let body =
            json!({"name": "Amina", "code": "LANG-2", "phone": "0712 345 678", "language": "sw", "sms_opt_out": true});
        let response = create(&app, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{backend:?}");
        let amina: Value = response.json().await.unwrap();
        let (stored, etag) = get(&app, &amina).await;
        assert_eq!((stored["language"].clone(), stored["sms_opt_out"].clone()), (json!("sw"), json!(true)));

        let url = app.url(&format!("/api/v1/customers/{}", amina["id"].as_str().unwrap()));
        let patch = json!({"language": "en", "sms_opt_out": false});
        let response = app.http.patch(&url).header("if-match", &etag).json(&patch).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (stored, _) = get(&app, &amina).await;
        assert_eq!((stored["language"].clone(), stored["sms_opt_out"].clone()), (json!("en"), json!(false)));

        let response = app.http.patch(&url).json(&json!({"language": "fr"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "language", "{problem}");
        let body = json!({"name": "X", "code": "LANG-3", "phone": "0712 345 678", "language": "fr"});
        assert_eq!(create(&app, body).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn the_opt_out_callback_opts_out_every_customer_with_the_number_once_on_each_database() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn(&db).await;
        let first: Value = app.post_customer("OPT-1").await.json().await.unwrap();
        let second: Value = app.post_customer("OPT-2").await.json().await.unwrap();
        let other = json!({"name": "Baraka", "code": "OPT-3", "phone": "+254733000111"});
        let other: Value = create(&app, other).await.json().await.unwrap();
        let form = [("senderId", "SHOP"), ("phoneNumber", "+254712345678")];

        let response = callback(&app, "opt-outs", "wrong-secret-0123456789", &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{backend:?}");
        assert_eq!(get(&app, &first).await.0["sms_opt_out"], false);

        let response = callback(&app, "opt-outs", SECRET, &form).await;
        assert_eq!(response.status(), StatusCode::OK, "{backend:?}");
        assert_eq!(response.text().await.unwrap(), "OK");
        let mut etags = Vec::new();
        for customer in [&first, &second] {
            let (stored, etag) = get(&app, customer).await;
            assert_eq!(stored["sms_opt_out"], true, "{backend:?} {stored}");
            assert_eq!(stored["updated_by"], "africastalking");
            assert_ne!(stored["updated_at"], customer["updated_at"]);
            assert_ne!(etag, "\"0\"", "the version moved");
            etags.push(etag);
        }
        assert_eq!(get(&app, &other).await.0["sms_opt_out"], false, "another number is untouched");

        // A repeated callback (with a field AT might add, and a trailing slash) changes nothing.
        let url = app.url(&format!("/webhooks/africastalking/opt-outs/{SECRET}/"));
        let repeat = [("senderId", "SHOP"), ("phoneNumber", "+254712345678"), ("newField", "x")];
        let response = app.anonymous.post(url).form(&repeat).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        for (customer, etag) in [&first, &second].into_iter().zip(&etags) {
            assert_eq!(&get(&app, customer).await.1, etag, "{backend:?}: same ETag after the repeat");
        }

        let response = callback(&app, "opt-outs", SECRET, &[("phoneNumber", "not-a-number")]).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "phoneNumber");
    })
    .await;
}

#[tokio::test]
async fn incoming_messages_are_stored_once_and_a_stop_word_opts_out_on_each_database() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn(&db).await;
        let amina: Value = app.post_customer("IN-1").await.json().await.unwrap();
        let hello = [
            ("id", "ATXid_e2e_1"),
            ("from", "+254712345678"),
            ("to", "22384"),
            ("text", "Habari, nataka unga"),
            ("date", "2026-11-30 09:30:12"),
            ("networkCode", "63902"),
            ("cost", "KES 0.0000"),
        ];
        let response = callback(&app, "incoming", "wrong-secret-0123456789", &hello).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(messages(&app, &amina).await.is_empty());

        let response = callback(&app, "incoming", SECRET, &hello).await;
        assert_eq!(response.status(), StatusCode::OK, "{backend:?}");
        let (stored, etag) = get(&app, &amina).await;
        assert_eq!(stored["sms_opt_out"], false, "{backend:?}: not a stop word");
        assert_eq!(etag, "\"0\"");

        let stop =
            [("id", "ATXid_e2e_2"), ("from", "+254712345678"), ("to", "22384"), ("text", " stop\n"), ("linkId", "L-1")];
        for _ in 0..2 {
            assert_eq!(callback(&app, "incoming", SECRET, &stop).await.status(), StatusCode::OK);
        }
        let (stored, etag) = get(&app, &amina).await;
        assert_eq!((stored["sms_opt_out"].clone(), etag.as_str()), (json!(true), "\"1\""), "{backend:?}");

        let items = messages(&app, &amina).await;
        assert_eq!(items.len(), 2, "{backend:?}: the repeat is stored once: {items:?}");
        assert_eq!(items[0]["text"], " stop\n");
        assert_eq!(items[0]["stop_word"], true);
        assert_eq!(items[0]["link_id"], "L-1");
        assert_eq!(items[1]["text"], "Habari, nataka unga");
        assert_eq!(items[1]["stop_word"], false);
        assert_eq!((items[1]["from"].as_str(), items[1]["to"].as_str()), (Some("+254712345678"), Some("22384")));
        let sent_at = chrono::DateTime::parse_from_rfc3339(items[1]["sent_at"].as_str().unwrap()).unwrap();
        assert_eq!(sent_at.to_utc().to_rfc3339(), "2026-11-30T09:30:12+00:00");
    })
    .await;
}

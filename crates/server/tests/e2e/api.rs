use futures_util::future::join_all;
use orderdesk_adapters::testing::on_each_backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn customer_and_order_lifecycle_over_tcp() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);

        let response = app.post_customer("AMINA").await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let customer: Value = response.json().await.unwrap();

        // Without an SMS, so the order is still a mistake that may be deleted (see lifecycle.rs).
        let body =
            json!({"customer_id": customer["id"], "item": "Maize flour 2kg", "amount": "250.50", "notify": false});
        let response = app.http.post(app.url("/api/v1/orders")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let order: Value = response.json().await.unwrap();
        assert_eq!(order["amount"], "250.50");

        let orders: Value = app.http.get(app.url("/api/v1/orders")).send().await.unwrap().json().await.unwrap();
        assert_eq!(orders["items"], json!([order]), "{:?}", db.backend);

        let order_url = app.url(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap()));
        let patched: Value =
            app.http.patch(&order_url).json(&json!({"amount": "300"})).send().await.unwrap().json().await.unwrap();
        assert_eq!(patched["amount"], "300.00");

        let refused = app.http.delete(app.url(&location)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        assert_eq!(refused.headers()["content-type"], "application/problem+json");

        assert_eq!(app.http.delete(&order_url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(app.http.delete(app.url(&location)).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(app.http.get(app.url(&location)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn concurrent_creates_with_one_code_give_one_201_and_409s() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let responses = join_all((0..50).map(|_| app.post_customer("SAME-CODE"))).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{:?}: {statuses:?}", db.backend);
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49, "{:?}: {statuses:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn fifty_parallel_requests_with_one_idempotency_key_make_one_order_and_one_sms() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("IDEM").await.json().await.unwrap();
        let body = json!({"customer_id": customer["id"], "item": "Tea", "amount": "5"});
        let post = || app.http.post(app.url("/api/v1/orders")).header("Idempotency-Key", "race-1").json(&body).send();
        let responses = join_all((0..50).map(|_| post())).await;
        let mut first = 0;
        let mut ids = std::collections::BTreeSet::new();
        for response in responses {
            let response = response.unwrap();
            let status = response.status();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            if status == StatusCode::CREATED {
                first += usize::from(!replayed);
                let order: Value = response.json().await.unwrap();
                ids.insert(order["id"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(status, StatusCode::CONFLICT, "only replays or in-use: {:?}", db.backend);
            }
        }
        assert_eq!(first, 1, "one request created, the rest replayed: {:?}", db.backend);
        assert_eq!(ids.len(), 1, "every 201 names the same order");
        let orders: Value = app.http.get(app.url("/api/v1/orders")).send().await.unwrap().json().await.unwrap();
        assert_eq!(orders["items"].as_array().unwrap().len(), 1, "{:?}", db.backend);
        let id = ids.into_iter().next().unwrap();
        let sms = app.get_json(&format!("/api/v1/orders/{id}/notifications")).await;
        assert_eq!(sms["items"].as_array().unwrap().len(), 1, "one SMS: {:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn two_patches_with_the_same_if_match_give_one_200_and_one_412() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let response = app.post_customer("MATCH").await;
        let url = app.url(response.headers()["location"].to_str().unwrap());
        let tag = app.http.get(&url).send().await.unwrap().headers()["etag"].to_str().unwrap().to_owned();
        let patch =
            |name: &'static str| app.http.patch(&url).header("If-Match", &tag).json(&json!({"name": name})).send();
        let (a, b) = tokio::join!(patch("First Writer"), patch("Second Writer"));
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "{:?}", db.backend);
        let stored: Value = app.http.get(&url).send().await.unwrap().json().await.unwrap();
        assert!(stored["name"] == "First Writer" || stored["name"] == "Second Writer");
    })
    .await;
}

#[tokio::test]
async fn amounts_survive_storage_exactly() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("EXACT").await.json().await.unwrap();
        for amount in ["0.01", "0.10", "1234567.89", "9999999999999.99"] {
            let order: Value = app.post_order(&customer["id"], amount).await.json().await.unwrap();
            let url = app.url(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap()));
            let stored: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
            assert_eq!(stored["amount"], amount, "{:?}", db.backend);
        }
    })
    .await;
}

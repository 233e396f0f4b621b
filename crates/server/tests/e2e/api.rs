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

        let response = app.post_order(&customer["id"], "250.50").await;
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
        let responses = join_all((0..10).map(|_| app.post_customer("SAME-CODE"))).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{:?}: {statuses:?}", db.backend);
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 9, "{:?}: {statuses:?}", db.backend);
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

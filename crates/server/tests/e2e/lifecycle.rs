//! Order numbers and the status lifecycle over HTTP, on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use orderdesk_adapters::testing::on_each_backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const STATUSES: [&str; 6] = ["received", "confirmed", "ready", "out_for_delivery", "completed", "cancelled"];

/// The table, written out independently of the domain's: forward (skips allowed) or to
/// `cancelled` from anything but a final status.
fn allowed(from: usize, to: usize) -> bool {
    let final_ = |s: usize| s >= 4;
    !final_(from) && (to == 5 || to > from)
}

async fn new_order(app: &TestApp, customer: &Value) -> (String, Value) {
    let order: Value = app.post_order(&customer["id"], "10").await.json().await.unwrap();
    (app.url(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap())), order)
}

fn change(status: &str) -> Value {
    if status == "cancelled" {
        json!({"status": status, "cancel_reason": "duplicate", "note": "taken twice"})
    } else {
        json!({"status": status})
    }
}

async fn move_to(app: &TestApp, order_url: &str, body: &Value) -> reqwest::Response {
    app.http.post(format!("{order_url}/status")).json(body).send().await.unwrap()
}

#[tokio::test]
async fn every_allowed_and_forbidden_transition_over_http() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("TABLE").await.json().await.unwrap();
        for (from, from_name) in STATUSES.iter().enumerate() {
            for (to, to_name) in STATUSES.iter().enumerate() {
                let (url, _) = new_order(&app, &customer).await;
                if from > 0 {
                    assert_eq!(move_to(&app, &url, &change(from_name)).await.status(), StatusCode::OK);
                }
                let response = move_to(&app, &url, &change(to_name)).await;
                let case = format!("{from_name} -> {to_name} ({:?})", db.backend);
                let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                if from == to {
                    assert_eq!(status, StatusCode::OK, "{case}");
                    assert_eq!(etag.as_deref(), Some(if from == 0 { "\"0\"" } else { "\"1\"" }), "{case}: unchanged");
                } else if allowed(from, to) {
                    assert_eq!(status, StatusCode::OK, "{case}: {body}");
                    assert_eq!(
                        (body["status"].as_str(), etag.as_deref()),
                        (Some(*to_name), Some(if from == 0 { "\"1\"" } else { "\"2\"" })),
                        "{case}"
                    );
                } else {
                    assert_eq!(status, StatusCode::CONFLICT, "{case}");
                    assert_eq!(body["type"], "/problems/invalid-status-transition", "{case}");
                    let detail = body["detail"].as_str().unwrap();
                    assert!(detail.contains(&format!("from {from_name} to {to_name}")), "{case}: {detail}");
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn fifty_concurrent_creates_get_different_numbers_and_a_replay_the_same() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("NUMBERS").await.json().await.unwrap();
        let responses = join_all((0..50).map(|_| app.post_order(&customer["id"], "5"))).await;
        let mut numbers = BTreeSet::new();
        for response in responses {
            assert_eq!(response.status(), StatusCode::CREATED);
            let order: Value = response.json().await.unwrap();
            let number = order["number"].as_u64().unwrap();
            assert_eq!(order["reference"], format!("ORD-{number}"));
            assert_eq!(order["status"], "received");
            assert!(numbers.insert(number), "{number} given twice ({:?})", db.backend);
        }
        assert_eq!(numbers, (1001..=1050).collect(), "{:?}", db.backend);

        let keyed = || {
            app.http
                .post(app.url("/api/v1/orders"))
                .header("Idempotency-Key", "order-once")
                .json(&json!({"customer_id": customer["id"], "item": "Tea", "amount": "5"}))
                .send()
        };
        let first: Value = keyed().await.unwrap().json().await.unwrap();
        let replay = keyed().await.unwrap();
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        let replay: Value = replay.json().await.unwrap();
        assert_eq!((replay["number"].as_u64(), first["number"].as_u64()), (Some(1051), Some(1051)));

        let found: Value =
            app.http.get(app.url("/api/v1/orders?number=1051")).send().await.unwrap().json().await.unwrap();
        assert_eq!(found["items"], json!([first]), "{:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn status_changes_keep_a_history_and_work_with_if_match_and_idempotency_keys() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("LIFE").await.json().await.unwrap();
        let (url, order) = new_order(&app, &customer).await;

        // A stale If-Match is refused; the current one moves the order.
        let ready = json!({"status": "ready", "note": "Packed"});
        let stale =
            app.http.post(format!("{url}/status")).header("If-Match", "\"5\"").json(&ready).send().await.unwrap();
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
        let keyed = || {
            app.http
                .post(format!("{url}/status"))
                .header("If-Match", "\"0\"")
                .header("Idempotency-Key", "ready-1")
                .json(&ready)
                .send()
        };
        let moved = keyed().await.unwrap();
        assert_eq!((moved.status(), moved.headers()["etag"].to_str().unwrap()), (StatusCode::OK, "\"1\""));
        let moved: Value = moved.json().await.unwrap();
        // The retry replays the first answer, ETag too, though If-Match is now stale.
        let replay = keyed().await.unwrap();
        assert_eq!(replay.headers()["idempotent-replayed"], "true", "{:?}", db.backend);
        assert_eq!(replay.headers()["etag"], "\"1\"");
        assert_eq!(replay.json::<Value>().await.unwrap(), moved);

        // Cancelling needs a reason; PATCH refuses status and says where it is changed.
        let no_reason = move_to(&app, &url, &json!({"status": "cancelled"})).await;
        assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(no_reason.json::<Value>().await.unwrap()["errors"][0]["field"], "cancel_reason");
        let patch = app.http.patch(&url).json(&json!({"status": "completed"})).send().await.unwrap();
        assert_eq!(patch.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = patch.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "status");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("/status"), "{problem}");

        // Deleting is for mistakes only: this order has a history.
        let delete = app.http.delete(&url).send().await.unwrap();
        assert_eq!(delete.status(), StatusCode::CONFLICT);
        let problem: Value = delete.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/order-has-history");
        assert!(problem["detail"].as_str().unwrap().contains("cancel"), "{problem}");

        let cancel = json!({"status": "cancelled", "cancel_reason": "out_of_stock", "note": "No flour"});
        let cancelled: Value = move_to(&app, &url, &cancel).await.json().await.unwrap();
        assert_eq!(
            (&cancelled["cancel_reason"], &cancelled["cancel_note"]),
            (&json!("out_of_stock"), &json!("No flour"))
        );

        let history: Value = app.http.get(format!("{url}/history")).send().await.unwrap().json().await.unwrap();
        let entries = history["items"].as_array().unwrap();
        let statuses: Vec<&str> = entries.iter().map(|e| e["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["received", "ready", "cancelled"], "{:?}", db.backend);
        assert_eq!(entries[0]["at"], order["created_at"]);
        assert_eq!((&entries[1]["note"], &entries[1]["by"]), (&json!("Packed"), &json!("dev-user")));
        assert_eq!(entries[2]["cancel_reason"], "out_of_stock");

        // The SMS quotes the order's reference.
        let sms: Value = app.http.get(format!("{url}/notifications")).send().await.unwrap().json().await.unwrap();
        let message = sms["items"][0]["message"].as_str().unwrap();
        assert!(message.contains(&format!(" order {} received: ", order["reference"].as_str().unwrap())), "{message}");
    })
    .await;
}

#[tokio::test]
async fn lists_filter_by_status_and_number_and_delete_takes_only_mistakes() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("LISTS").await.json().await.unwrap();
        // Not texted: a received order with an SMS attempted could not be deleted below.
        let quiet = json!({"customer_id": customer["id"], "item": "Tea", "amount": "1", "notify": false});
        let new: Value =
            app.http.post(app.url("/api/v1/orders")).json(&quiet).send().await.unwrap().json().await.unwrap();
        let new_url = app.url(&format!("/api/v1/orders/{}", new["id"].as_str().unwrap()));
        let (ready_url, _) = new_order(&app, &customer).await;
        let (done_url, _) = new_order(&app, &customer).await;
        move_to(&app, &ready_url, &change("ready")).await;
        move_to(&app, &done_url, &change("completed")).await;

        let numbers = |path: String| {
            let app = &app;
            async move {
                let list: Value = app.http.get(app.url(&path)).send().await.unwrap().json().await.unwrap();
                list["items"].as_array().unwrap().iter().map(|o| o["number"].as_u64().unwrap()).collect::<Vec<_>>()
            }
        };
        assert_eq!(numbers("/api/v1/orders?status=ready,completed".into()).await, [1003, 1002], "{:?}", db.backend);
        assert_eq!(numbers("/api/v1/orders?status=received".into()).await, [1001]);
        let customer_path = format!("/api/v1/customers/{}/orders", customer["id"].as_str().unwrap());
        assert_eq!(numbers(format!("{customer_path}?status=completed&number=1003")).await, [1003]);
        assert!(numbers(format!("{customer_path}?status=received&number=1003")).await.is_empty());

        let bad = app.http.get(app.url("/api/v1/orders?status=ready,shipped")).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.json::<Value>().await.unwrap()["errors"][0]["field"], "status");

        // A received order without SMS is a mistake that may go; its number is not reused.
        assert_eq!(app.http.delete(&new_url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        let (_, next) = new_order(&app, &customer).await;
        assert_eq!((new["number"].as_u64(), next["number"].as_u64()), (Some(1001), Some(1004)), "{:?}", db.backend);
    })
    .await;
}

//! Safe retries (`Idempotency-Key`) and conditional requests (`ETag`, `If-Match`, `If-None-Match`).

use poem::http::StatusCode;
use serde_json::json;

use crate::{assert_problem, client, create_customer, json_of};

fn header(response: &poem::test::TestResponse, name: &str) -> Option<String> {
    response.0.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_retried_create_with_the_same_key_replays_the_first_response_and_creates_nothing() {
    let client = client();
    let customer = create_customer(&client, "K1").await;
    let body = json!({"customer_id": customer["id"], "item": "Tea", "amount": "5"});
    let post = || client.post("/api/v1/orders").header("Idempotency-Key", "order-k1-1").body_json(&body).send();

    let first = post().await;
    first.assert_status(StatusCode::CREATED);
    assert_eq!(header(&first, "Idempotent-Replayed"), None);
    let location = header(&first, "Location").unwrap();
    let first = json_of(first).await;

    // The same request again, with its keys in another order: the same request.
    let reordered = json!({"amount": "5", "item": "Tea", "customer_id": customer["id"]});
    let again =
        client.post("/api/v1/orders").header("Idempotency-Key", "order-k1-1").body_json(&reordered).send().await;
    again.assert_status(StatusCode::CREATED);
    assert_eq!(header(&again, "Idempotent-Replayed").as_deref(), Some("true"));
    assert_eq!(header(&again, "Location").as_deref(), Some(location.as_str()));
    assert_eq!(json_of(again).await, first);

    let list = json_of(client.get("/api/v1/orders").send().await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "one order");
    let sms = json_of(client.get(format!("{location}/notifications")).send().await).await;
    assert_eq!(sms["items"].as_array().unwrap().len(), 1, "one SMS");

    // The same key for another request is refused; without a key, a new order is made.
    let other = json!({"customer_id": customer["id"], "item": "Tea", "amount": "6"});
    let reused = client.post("/api/v1/orders").header("Idempotency-Key", "order-k1-1").body_json(&other).send().await;
    assert_problem(reused, 422, "idempotency-key-reused").await;
    client.post("/api/v1/orders").body_json(&body).send().await.assert_status(StatusCode::CREATED);
    let list = json_of(client.get("/api/v1/orders").send().await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

/// A replay carries the created record's entity tag, as stored with the first response: the
/// one a GET gives for the record as created.
#[tokio::test]
async fn a_replayed_create_carries_the_created_records_entity_tag() {
    let client = client();
    let body = json!({"name": "Amina", "code": "K4", "phone": "0712345678"});
    let post = || client.post("/api/v1/customers").header("Idempotency-Key", "k4").body_json(&body).send();
    let first = post().await;
    first.assert_status(StatusCode::CREATED);
    let location = header(&first, "Location").unwrap();
    let replay = post().await;
    replay.assert_status(StatusCode::CREATED);
    assert_eq!(header(&replay, "Idempotent-Replayed").as_deref(), Some("true"));
    assert_eq!(header(&replay, "Location").as_deref(), Some(location.as_str()));
    let read = client.get(&location).send().await;
    read.assert_status_is_ok();
    let tag = header(&read, "ETag").expect("a GET has an ETag");
    assert_eq!(header(&replay, "ETag").as_deref(), Some(tag.as_str()));
    assert_eq!(header(&first, "ETag").as_deref(), Some(tag.as_str()));

    // A keyed status change replays the entity tag the change gave, not the order's newest.
    let order = json!({"customer_id": json_of(read).await["id"], "item": "Tea", "amount": "5"});
    let url = header(&client.post("/api/v1/orders").body_json(&order).send().await, "Location").unwrap();
    let confirm = || {
        client
            .post(format!("{url}/status"))
            .header("Idempotency-Key", "k4-s")
            .body_json(&json!({"status": "confirmed"}))
    };
    let moved = confirm().send().await;
    moved.assert_status_is_ok();
    let moved_tag = header(&moved, "ETag").unwrap();
    client.patch(&url).body_json(&json!({"amount": "6"})).send().await.assert_status_is_ok();
    let again = confirm().send().await;
    assert_eq!(header(&again, "Idempotent-Replayed").as_deref(), Some("true"));
    assert_eq!(header(&again, "ETag"), Some(moved_tag));
}

#[tokio::test]
async fn keys_are_per_operation_and_checked() {
    let client = client();
    let body = json!({"name": "Amina", "code": "K2", "phone": "0712345678"});
    let created = client.post("/api/v1/customers").header("Idempotency-Key", "k2").body_json(&body).send().await;
    created.assert_status(StatusCode::CREATED);
    let replay = client.post("/api/v1/customers").header("Idempotency-Key", "k2").body_json(&body).send().await;
    replay.assert_status(StatusCode::CREATED);
    assert_eq!(header(&replay, "Idempotent-Replayed").as_deref(), Some("true"));

    let long = "k".repeat(256);
    let response = client.post("/api/v1/customers").header("Idempotency-Key", long).body_json(&body).send().await;
    let problem = assert_problem(response, 422, "validation-error").await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    // A failed first request stores nothing: fixing the body with the same key works.
    let bad = json!({"name": "Amina", "code": "K3", "phone": "12"});
    let response = client.post("/api/v1/customers").header("Idempotency-Key", "k3").body_json(&bad).send().await;
    assert_problem(response, 422, "validation-error").await;
    let good = json!({"name": "Amina", "code": "K3", "phone": "0712345678"});
    let response = client.post("/api/v1/customers").header("Idempotency-Key", "k3").body_json(&good).send().await;
    response.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn etags_make_reads_cheap_and_writes_conditional() {
    let client = client();
    let customer = create_customer(&client, "E1").await;
    let url = format!("/api/v1/customers/{}", customer["id"].as_str().unwrap());

    let read = client.get(&url).send().await;
    read.assert_status_is_ok();
    let tag = header(&read, "ETag").unwrap();
    assert_eq!(tag, "\"0\"");
    let unchanged = client.get(&url).header("If-None-Match", &tag).send().await;
    unchanged.assert_status(StatusCode::NOT_MODIFIED);
    assert_eq!(header(&unchanged, "ETag").as_deref(), Some(tag.as_str()));

    let change =
        |name: &str, tag: &str| client.patch(&url).header("If-Match", tag).body_json(&json!({"name": name})).send();
    let changed = change("Amina W.", &tag).await;
    changed.assert_status_is_ok();
    let new_tag = header(&changed, "ETag").unwrap();
    assert_eq!(new_tag, "\"1\"");
    // The same If-Match again is stale: 412, and nothing changes.
    assert_problem(change("Someone else", &tag).await, 412, "precondition-failed").await;
    let current = json_of(client.get(&url).send().await).await;
    assert_eq!(current["name"], "Amina W.");
    assert_eq!(client.get(&url).header("If-None-Match", &tag).send().await.0.status(), StatusCode::OK);

    // Without If-Match the last write wins, as before; a weak tag never matches.
    client.patch(&url).body_json(&json!({"name": "Amina"})).send().await.assert_status_is_ok();
    assert_problem(change("x", "W/\"2\"").await, 412, "precondition-failed").await;
    assert_problem(client.delete(&url).header("If-Match", "\"1\"").send().await, 412, "precondition-failed").await;
    client.delete(&url).header("If-Match", "\"2\"").send().await.assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn orders_have_etags_too() {
    let client = client();
    let customer = create_customer(&client, "E2").await;
    let body = json!({"customer_id": customer["id"], "item": "Tea", "amount": "5"});
    let created = client.post("/api/v1/orders").body_json(&body).send().await;
    assert_eq!(header(&created, "ETag").as_deref(), Some("\"0\""));
    let url = header(&created, "Location").unwrap();
    let stale = client.patch(&url).header("If-Match", "\"7\"").body_json(&json!({"amount": "6"})).send().await;
    assert_problem(stale, 412, "precondition-failed").await;
    let fresh = client.patch(&url).header("If-Match", "\"0\"").body_json(&json!({"amount": "6"})).send().await;
    fresh.assert_status_is_ok();
    assert_eq!(header(&fresh, "ETag").as_deref(), Some("\"1\""));
    client.get(&url).header("If-None-Match", "\"1\"").send().await.assert_status(StatusCode::NOT_MODIFIED);
    client.delete(&url).header("If-Match", "*").send().await.assert_status(StatusCode::NO_CONTENT);
}

/// RFC 9110 §13.2: a request that would fail without its `If-Match` fails the same way with
/// it (404 for a missing record, 422 for an invalid body, weak tag or strong), and tags are
/// compared as exact strings (`"00"` is not `"0"`).
#[tokio::test]
async fn preconditions_are_evaluated_after_existence_and_validity() {
    let client = client();
    let missing = format!("/api/v1/customers/{}", uuid::Uuid::now_v7());
    for tag in ["\"0\"", "W/\"0\"", "\"abc\""] {
        let patched = client.patch(&missing).header("If-Match", tag).body_json(&json!({"name": "x"})).send().await;
        assert_problem(patched, 404, "not-found").await;
        assert_problem(client.delete(&missing).header("If-Match", tag).send().await, 404, "not-found").await;
    }
    let customer = create_customer(&client, "E3").await;
    let body = json!({"customer_id": customer["id"], "item": "Tea", "amount": "5"});
    let url = header(&client.post("/api/v1/orders").body_json(&body).send().await, "Location").unwrap();
    for tag in ["\"7\"", "W/\"0\""] {
        let invalid = client.patch(&url).header("If-Match", tag).body_json(&json!({"amount": "-1"})).send().await;
        assert_problem(invalid, 422, "validation-error").await;
    }
    for tag in ["\"00\"", "\"+0\"", "W/\"0\""] {
        let stale = client.patch(&url).header("If-Match", tag).body_json(&json!({"amount": "6"})).send().await;
        assert_problem(stale, 412, "precondition-failed").await;
    }
    let missing_order = format!("/api/v1/orders/{}", uuid::Uuid::now_v7());
    let patched =
        client.patch(&missing_order).header("If-Match", "W/\"0\"").body_json(&json!({"item": "x"})).send().await;
    assert_problem(patched, 404, "not-found").await;
}

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::{assert_problem, client, create_customer, create_order, json_of};

#[tokio::test]
async fn order_lifecycle_with_exact_amounts() {
    let client = client();
    let customer = create_customer(&client, "C1").await;

    let response = create_order(&client, &customer["id"], json!("250.5")).await;
    response.assert_status(StatusCode::CREATED);
    let location = response.0.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let order = json_of(response).await;
    assert_eq!(order["amount"], "250.50");
    assert_eq!(order["currency"], "KES");
    assert_eq!(order["customer_id"], customer["id"]);
    assert_eq!(location, format!("/api/v1/orders/{}", order["id"].as_str().unwrap()));

    assert_eq!(json_of(client.get(&location).send().await).await, order);

    let patched = client
        .patch(&location)
        .body_json(&json!({"amount": "99.99", "item": "Sugar", "ordered_at": "2026-11-01T10:00:00+03:00"}))
        .send()
        .await;
    patched.assert_status_is_ok();
    let patched = json_of(patched).await;
    assert_eq!(patched["amount"], "99.99");
    assert_eq!(patched["item"], "Sugar");
    let ordered_at = chrono::DateTime::parse_from_rfc3339(patched["ordered_at"].as_str().unwrap()).unwrap();
    assert_eq!(ordered_at.to_rfc3339(), "2026-11-01T07:00:00+00:00");

    let by_customer =
        json_of(client.get(format!("/api/v1/customers/{}/orders", customer["id"].as_str().unwrap())).send().await)
            .await;
    assert_eq!(by_customer["items"], json!([patched]));

    client.delete(&location).send().await.assert_status(StatusCode::NO_CONTENT);
    assert_problem(client.get(&location).send().await, 404, "not-found").await;
}

#[tokio::test]
async fn amounts_are_decimal_strings_never_json_numbers() {
    let client = client();
    let customer = create_customer(&client, "C1").await;
    // The document says `type: string`; a number is refused, so no client can lose digits
    // through a double (`250.499999999999999999` was once rounded to 250.50 and stored).
    for number in ["250.5", "7", "0.30000000000000004", "250.499999999999999999", "2.5e2"] {
        let raw =
            format!(r#"{{"customer_id": "{}", "item": "Tea", "amount": {number}}}"#, customer["id"].as_str().unwrap());
        let response = client.post("/api/v1/orders").content_type("application/json").body(raw).send().await;
        let body = assert_problem(response, 422, "validation-error").await;
        assert_eq!(body["errors"][0]["field"], "amount", "{number}");
    }
    let list = json_of(client.get("/api/v1/orders").send().await).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "nothing stored from refused amounts");
}

#[tokio::test]
async fn null_is_refused_where_a_field_may_only_be_absent() {
    let client = client();
    let customer = create_customer(&client, "C1").await;
    let id = customer["id"].as_str().unwrap();
    for field in ["currency", "ordered_at"] {
        let body = json!({"customer_id": id, "item": "Tea", "amount": "1.00", field: null});
        let response = client.post("/api/v1/orders").body_json(&body).send().await;
        let problem = assert_problem(response, 422, "validation-error").await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    for field in ["name", "code", "phone"] {
        let response = client.patch(format!("/api/v1/customers/{id}")).body_json(&json!({field: null})).send().await;
        let problem = assert_problem(response, 422, "validation-error").await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let unchanged = json_of(client.get(format!("/api/v1/customers/{id}")).send().await).await;
    assert_eq!(unchanged["phone"], customer["phone"]);
}

#[tokio::test]
async fn bad_amounts_and_currencies_are_422_on_the_field() {
    let client = client();
    let customer = create_customer(&client, "C1").await;
    let cases = [
        (json!({"amount": "0"}), "amount"),
        (json!({"amount": "-5"}), "amount"),
        (json!({"amount": "1.005"}), "amount"),
        (json!({"amount": "1e3"}), "amount"),
        (json!({"amount": "10000000000000"}), "amount"),
        (json!({"amount": "12.5", "currency": "JPY"}), "amount"),
        (json!({"amount": "1", "currency": "XYZ"}), "currency"),
        (json!({"amount": "1", "item": " "}), "item"),
        (json!({"amount": "1", "ordered_at": "yesterday"}), "ordered_at"),
        (json!({"amount": true}), "amount"),
    ];
    for (overrides, field) in cases {
        let mut body = json!({"customer_id": customer["id"], "item": "Flour"});
        for (k, v) in overrides.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = client.post("/api/v1/orders").body_json(&body).send().await;
        let problem = assert_problem(response, 422, "validation-error").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
}

#[tokio::test]
async fn order_for_unknown_customer_is_422_on_customer_id() {
    let client = client();
    let response = create_order(&client, &json!(uuid::Uuid::now_v7()), json!("1.00")).await;
    let body = assert_problem(response, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "customer_id");
}

#[tokio::test]
async fn list_filters_by_customer_and_time_range() {
    let client = client();
    let alice = create_customer(&client, "ALICE").await;
    let bob = create_customer(&client, "BOB").await;
    for (customer, day) in [(&alice, 1), (&alice, 2), (&bob, 2), (&alice, 3)] {
        let body = json!({"customer_id": customer["id"], "item": "Tea", "amount": "5", "ordered_at": format!("2026-11-0{day}T12:00:00Z")});
        client.post("/api/v1/orders").body_json(&body).send().await.assert_status(StatusCode::CREATED);
    }
    let count = |v: Value| v["items"].as_array().unwrap().len();

    assert_eq!(count(json_of(client.get("/api/v1/orders").send().await).await), 4);
    let alice_only = client.get(format!("/api/v1/orders?customer_id={}", alice["id"].as_str().unwrap())).send().await;
    assert_eq!(count(json_of(alice_only).await), 3);
    let day_two =
        client.get("/api/v1/orders?ordered_from=2026-11-02T00:00:00Z&ordered_to=2026-11-03T00:00:00Z").send().await;
    assert_eq!(count(json_of(day_two).await), 2);

    let backwards =
        client.get("/api/v1/orders?ordered_from=2026-11-03T00:00:00Z&ordered_to=2026-11-02T00:00:00Z").send().await;
    let body = assert_problem(backwards, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "ordered_to");

    let bad_time = client.get("/api/v1/orders?ordered_from=tuesday").send().await;
    let body = assert_problem(bad_time, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "ordered_from");
}

#[tokio::test]
async fn changing_currency_alone_rechecks_the_amount() {
    let client = client();
    let customer = create_customer(&client, "C1").await;
    let order = json_of(create_order(&client, &customer["id"], json!("10.50")).await).await;
    let url = format!("/api/v1/orders/{}", order["id"].as_str().unwrap());
    let response = client.patch(&url).body_json(&json!({"currency": "JPY"})).send().await;
    assert_problem(response, 422, "validation-error").await;
    let response = client.patch(&url).body_json(&json!({"currency": "USD"})).send().await;
    assert_eq!(json_of(response).await["currency"], "USD");
}

/// Regression: years above 9999 were stored as text that sorts before year 1.
#[tokio::test]
async fn times_outside_the_years_1_to_9999_are_422() {
    let client = client();
    let customer = create_customer(&client, "Y1").await;
    for time in ["+10000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "+99999-12-31T23:59:59Z"] {
        let body = json!({"customer_id": customer["id"], "item": "Tea", "amount": "5", "ordered_at": time});
        let response = client.post("/api/v1/orders").body_json(&body).send().await;
        let problem = assert_problem(response, 422, "validation-error").await;
        assert_eq!(problem["errors"][0]["field"], "ordered_at", "{time}");
    }
    let encoded = "%2B10000-01-01T00:00:00Z";
    let response = client.get(format!("/api/v1/orders?ordered_from={encoded}")).send().await;
    let problem = assert_problem(response, 422, "validation-error").await;
    assert!(problem.to_string().contains("ordered_from"), "{problem}");
    let list = json_of(client.get("/api/v1/orders").send().await).await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

/// Regression: a right-to-left override reached the SMS; a name of zero-width spaces was stored.
#[tokio::test]
async fn direction_changing_and_invisible_text_is_422() {
    let client = client();
    let customer = create_customer(&client, "T1").await;
    let body = json!({"customer_id": customer["id"], "item": "Tea \u{202E}gnp.exe", "amount": "5"});
    let problem =
        assert_problem(client.post("/api/v1/orders").body_json(&body).send().await, 422, "validation-error").await;
    assert_eq!(problem["errors"][0]["field"], "item");
    for name in ["Amina \u{202E}uriJ", "\u{200B}\u{200B}\u{200B}"] {
        let body = json!({"name": name, "code": "T2", "phone": "0712345678"});
        let response = client.post("/api/v1/customers").body_json(&body).send().await;
        let problem = assert_problem(response, 422, "validation-error").await;
        assert_eq!(problem["errors"][0]["field"], "name", "{name:?}");
    }
    let emoji = json!({"customer_id": customer["id"], "item": "👩\u{200D}🌾 eggs", "amount": "5"});
    client.post("/api/v1/orders").body_json(&emoji).send().await.assert_status(StatusCode::CREATED);
}

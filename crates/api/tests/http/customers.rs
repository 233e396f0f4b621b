use poem::http::StatusCode;
use serde_json::json;

use crate::{assert_problem, client, create_customer, create_order, json_of};

#[tokio::test]
async fn customer_lifecycle_create_get_list_patch_delete() {
    let client = client();

    let response = client
        .post("/api/v1/customers")
        .body_json(&json!({"name": "  Amina  ", "code": "AMINA-01", "phone": "0712 345 678"}))
        .send()
        .await;
    response.assert_status(StatusCode::CREATED);
    let location = response.0.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let created = json_of(response).await;
    assert_eq!(created["name"], "Amina");
    assert_eq!(created["phone"], "+254712345678");
    assert_eq!(location, format!("/api/v1/customers/{}", created["id"].as_str().unwrap()));
    assert!(
        created["created_at"].as_str().unwrap().ends_with("+00:00")
            || created["created_at"].as_str().unwrap().ends_with('Z')
    );

    let fetched = json_of(client.get(&location).send().await).await;
    assert_eq!(fetched, created);

    let list = json_of(client.get("/api/v1/customers").send().await).await;
    assert_eq!(list["items"], json!([created]));
    assert!(list.get("next_cursor").is_none());

    let patched = client.patch(&location).body_json(&json!({"phone": "+254 733 000 111"})).send().await;
    patched.assert_status_is_ok();
    let patched = json_of(patched).await;
    assert_eq!(patched["phone"], "+254733000111");
    assert_eq!(patched["name"], "Amina");

    client.delete(&location).send().await.assert_status(StatusCode::NO_CONTENT);
    assert_problem(client.get(&location).send().await, 404, "not-found").await;
    assert_problem(client.delete(&location).send().await, 404, "not-found").await;
}

#[tokio::test]
async fn invalid_customer_lists_every_bad_field() {
    let client = client();
    let response = client
        .post("/api/v1/customers")
        .body_json(&json!({"name": "", "code": "has space", "phone": "12"}))
        .send()
        .await;
    let body = assert_problem(response, 422, "validation-error").await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "code", "phone"]);
}

#[tokio::test]
async fn missing_and_mistyped_fields_are_422_naming_the_field() {
    let client = client();
    let missing = client.post("/api/v1/customers").body_json(&json!({"name": "A", "code": "A"})).send().await;
    let body = assert_problem(missing, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "phone");

    let mistyped = client
        .post("/api/v1/customers")
        .body_json(&json!({"name": 5, "code": "A", "phone": "0712345678"}))
        .send()
        .await;
    let body = assert_problem(mistyped, 422, "validation-error").await;
    assert_eq!(body["errors"][0]["field"], "name");
}

#[tokio::test]
async fn duplicate_code_ignoring_case_is_409() {
    let client = client();
    create_customer(&client, "SHOP-1").await;
    let response = client
        .post("/api/v1/customers")
        .body_json(&json!({"name": "Other", "code": "shop-1", "phone": "0722000000"}))
        .send()
        .await;
    assert_problem(response, 409, "duplicate-code").await;
}

#[tokio::test]
async fn customer_with_orders_cannot_be_deleted() {
    let client = client();
    let customer = create_customer(&client, "C1").await;
    create_order(&client, &customer["id"], json!("10.00")).await.assert_status(StatusCode::CREATED);
    let url = format!("/api/v1/customers/{}", customer["id"].as_str().unwrap());
    assert_problem(client.delete(&url).send().await, 409, "customer-has-orders").await;
    client.get(&url).send().await.assert_status_is_ok();
}

#[tokio::test]
async fn pagination_walks_all_customers_with_opaque_cursors() {
    let client = client();
    for n in 0..5 {
        create_customer(&client, &format!("P{n}")).await;
    }
    let mut codes = Vec::new();
    let mut url = "/api/v1/customers?limit=2".to_owned();
    loop {
        let page = json_of(client.get(&url).send().await).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        codes.extend(items.iter().map(|c| c["code"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("/api/v1/customers?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(codes, ["P4", "P3", "P2", "P1", "P0"]);
}

#[tokio::test]
async fn bad_paging_parameters_are_422() {
    let client = client();
    for query in ["limit=0", "limit=201", "limit=abc", "cursor=not-a-cursor"] {
        let response = client.get(format!("/api/v1/customers?{query}")).send().await;
        let body = assert_problem(response, 422, "validation-error").await;
        let field = body["errors"][0]["field"].as_str().unwrap().to_owned();
        assert!(query.starts_with(&field), "{query}: {body}");
    }
}

#[tokio::test]
async fn orders_of_unknown_customer_is_404() {
    let client = client();
    let response = client.get(format!("/api/v1/customers/{}/orders", uuid::Uuid::now_v7())).send().await;
    assert_problem(response, 404, "not-found").await;
}

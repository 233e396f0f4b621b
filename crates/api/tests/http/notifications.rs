use serde_json::json;

use crate::{WEBHOOK_SECRET, assert_problem, client, create_customer, create_order, json_of};

#[tokio::test]
async fn a_new_order_has_one_pending_sms_to_its_customer() {
    let client = client();
    let customer = create_customer(&client, "C1").await;
    let order = json_of(create_order(&client, &customer["id"], json!("250.50")).await).await;
    let url = format!("/api/v1/orders/{}/notifications", order["id"].as_str().unwrap());
    let list = json_of(client.get(&url).send().await).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["recipient"], "+254712345678");
    assert!(items[0]["message"].as_str().unwrap().contains("Maize flour 2kg, KES 250.50"));

    let retry = format!("{url}/{}/retry", items[0]["id"].as_str().unwrap());
    assert_problem(client.post(&retry).send().await, 409, "notification-not-retryable").await;
    let unknown = format!("{url}/{}/retry", uuid::Uuid::now_v7());
    assert_problem(client.post(&unknown).send().await, 404, "not-found").await;
}

#[tokio::test]
async fn notifications_of_an_unknown_order_are_404() {
    let client = client();
    let url = format!("/api/v1/orders/{}/notifications", uuid::Uuid::now_v7());
    assert_problem(client.get(&url).send().await, 404, "not-found").await;
}

fn report_url(secret: &str) -> String {
    format!("/webhooks/africastalking/delivery-reports/{secret}")
}

#[tokio::test]
async fn the_webhook_checks_its_secret_before_anything_else() {
    let client = client();
    let form = "id=ATXid_1&status=Success&phoneNumber=%2B254712345678&networkCode=99999";
    let response =
        client.post(report_url("wrong")).content_type("application/x-www-form-urlencoded").body(form).send().await;
    assert_problem(response, 401, "unauthenticated").await;
    let response =
        client.post(report_url("wrong")).content_type("application/x-www-form-urlencoded").body("garbage").send().await;
    assert_problem(response, 401, "unauthenticated").await;

    let response = client
        .post(report_url(WEBHOOK_SECRET))
        .content_type("application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await;
    response.assert_status_is_ok();
    assert_eq!(response.0.into_body().into_string().await.unwrap(), "OK", "unknown ids are acknowledged");

    let response = client
        .post(report_url(WEBHOOK_SECRET))
        .content_type("application/x-www-form-urlencoded")
        .body("status=Success")
        .send()
        .await;
    assert_problem(response, 400, "malformed-request").await;
}

#[test]
fn webhook_secrets_never_reach_the_log() {
    use orderdesk_api::middleware::loggable_path;
    assert_eq!(
        loggable_path("/webhooks/africastalking/delivery-reports/abc123"),
        "/webhooks/africastalking/delivery-reports/***"
    );
    assert_eq!(loggable_path("/api/v1/orders"), "/api/v1/orders");
}

/// Regression: `read:orders` alone returned the recipient's full number (customer data).
#[tokio::test]
async fn the_recipient_is_masked_without_read_customers() {
    let services = crate::memory_services();
    let client = crate::client_for(services.clone());
    let customer = create_customer(&client, "C9").await;
    let order = json_of(create_order(&client, &customer["id"], json!("1")).await).await;
    let url = format!("/api/v1/orders/{}/notifications", order["id"].as_str().unwrap());

    let orders_only =
        crate::anonymous_client_for(services.clone()).default_header("authorization", "Bearer only:read:orders");
    let list = json_of(orders_only.get(&url).send().await).await;
    assert_eq!(list["items"][0]["recipient"], "***5678");
    assert!(!list.to_string().contains("712345678"), "{list}");

    let list = json_of(client.get(&url).send().await).await;
    assert_eq!(list["items"][0]["recipient"], "+254712345678", "shown with read:customers");
}

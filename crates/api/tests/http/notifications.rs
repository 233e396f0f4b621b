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

#[tokio::test]
async fn the_summary_counts_every_status_of_the_period() {
    let client = client();
    let customer = create_customer(&client, "SUM").await;
    create_order(&client, &customer["id"], json!("1")).await;
    let now = chrono::Utc::now();
    let (from, to) = ((now - chrono::Duration::hours(1)).to_rfc3339(), (now + chrono::Duration::hours(1)).to_rfc3339());
    let url = format!("/api/v1/notifications/summary?from={}&to={}", from.replace('+', "%2B"), to.replace('+', "%2B"));
    let summary = json_of(client.get(&url).send().await).await;
    let counts = summary["counts"].as_object().unwrap();
    assert_eq!(counts.len(), orderdesk_domain::NotificationStatus::ALL.len(), "{summary}");
    assert_eq!((counts["pending"].as_u64(), counts["failed"].as_u64()), (Some(1), Some(0)));
    assert_eq!(summary["cost"], json!([]), "nothing was sent");

    let earlier = "/api/v1/notifications/summary?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z";
    let empty = json_of(client.get(earlier).send().await).await;
    assert_eq!(empty["counts"]["pending"], 0);
    assert_eq!(empty["from"], "2020-01-01T00:00:00+00:00");
}

#[tokio::test]
async fn the_summary_needs_a_period_of_at_most_366_days() {
    let client = client();
    let field = |body: serde_json::Value| body["errors"][0]["field"].as_str().unwrap_or_default().to_owned();
    let cases = [
        ("from=2026-11-01T00:00:00Z", "to"),
        ("to=2026-11-01T00:00:00Z", "from"),
        ("from=2026-11-01T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
        ("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
        ("from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:01Z", "to"),
        ("from=2026-11-01&to=2026-11-02T00:00:00Z", "from"),
        ("from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:60Z", "to"),
        ("from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&currency=KES", "currency"),
    ];
    for (query, named) in cases {
        let response = client.get(format!("/api/v1/notifications/summary?{query}")).send().await;
        let body = assert_problem(response, 422, "validation-error").await;
        assert_eq!(field(body.clone()), named, "{query}: {body}");
    }
    let year = "/api/v1/notifications/summary?from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z";
    client.get(year).send().await.assert_status_is_ok();
}

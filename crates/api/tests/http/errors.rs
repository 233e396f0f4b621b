use std::sync::Arc;

use orderdesk_adapters::memory::InMemoryStore;
use orderdesk_api::{HttpOptions, app};
use orderdesk_domain::RepoError;
use orderdesk_domain::ports::{MockCustomerRepository, MockHealthCheck};
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::{EndpointExt, IntoEndpoint};
use serde_json::json;

use crate::{WEBHOOK_SECRET, assert_problem, client, client_for, json_of, memory_services, services_with};

#[tokio::test]
async fn malformed_json_is_400() {
    let client = client();
    for body in ["{", "{\"name\": }", "nonsense", ""] {
        let response = client.post("/api/v1/customers").content_type("application/json").body(body).send().await;
        assert_problem(response, 400, "malformed-request").await;
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let client = client();
    let response = client.post("/api/v1/customers").content_type("text/plain").body("{}").send().await;
    assert_problem(response, 415, "unsupported-media-type").await;
    let response = client.post("/api/v1/customers").body("{}").send().await;
    assert_problem(response, 415, "unsupported-media-type").await;
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_with_or_without_length() {
    let client = client();
    let big = format!("{{\"name\": \"{}\", \"code\": \"A\", \"phone\": \"0712345678\"}}", "x".repeat(70 * 1024));
    let response = client.post("/api/v1/customers").content_type("application/json").body(big.clone()).send().await;
    assert_problem(response, 413, "payload-too-large").await;

    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(big))]);
    let chunked = poem::Body::from_bytes_stream(stream);
    let response = client.post("/api/v1/customers").content_type("application/json").body(chunked).send().await;
    assert_problem(response, 413, "payload-too-large").await;
}

#[tokio::test]
async fn unknown_routes_methods_and_ids_are_problems() {
    let client = client();
    assert_problem(client.get("/api/v1/nothing").send().await, 404, "not-found").await;
    assert_problem(client.get("/api/v1/customers/not-a-uuid").send().await, 404, "not-found").await;
    assert_problem(client.put("/api/v1/customers").send().await, 405, "method-not-allowed").await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_reuses_a_sane_one() {
    let client = client();
    let response = client.get("/healthz").send().await;
    response.assert_status_is_ok();
    assert!(!response.0.headers().get("x-request-id").unwrap().is_empty());

    let response = client.get("/healthz").header("x-request-id", "abc-123").send().await;
    assert_eq!(response.0.headers().get("x-request-id").unwrap(), "abc-123");
    let response = client.get("/healthz").header("x-request-id", "evil\tvalue").send().await;
    assert_ne!(response.0.headers().get("x-request-id").unwrap(), "evil\tvalue");
}

#[tokio::test]
async fn storage_outage_is_503_with_retry_after_and_no_internals() {
    let mut repo = MockCustomerRepository::new();
    repo.expect_list().returning(|_| Err(RepoError::Unavailable("connection refused to db.internal:5432".into())));
    repo.expect_find().returning(|_| Err(RepoError::Unexpected("syntax error at SELECT secret".into())));
    let client = client_for(services_with(Arc::new(repo), Arc::new(InMemoryStore::default())));

    let response = client.get("/api/v1/customers").send().await;
    assert_eq!(response.0.headers().get("retry-after").unwrap(), "1");
    let body = assert_problem(response, 503, "service-unavailable").await;
    assert!(!body.to_string().contains("db.internal"));

    let response = client.get(format!("/api/v1/customers/{}", uuid::Uuid::now_v7())).send().await;
    let body = assert_problem(response, 500, "internal-error").await;
    assert!(!body.to_string().contains("secret"));
}

#[tokio::test]
async fn readiness_follows_the_database_and_panics_become_500_problems() {
    let mut down = MockHealthCheck::new();
    down.expect_ping().returning(|| Err(RepoError::Unavailable("down".into())));
    let client = client_for(services_with(Arc::new(InMemoryStore::default()), Arc::new(down)));
    assert_problem(client.get("/readyz").send().await, 503, "service-unavailable").await;
    client.get("/healthz").send().await.assert_status_is_ok();

    let mut panicking = MockHealthCheck::new();
    panicking.expect_ping().returning(|| panic!("bug in a port"));
    let client = client_for(services_with(Arc::new(InMemoryStore::default()), Arc::new(panicking)));
    let response = client.get("/readyz").send().await;
    assert!(response.0.headers().contains_key("x-request-id"));
    assert_problem(response, 500, "internal-error").await;
}

#[tokio::test]
async fn problem_types_are_documented_at_their_uri() {
    let client = client();
    let response = client.get("/problems/duplicate-code").send().await;
    response.assert_status(StatusCode::OK);
    let text = response.0.into_body().into_string().await.unwrap();
    assert!(text.contains("Customer code already in use"));
    assert_problem(client.get("/problems/nope").send().await, 404, "not-found").await;
    let ready = json_of(client.get("/readyz").send().await).await;
    assert_eq!(ready, json!({"status": "ok"}));
}

#[tokio::test]
async fn the_413_text_names_the_configured_limit_not_the_default() {
    let options = HttpOptions { max_body_bytes: 2048, ..HttpOptions::default() };
    let endpoint = app(memory_services(), options).into_endpoint().map_to_response().boxed();
    let client = TestClient::new(endpoint).default_header("authorization", "Bearer full");
    let big = format!("{{\"name\": \"{}\", \"code\": \"A\", \"phone\": \"0712345678\"}}", "x".repeat(2100));
    let response = client.post("/api/v1/customers").content_type("application/json").body(big).send().await;
    let problem = assert_problem(response, 413, "payload-too-large").await;
    assert_eq!(problem["detail"], "the request body is over the 2 KiB limit (2048 bytes)");

    // The published contract does not promise the default either.
    let document: serde_json::Value = serde_json::from_str(&orderdesk_api::openapi_json()).unwrap();
    let too_large = &document["paths"]["/api/v1/customers"]["post"]["responses"]["413"]["description"];
    assert!(
        too_large.as_str().is_some_and(|d| d.contains("http.max_body_bytes") && !d.contains("64 KiB")),
        "{too_large}"
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_on_every_kind_of_route() {
    let client = client();
    let id = uuid::Uuid::now_v7();
    let cases = [
        client.put("/api/v1/customers"),
        client.delete("/api/v1/orders"),
        client.post(format!("/api/v1/customers/{id}")),
        client.post(format!("/api/v1/customers/{id}/orders")),
        client.put(format!("/api/v1/orders/{id}/notifications")),
        client.get(format!("/api/v1/orders/{id}/notifications/{id}/retry")),
        client.post("/healthz"),
        client.delete("/readyz"),
        client.get(format!("/webhooks/africastalking/delivery-reports/{WEBHOOK_SECRET}")),
        client.delete("/openapi.json"),
        client.post("/docs"),
        client.post("/problems/not-found"),
    ];
    let mut wrong = Vec::new();
    for (i, request) in cases.into_iter().enumerate() {
        let response = request.send().await;
        let status = response.0.status().as_u16();
        let body: serde_json::Value = response.0.into_body().into_json().await.unwrap_or_default();
        if status != 405 || body["type"] != "/problems/method-not-allowed" || body["status"] != 405 {
            wrong.push(format!("case {i}: {status} {}", body["type"]));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

use poem::http::StatusCode;
use serde_json::json;

use crate::{SUBJECT, anonymous_client_for, assert_problem, client, create_customer, json_of, memory_services};

/// Every operation under /api/v1 with the permission it needs.
fn operations(id: &str) -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("POST", "/api/v1/customers".into(), "write:customers"),
        ("GET", "/api/v1/customers".into(), "read:customers"),
        ("GET", format!("/api/v1/customers/{id}"), "read:customers"),
        ("PATCH", format!("/api/v1/customers/{id}"), "write:customers"),
        ("DELETE", format!("/api/v1/customers/{id}"), "write:customers"),
        ("GET", format!("/api/v1/customers/{id}/orders"), "read:orders"),
        ("POST", "/api/v1/orders".into(), "write:orders"),
        ("GET", "/api/v1/orders".into(), "read:orders"),
        ("GET", format!("/api/v1/orders/{id}"), "read:orders"),
        ("PATCH", format!("/api/v1/orders/{id}"), "write:orders"),
        ("DELETE", format!("/api/v1/orders/{id}"), "write:orders"),
        (
            "GET",
            "/api/v1/notifications/summary?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z".into(),
            "read:orders",
        ),
        ("POST", "/api/v1/webhook-endpoints".into(), "manage:webhooks"),
        ("GET", "/api/v1/webhook-endpoints".into(), "manage:webhooks"),
        ("GET", format!("/api/v1/webhook-endpoints/{id}"), "manage:webhooks"),
        ("DELETE", format!("/api/v1/webhook-endpoints/{id}"), "manage:webhooks"),
        ("POST", format!("/api/v1/webhook-endpoints/{id}/rotate-secret"), "manage:webhooks"),
        ("POST", format!("/api/v1/webhook-endpoints/{id}/enable"), "manage:webhooks"),
        ("POST", format!("/api/v1/webhook-endpoints/{id}/test"), "manage:webhooks"),
        ("GET", format!("/api/v1/webhook-endpoints/{id}/deliveries"), "manage:webhooks"),
    ]
}

async fn call(client: &crate::Client, method: &str, path: &str, token: Option<&str>) -> poem::test::TestResponse {
    let request = match method {
        "POST" => client.post(path),
        "PATCH" => client.patch(path),
        "DELETE" => client.delete(path),
        _ => client.get(path),
    };
    let request = match token {
        Some(token) => request.header("authorization", format!("Bearer {token}")),
        None => request,
    };
    if matches!(method, "POST" | "PATCH") { request.body_json(&json!({})).send().await } else { request.send().await }
}

#[tokio::test]
async fn every_operation_refuses_calls_without_a_token() {
    let client = anonymous_client_for(memory_services());
    for (method, path, _) in operations(&uuid::Uuid::now_v7().to_string()) {
        let response = call(&client, method, &path, None).await;
        assert_eq!(response.0.headers()["www-authenticate"], "Bearer realm=\"orderdesk\"", "{method} {path}");
        assert_problem(response, 401, "unauthenticated").await;
    }
}

#[tokio::test]
async fn a_refused_token_is_401_with_the_reason_in_www_authenticate() {
    let client = anonymous_client_for(memory_services());
    let response = call(&client, "GET", "/api/v1/customers", Some("stale")).await;
    assert_eq!(
        response.0.headers()["www-authenticate"],
        "Bearer realm=\"orderdesk\", error=\"invalid_token\", error_description=\"The token has expired\""
    );
    let body = assert_problem(response, 401, "unauthenticated").await;
    assert_eq!(body["detail"], "The token has expired");
}

#[tokio::test]
async fn tokens_in_the_query_string_are_ignored() {
    let client = anonymous_client_for(memory_services());
    let response = client.get("/api/v1/customers?access_token=full").send().await;
    assert_problem(response, 401, "unauthenticated").await;
}

#[tokio::test]
async fn each_operation_is_403_without_its_permission_and_allowed_with_only_it() {
    let client = anonymous_client_for(memory_services());
    for (method, path, permission) in operations(&uuid::Uuid::now_v7().to_string()) {
        let response = call(&client, method, &path, Some("none")).await;
        assert_eq!(
            response.0.headers()["www-authenticate"],
            format!(
                "Bearer realm=\"orderdesk\", error=\"insufficient_scope\", error_description=\"This operation requires the {permission} permission\", scope=\"{permission}\""
            ),
        );
        assert_problem(response, 403, "insufficient-permission").await;

        let allowed = call(&client, method, &path, Some(&format!("only:{permission}"))).await;
        let status = allowed.0.status();
        assert!(status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED, "{method} {path}: {status}");
    }
}

#[tokio::test]
async fn probes_docs_and_the_document_need_no_token() {
    let client = anonymous_client_for(memory_services());
    for path in ["/healthz", "/readyz", "/openapi.json", "/docs", "/problems/unauthenticated"] {
        client.get(path).send().await.assert_status_is_ok();
    }
}

#[tokio::test]
async fn the_caller_is_recorded_as_creator_and_last_editor() {
    let client = client();
    let customer = create_customer(&client, "AUDIT").await;
    assert_eq!(customer["created_by"], SUBJECT);
    assert_eq!(customer["updated_by"], SUBJECT);
    let url = format!("/api/v1/customers/{}", customer["id"].as_str().unwrap());
    let changed = json_of(client.patch(&url).body_json(&json!({"name": "Renamed"})).send().await).await;
    assert_eq!(changed["updated_by"], SUBJECT);
}

#[test]
fn the_document_declares_the_bearer_scheme_on_every_api_operation() {
    let doc: serde_json::Value = serde_json::from_str(&orderdesk_api::openapi_json()).unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["BearerAuth"]["scheme"], "bearer");
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(secured, path.starts_with("/api/v1"), "{method} {path}");
            if secured {
                assert!(op["description"].as_str().unwrap_or_default().contains("Requires the"), "{method} {path}");
                assert!(op["responses"]["401"].is_object() && op["responses"]["403"].is_object());
            }
        }
    }
}

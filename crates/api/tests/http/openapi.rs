use serde_json::Value;

use crate::client;

fn document() -> Value {
    serde_json::from_str(&orderdesk_api::openapi_json()).unwrap()
}

#[test]
fn committed_openapi_document_is_fresh() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json"))
        .expect("docs/openapi.json exists; write it with `cargo xtask openapi`");
    let committed: Value = serde_json::from_str(&committed).unwrap();
    assert!(committed == document(), "docs/openapi.json is stale: run `cargo xtask openapi` and commit it");
}

#[test]
fn every_operation_has_an_id_summary_and_problem_responses() {
    let doc = document();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/customers/{id}/orders",
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["operationId"].is_string(), "{method} {path}");
            assert!(op["summary"].is_string(), "{method} {path}");
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(response["content"]["application/problem+json"].is_object(), "{method} {path} {status}");
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["Customer", "NewCustomer", "Order", "NewOrder", "Problem"] {
        assert!(schemas[name]["example"].is_object(), "{name} has no example");
    }
}

#[tokio::test]
async fn server_serves_the_document_and_interactive_docs() {
    let client = client();
    let response = client.get("/openapi.json").send().await;
    response.assert_status_is_ok();
    let served: Value = response.0.into_body().into_json().await.unwrap();
    assert_eq!(served["info"]["title"], "orderdesk");
    let docs = client.get("/docs").send().await;
    docs.assert_status_is_ok();
    assert!(docs.0.into_body().into_string().await.unwrap().contains("swagger"));
}

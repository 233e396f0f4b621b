use serde_json::{Value, json};

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

/// Length, pattern and range constraints in the document are the domain's own.
#[test]
fn document_constraints_come_from_the_domain_constants() {
    use orderdesk_domain::idempotency::IdempotencyKey;
    use orderdesk_domain::{CustomerCode, CustomerName, ItemName, Money, PageRequest, PhoneNumber};

    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let n = |v: usize| Some(v as u64);
    for name in ["NewCustomer", "CustomerChanges"] {
        let fields = &schemas[name]["properties"];
        assert_eq!(fields["name"]["maxLength"].as_u64(), n(CustomerName::MAX_CHARS), "{name}.name");
        assert_eq!(fields["name"]["minLength"].as_u64(), Some(1), "{name}.name");
        assert_eq!(fields["code"]["maxLength"].as_u64(), n(CustomerCode::MAX_CHARS), "{name}.code");
        assert_eq!(fields["code"]["pattern"], CustomerCode::PATTERN, "{name}.code");
        assert_eq!(fields["phone"]["maxLength"].as_u64(), n(PhoneNumber::MAX_INPUT_BYTES), "{name}.phone");
    }
    for name in ["NewOrder", "OrderChanges"] {
        let fields = &schemas[name]["properties"];
        assert_eq!(fields["item"]["maxLength"].as_u64(), n(ItemName::MAX_CHARS), "{name}.item");
        assert_eq!(fields["amount"]["pattern"], Money::PATTERN, "{name}.amount");
        assert_eq!(fields["amount"]["type"], "string", "{name}.amount");
        assert_eq!(fields["amount"]["maxLength"].as_u64(), n(Money::MAX_CHARS), "{name}.amount");
        assert_eq!(fields["currency"]["pattern"], orderdesk_domain::Currency::PATTERN, "{name}.currency");
    }
    let (mut limits, mut keys, mut cursors) = (0, 0, 0);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                let schema = &parameter["schema"];
                match parameter["name"].as_str().unwrap() {
                    "limit" => {
                        limits += 1;
                        assert_eq!(schema["maximum"].as_f64(), Some(PageRequest::MAX_LIMIT as f64), "{method} {path}");
                        assert_eq!(schema["minimum"].as_f64(), Some(1.0), "{method} {path}");
                    }
                    // `listEvents` reads on `after` a cursor.
                    "cursor" | "after" => {
                        cursors += 1;
                        let chars = n(orderdesk_api::dto::CURSOR_CHARS);
                        assert_eq!((schema["minLength"].as_u64(), schema["maxLength"].as_u64()), (chars, chars));
                    }
                    "Idempotency-Key" => {
                        keys += 1;
                        assert_eq!(schema["maxLength"].as_u64(), n(IdempotencyKey::MAX_LEN), "{method} {path}");
                        assert_eq!(schema["minLength"].as_u64(), Some(1), "{method} {path}");
                    }
                    _ => {}
                }
            }
        }
    }
    assert_eq!(
        (limits, keys, cursors),
        (7, 3, 7),
        "every list has `limit` and `cursor`; creating a customer or an order and changing a status take \
         `Idempotency-Key` (not creating a webhook endpoint: a replay would keep its secret in the key store)"
    );
    let endpoint = &schemas["NewWebhookEndpoint"]["properties"];
    use orderdesk_domain::webhook::{WebhookDescription, WebhookUrl};
    assert_eq!(endpoint["url"]["maxLength"].as_u64(), n(WebhookUrl::MAX_CHARS));
    assert_eq!(endpoint["description"]["maxLength"].as_u64(), n(WebhookDescription::MAX_CHARS));
    let patterns = orderdesk_domain::service::MAX_EVENT_PATTERNS;
    assert_eq!(endpoint["events"]["maxItems"].as_u64(), n(patterns));
    let lookup = |name: &str| {
        let parameters = doc["paths"]["/api/v1/customers"]["get"]["parameters"].as_array().unwrap();
        parameters.iter().find(|p| p["name"] == name).unwrap()["schema"].clone()
    };
    assert_eq!(lookup("phone")["maxLength"].as_u64(), n(PhoneNumber::MAX_INPUT_BYTES));
    assert_eq!(lookup("code")["maxLength"].as_u64(), n(CustomerCode::MAX_CHARS));
    use orderdesk_domain::service::CustomerListQuery;
    let q = lookup("q");
    assert_eq!(
        (q["minLength"].as_u64(), q["maxLength"].as_u64()),
        (n(CustomerListQuery::MIN_TEXT), n(CustomerListQuery::MAX_TEXT))
    );
    assert_eq!(lookup("updated_since")["format"], "date-time", "checked as strictly as ordered_from");
    let note = &schemas["OrderStatusChange"]["properties"]["note"];
    assert_eq!(note["maxLength"].as_u64(), n(orderdesk_domain::StatusNote::MAX_CHARS));
}

/// Each operation lists its own error statuses, each with its `type` values and an example.
#[test]
fn each_operation_lists_only_its_own_problems() {
    let doc = document();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(
        statuses("/api/v1/customers/{id}", "get"),
        ["200", "304", "401", "403", "404", "422", "429", "500", "503"]
    );
    assert_eq!(statuses("/api/v1/orders", "get"), ["200", "401", "403", "404", "422", "429", "500", "503"]);
    assert_eq!(
        statuses("/api/v1/customers/{id}", "delete"),
        ["204", "400", "401", "403", "404", "409", "412", "422", "429", "500", "503"]
    );
    assert_eq!(statuses("/readyz", "get"), ["200", "500", "503"]);
    assert_eq!(
        statuses("/api/v1/orders/{id}/status", "post"),
        ["200", "400", "401", "403", "404", "408", "409", "412", "413", "415", "422", "429", "500", "503"]
    );
    let delete_conflict = &doc["paths"]["/api/v1/orders/{id}"]["delete"]["responses"]["409"]["content"]["application/problem+json"]
        ["schema"];
    assert_eq!(delete_conflict["properties"]["type"]["enum"], json!(["/problems/order-has-history"]));
    // Statuses are an open list: a plain string, so generated clients accept a new value.
    for (schema, field) in [("Order", "status"), ("Order", "cancel_reason"), ("OrderHistoryEntry", "status")] {
        let property = &doc["components"]["schemas"][schema]["properties"][field];
        assert_eq!((&property["type"], property.get("enum")), (&json!("string"), None), "{schema}.{field}");
    }
    let conflict =
        &doc["paths"]["/api/v1/customers"]["post"]["responses"]["409"]["content"]["application/problem+json"]["schema"];
    assert_eq!(
        conflict["properties"]["type"]["enum"],
        json!(["/problems/duplicate-code", "/problems/idempotency-key-in-use"])
    );

    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if !status.starts_with(['4', '5']) {
                    continue;
                }
                let schema = &response["content"]["application/problem+json"]["schema"];
                let types = schema["properties"]["type"]["enum"].as_array().expect("a `type` enum");
                let example = &schema["example"];
                assert!(types.contains(&example["type"]), "{method} {path} {status}: example of another type");
                assert_eq!(example["status"].as_u64().map(|s| s.to_string()).as_deref(), Some(status.as_str()));
            }
        }
    }
}

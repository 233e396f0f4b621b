//! `/api/v1/webhook-endpoints` through the router on the in-memory store: shapes, the secret
//! shown only when made, every refusal as a problem.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::{assert_problem, client, json_of};

const URL: &str = "/api/v1/webhook-endpoints";

async fn create(client: &crate::Client, body: Value) -> poem::test::TestResponse {
    client.post(URL).body_json(&body).send().await
}

#[tokio::test]
async fn an_endpoint_is_created_with_its_secret_shown_once_then_read_listed_rotated_tested_and_deleted() {
    let client = client();
    let response = create(
        &client,
        json!({"url": "https://erp.example.com/hooks", "events": ["order.*", "customer.created"], "description": " ERP "}),
    )
    .await;
    response.assert_status(StatusCode::CREATED);
    let location = response.0.headers()["location"].to_str().unwrap().to_owned();
    let created = json_of(response).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("{URL}/{id}"));
    assert_eq!(created["secret"], format!("whsec_{}", "5a".repeat(32)));
    assert_eq!(created["events"], json!(["order.*", "customer.created"]));
    assert_eq!(created["description"], "ERP");
    assert_eq!(created["status"], "enabled");
    assert!(created.get("previous_secret_expires_at").is_none());

    let read = json_of(client.get(&location).send().await).await;
    assert!(read.get("secret").is_none(), "the secret is never shown again: {read}");
    assert_eq!(read["url"], "https://erp.example.com/hooks");
    let listed = json_of(client.get(URL).send().await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none());

    let rotated = client.post(format!("{location}/rotate-secret")).send().await;
    rotated.assert_status_is_ok();
    let rotated = json_of(rotated).await;
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(rotated["previous_secret_expires_at"].is_string(), "{rotated}");

    let tested = client.post(format!("{location}/test")).send().await;
    tested.assert_status_is_ok();
    let tested = json_of(tested).await;
    assert_eq!((tested["delivered"].clone(), tested["status_code"].clone()), (json!(true), json!(200)));
    let deliveries = json_of(client.get(format!("{location}/deliveries")).send().await).await;
    let attempt = &deliveries["items"][0];
    assert_eq!(
        (attempt["event_type"].as_str(), attempt["test"].as_bool()),
        (Some("webhook_endpoint.test"), Some(true))
    );
    assert_eq!(attempt["event_id"], tested["event_id"]);
    assert_eq!(attempt["outcome"], "delivered");

    let enabled = json_of(client.post(format!("{location}/enable")).send().await).await;
    assert_eq!(enabled["status"], "enabled", "enabling an enabled endpoint changes nothing");

    client.delete(&location).send().await.assert_status(StatusCode::NO_CONTENT);
    for (method, path) in [
        ("GET", location.clone()),
        ("DELETE", location.clone()),
        ("POST", format!("{location}/rotate-secret")),
        ("POST", format!("{location}/enable")),
        ("POST", format!("{location}/test")),
        ("GET", format!("{location}/deliveries")),
    ] {
        let response = match method {
            "GET" => client.get(&path).send().await,
            "DELETE" => client.delete(&path).send().await,
            _ => client.post(&path).send().await,
        };
        assert_problem(response, 404, "not-found").await;
    }
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_each_field() {
    let client = client();
    let cases = [
        (json!({"url": "ftp://x.example", "events": ["order.*"]}), "url"),
        (json!({"url": "https://refused.example/x", "events": ["order.*"]}), "url"),
        (json!({"url": "https://ok.example/x", "events": []}), "events"),
        (json!({"url": "https://ok.example/x", "events": ["order.shipped"]}), "events"),
        (json!({"url": "https://ok.example/x", "events": ["order.created,customer.*"]}), "events"),
        (json!({"url": "https://ok.example/x", "events": ["*"], "description": null}), "description"),
        (json!({"url": "https://ok.example/x", "events": ["*"], "description": "   "}), "description"),
        (json!({"url": "https://ok.example/x", "events": ["*"], "secret": "mine"}), "secret"),
        (json!({"events": ["*"]}), "url"),
        (json!({"url": "https://ok.example/x"}), "events"),
        (json!({"url": format!("https://ok.example/{}", "a".repeat(2048)), "events": ["*"]}), "url"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(create(&client, body.clone()).await, 422, "validation-error").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let refused = assert_problem(
        create(&client, json!({"url": "https://refused.example/x", "events": ["*"]})).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(refused["errors"][0]["message"], "must use https (test)");
    let malformed = client.post(URL).content_type("application/json").body("{").send().await;
    assert_problem(malformed, 400, "malformed-request").await;
    let not_json = client.post(URL).content_type("text/plain").body("x").send().await;
    assert_problem(not_json, 415, "unsupported-media-type").await;
    assert_problem(client.get(format!("{URL}/not-a-uuid")).send().await, 404, "not-found").await;
    assert_problem(client.get(format!("{URL}?cursor=abc")).send().await, 422, "validation-error").await;
}

#[tokio::test]
async fn lists_page_newest_first() {
    let client = client();
    for n in 0..3 {
        let body = json!({"url": format!("https://erp.example.com/{n}"), "events": ["*"]});
        create(&client, body).await.assert_status(StatusCode::CREATED);
    }
    let first = json_of(client.get(format!("{URL}?limit=2")).send().await).await;
    assert_eq!(first["items"][0]["url"], "https://erp.example.com/2");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = json_of(client.get(format!("{URL}?limit=2&cursor={cursor}")).send().await).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["url"], "https://erp.example.com/0");
    assert!(rest.get("next_cursor").is_none());
}

//! Outgoing webhooks end to end on each database: a receiver on loopback (the dev profile
//! allows it) gets signed events that verify, a 500 is retried, a receiver that keeps failing
//! gets its endpoint disabled, rotation signs with both secrets, and with private targets off
//! such URLs are refused.

use std::future::Future;
use std::time::{Duration, Instant};

use orderdesk_adapters::testing::on_each_backend;
use orderdesk_domain::webhook::verify_signature;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, spawn_app_with};

const ENDPOINTS: &str = "/api/v1/webhook-endpoints";

/// A fast dispatcher and a retry window of `retry_for` (the first retry comes at its end).
fn fast(retry_for: &'static str) -> impl FnOnce(&mut orderdesk_server::settings::Settings) {
    move |s| {
        s.webhooks.poll_interval_ms = 50;
        s.webhooks.retry_for = retry_for.into();
    }
}

/// Polls `check` until it gives a value, for at most ten seconds.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn received(receiver: &MockServer, at_least: usize) -> Vec<Request> {
    eventually("the receiver's requests", || async {
        let requests = receiver.received_requests().await.unwrap_or_default();
        (requests.len() >= at_least).then_some(requests)
    })
    .await
}

async fn create_endpoint(app: &TestApp, url: &str, events: Value) -> reqwest::Response {
    app.http.post(app.url(ENDPOINTS)).json(&json!({"url": url, "events": events})).send().await.unwrap()
}

async fn get(app: &TestApp, path: &str) -> Value {
    app.http.get(app.url(path)).send().await.unwrap().json().await.unwrap()
}

/// The request's `Orderdesk-Signature`, checked against each secret over the exact body.
fn assert_signed(request: &Request, secrets: &[&str]) {
    let header = request.headers["orderdesk-signature"].to_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    for secret in secrets {
        let verified = verify_signature(header, secret, &request.body, now, 300);
        assert!(verified.is_ok(), "{header} does not verify with {secret}: {verified:?}");
    }
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_loopback_receiver_gets_signed_order_events_and_a_500_is_retried_until_delivered() {
    on_each_backend(|db| async move {
        let receiver = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).up_to_n_times(1).mount(&receiver).await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&receiver).await;
        let app = spawn_app_with(&db, fast("2s")).await;

        let created = create_endpoint(&app, &format!("{}/orderdesk", receiver.uri()), json!(["order.*"])).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let endpoint: Value = created.json().await.unwrap();
        let secret = endpoint["secret"].as_str().unwrap().to_owned();
        let customer: Value = app.post_customer("HOOKS-1").await.json().await.unwrap();
        let order: Value = app.post_order(&customer["id"], "250.50").await.json().await.unwrap();

        let requests = received(&receiver, 2).await;
        for request in &requests {
            assert_signed(request, &[&secret]);
            let event = body(request);
            assert_eq!(request.headers["orderdesk-event-id"].to_str().unwrap(), event["id"].as_str().unwrap());
            assert_eq!(request.headers["content-type"], "application/json");
            assert_eq!(event["type"], "order.created", "customer.created is not selected");
            assert_eq!(event["data"]["object"]["id"], order["id"]);
            assert_eq!(event["data"]["object"]["amount"], "250.50");
        }
        assert_eq!(body(&requests[0])["id"], body(&requests[1])["id"], "the retry carries the same event");
        assert_eq!(requests[0].body, requests[1].body, "and the same body");

        let deliveries_path = format!("{ENDPOINTS}/{}/deliveries", endpoint["id"].as_str().unwrap());
        let attempts = eventually("both attempts listed", || async {
            let list = get(&app, &deliveries_path).await;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            (items.len() == 2).then_some(items)
        })
        .await;
        assert_eq!(
            (attempts[0]["status_code"].as_u64(), attempts[0]["outcome"].as_str()),
            (Some(200), Some("delivered"))
        );
        assert_eq!((attempts[1]["status_code"].as_u64(), attempts[1]["outcome"].as_str()), (Some(500), Some("retry")));
        assert_eq!((attempts[0]["attempt"].as_u64(), attempts[1]["attempt"].as_u64()), (Some(2), Some(1)));
        assert!(attempts.iter().all(|a| a["event_id"] == body(&requests[0])["id"] && a["test"] == false));
        assert!(attempts[0]["attempted_at"].as_str() > attempts[1]["attempted_at"].as_str());
        let read = get(&app, &format!("{ENDPOINTS}/{}", endpoint["id"].as_str().unwrap())).await;
        assert_eq!(read["status"], "enabled");
        assert!(read.get("secret").is_none());
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_whose_receiver_keeps_failing_ends_disabled_saying_why_and_can_be_enabled_again() {
    on_each_backend(|db| async move {
        let receiver = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).mount(&receiver).await;
        let app = spawn_app_with(&db, fast("1s")).await;
        let endpoint: Value =
            create_endpoint(&app, &receiver.uri(), json!(["order.created"])).await.json().await.unwrap();
        let path = format!("{ENDPOINTS}/{}", endpoint["id"].as_str().unwrap());
        let customer: Value = app.post_customer("HOOKS-2").await.json().await.unwrap();
        app.post_order(&customer["id"], "10").await;

        let disabled = eventually("the endpoint disabled", || async {
            let read = get(&app, &path).await;
            (read["status"] == "disabled").then_some(read)
        })
        .await;
        let reason = disabled["disabled_reason"].as_str().unwrap();
        assert!(reason.contains("kept failing for 1 second") && reason.contains("HTTP 500"), "{reason}");
        assert!(disabled["disabled_at"].is_string());
        let attempts = get(&app, &format!("{path}/deliveries")).await;
        let items = attempts["items"].as_array().unwrap();
        assert_eq!(items[0]["outcome"], "failed");
        assert!(items.iter().all(|a| a["status_code"] == 500));
        assert!(items.len() >= 2, "retried before giving up: {attempts}");

        // Nothing new goes to a disabled endpoint; a test still does, to check a fix.
        let before = receiver.received_requests().await.unwrap().len();
        app.post_order(&customer["id"], "11").await;
        let tested: Value = app.http.post(app.url(&format!("{path}/test"))).send().await.unwrap().json().await.unwrap();
        assert_eq!((tested["delivered"].as_bool(), tested["status_code"].as_u64()), (Some(false), Some(500)));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received_requests().await.unwrap().len(), before + 1, "only the test was sent");

        let enabled: Value =
            app.http.post(app.url(&format!("{path}/enable"))).send().await.unwrap().json().await.unwrap();
        assert_eq!(enabled["status"], "enabled");
        assert!(enabled.get("disabled_reason").is_none());
    })
    .await;
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_and_the_test_event_describes_the_endpoint() {
    on_each_backend(|db| async move {
        let receiver = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&receiver).await;
        let app = spawn_app_with(&db, fast("72h")).await;
        let endpoint: Value = create_endpoint(&app, &receiver.uri(), json!(["*"])).await.json().await.unwrap();
        let path = format!("{ENDPOINTS}/{}", endpoint["id"].as_str().unwrap());
        let old = endpoint["secret"].as_str().unwrap().to_owned();

        let rotated = app.http.post(app.url(&format!("{path}/rotate-secret"))).send().await.unwrap();
        assert_eq!(rotated.status(), StatusCode::OK);
        let rotated: Value = rotated.json().await.unwrap();
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert!(rotated["previous_secret_expires_at"].is_string());

        let tested: Value = app.http.post(app.url(&format!("{path}/test"))).send().await.unwrap().json().await.unwrap();
        assert_eq!((tested["delivered"].as_bool(), tested["status_code"].as_u64()), (Some(true), Some(204)));
        let request = received(&receiver, 1).await.remove(0);
        let header = request.headers["orderdesk-signature"].to_str().unwrap();
        assert_eq!(header.matches("v1=").count(), 2, "{header}");
        assert_signed(&request, &[&new, &old]);
        let event = body(&request);
        assert_eq!(event["type"], "webhook_endpoint.test");
        assert_eq!(event["id"], tested["event_id"]);
        assert_eq!(event["data"]["object"]["id"], endpoint["id"]);
        let text = String::from_utf8_lossy(&request.body);
        assert!(!text.contains(&new) && !text.contains(&old), "no secret in a body: {text}");

        let deliveries = get(&app, &format!("{path}/deliveries")).await;
        assert_eq!(deliveries["items"][0]["test"], true);
        assert_eq!(deliveries["items"][0]["status_code"], 204);
        app.http.delete(app.url(&path)).send().await.unwrap();
        assert_eq!(app.http.get(app.url(&path)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn with_private_targets_off_as_in_production_plain_http_and_private_addresses_are_refused() {
    on_each_backend(|db| async move {
        let app = spawn_app_with(&db, |s| s.webhooks.allow_private_targets = Some(false)).await;
        for (url, words) in [
            ("https://127.0.0.1:8443/hooks", "127.0.0.1, a loopback address"),
            ("https://10.0.0.7/hooks", "a private address"),
            ("https://169.254.169.254/latest", "a link-local address"),
            ("https://localhost/hooks", "localhost resolves to"),
            ("http://hooks.example.com/x", "must use https"),
        ] {
            let response = create_endpoint(&app, url, json!(["order.*"])).await;
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["type"], "/problems/validation-error");
            assert_eq!(problem["errors"][0]["field"], "url");
            let message = problem["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains(words), "{url}: {message}");
        }
        let listed = get(&app, ENDPOINTS).await;
        assert_eq!(listed["items"], json!([]), "nothing was stored");
    })
    .await;
}

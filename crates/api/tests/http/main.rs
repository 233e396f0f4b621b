//! The API through the real router, in process, on the adapters' in-memory store (or mocks for failures).
#![allow(clippy::unwrap_used)]

mod auth;
mod csv;
mod customers;
mod errors;
mod inbox;
mod notifications;
mod openapi;
mod orders;
mod rate_limit;
mod retries;
mod webhook_endpoints;

use std::sync::Arc;
use std::time::Duration;

use orderdesk_adapters::OutboxCounters;
use orderdesk_adapters::memory::InMemoryStore;
use orderdesk_api::events::JsonEventEncoder;
use orderdesk_api::{HttpOptions, Services, app};
use orderdesk_domain::auth::{MockTokenVerifier, TokenVerifier};
use orderdesk_domain::notification::{MessageTemplate, SmsCatalog};
use orderdesk_domain::ports::{CustomerRepository, HealthCheck, NoSignal, SystemClock};
use orderdesk_domain::ports::{MockSecretGenerator, MockWebhookSender};
use orderdesk_domain::service::{CustomerService, IdempotencyService, NotificationService, OrderService, SmsOutbox};
use orderdesk_domain::service::{EventService, InboxService, WebhookService};
use orderdesk_domain::webhook::SendResult;
use orderdesk_domain::{Currency, PhoneRegion};
use orderdesk_domain::{Permission, Principal, TokenRejection};
use poem::endpoint::BoxEndpoint;
use poem::test::{TestClient, TestResponse};
use poem::{EndpointExt, IntoEndpoint};
use serde_json::{Value, json};

pub type Client = TestClient<BoxEndpoint<'static, poem::Response>>;

/// Webhook endpoints on `store`, whose receivers all answer 200 and whose URLs all pass the
/// target check (the sender's rules are tested in the adapters; the service's in the domain).
pub fn webhook_service(store: Arc<InMemoryStore>) -> WebhookService {
    let mut sender = MockWebhookSender::new();
    sender.expect_check_target().returning(|url| {
        if url.as_str().contains("refused.example") { Err("must use https (test)".into()) } else { Ok(()) }
    });
    sender.expect_send().returning(|_| SendResult { status: Ok(200), duration: Duration::from_millis(1) });
    let mut secrets = MockSecretGenerator::new();
    secrets.expect_random_bytes().returning(|| [0x5a; 32]);
    WebhookService::new(
        store.clone(),
        store,
        Arc::new(sender),
        Arc::new(secrets),
        Arc::new(JsonEventEncoder),
        Arc::new(SystemClock),
    )
}

pub fn services_with(customers: Arc<dyn CustomerRepository>, health: Arc<dyn HealthCheck>) -> Services {
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(SystemClock);
    let customer_service = CustomerService::new(customers.clone(), clock.clone(), PhoneRegion::default());
    Services {
        inbox: InboxService::new(store.clone(), customer_service.clone(), clock.clone()),
        customers: customer_service,
        orders: OrderService::new(store.clone(), customers.clone(), clock.clone(), Currency::parse("KES").unwrap()),
        notifications: NotificationService::new(
            store.clone(),
            store.clone(),
            customers,
            clock,
            Arc::new(NoSignal),
            Arc::new(OutboxCounters),
        ),
        reports: store.clone(),
        idempotency: IdempotencyService::new(store.clone(), Arc::new(SystemClock), Duration::from_secs(3600)),
        events: EventService::new(store.clone(), Arc::new(SystemClock), chrono::Duration::days(30)),
        webhooks: webhook_service(store),
        health,
        tokens: tokens(),
    }
}

pub const SUBJECT: &str = "auth0|tester";

/// Known tokens: `full` holds every permission, `none` none, `only:<permission>` one;
/// anything else is refused as expired.
pub fn tokens() -> Arc<dyn TokenVerifier> {
    let mut tokens = MockTokenVerifier::new();
    tokens.expect_verify().returning(|token| match token {
        "full" => Ok(Principal::new(SUBJECT, Permission::ALL)),
        "none" => Ok(Principal::new(SUBJECT, [])),
        other => match other.strip_prefix("only:").and_then(Permission::parse) {
            Some(permission) => Ok(Principal::new(SUBJECT, [permission])),
            None => Err(TokenRejection::Expired),
        },
    });
    Arc::new(tokens)
}

pub const WEBHOOK_SECRET: &str = "s3cret-path-token";

/// A client that sends no token unless told to.
pub fn anonymous_client_for(services: Services) -> Client {
    let options = HttpOptions { webhook_secret: Some(WEBHOOK_SECRET.into()), ..HttpOptions::default() };
    let endpoint = app(services, options).into_endpoint().map_to_response().boxed();
    TestClient::new(endpoint)
}

/// A client whose every request carries a token with all permissions.
pub fn client_for(services: Services) -> Client {
    anonymous_client_for(services).default_header("authorization", "Bearer full")
}

/// A client over one shared in-memory store.
pub fn client() -> Client {
    client_for(memory_services())
}

pub fn memory_services() -> Services {
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(SystemClock);
    let template = MessageTemplate::new(MessageTemplate::DEFAULT, "Africa/Nairobi", 1, true).unwrap();
    let customer_service = CustomerService::new(store.clone(), clock.clone(), PhoneRegion::default());
    Services {
        inbox: InboxService::new(store.clone(), customer_service.clone(), clock.clone()),
        customers: customer_service,
        orders: OrderService::new(store.clone(), store.clone(), clock.clone(), Currency::parse("KES").unwrap())
            .with_sms(SmsOutbox {
                catalog: Arc::new(SmsCatalog::created_only(template)),
                signal: Arc::new(NoSignal),
                max_order_age: chrono::Duration::hours(24),
            }),
        notifications: NotificationService::new(
            store.clone(),
            store.clone(),
            store.clone(),
            clock.clone(),
            Arc::new(NoSignal),
            Arc::new(OutboxCounters),
        ),
        reports: store.clone(),
        idempotency: IdempotencyService::new(store.clone(), clock.clone(), Duration::from_secs(3600)),
        events: EventService::new(store.clone(), clock, chrono::Duration::days(30)),
        webhooks: webhook_service(store.clone()),
        health: store,
        tokens: tokens(),
    }
}

pub async fn json_of(response: TestResponse) -> Value {
    response.0.into_body().into_json().await.unwrap()
}

/// Asserts a problem+json response with `status` and `type` slug; returns the body.
pub async fn assert_problem(response: TestResponse, status: u16, slug: &str) -> Value {
    assert_eq!(response.0.status().as_u16(), status);
    assert_eq!(response.0.content_type(), Some("application/problem+json"));
    let body = json_of(response).await;
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string());
    body
}

pub async fn create_customer(client: &Client, code: &str) -> Value {
    let response = client
        .post("/api/v1/customers")
        .body_json(&json!({"name": "Amina Wanjiru", "code": code, "phone": "0712 345 678"}))
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::CREATED);
    json_of(response).await
}

pub async fn create_order(client: &Client, customer_id: &Value, amount: Value) -> TestResponse {
    client
        .post("/api/v1/orders")
        .body_json(&json!({"customer_id": customer_id, "item": "Maize flour 2kg", "amount": amount}))
        .send()
        .await
}

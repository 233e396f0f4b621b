//! orderdesk's HTTP edge: poem-openapi endpoints, wire DTOs, problem+json errors and the
//! middleware pipeline.
//!
//! Dependency rule: depends on `orderdesk-domain` only (services and ports), never on the
//! adapters; the server injects concrete ports through [`Services`].

pub mod body;
pub mod conditional;
pub mod cors;
mod csv;
mod customers;
pub mod deadline;
mod docs;
pub mod dto;
pub mod events;
mod health;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod middleware;
mod orders;
pub mod pages;
mod paging;
mod pipeline;
pub mod problem;
pub mod rate_limit;
pub mod security;
mod sms;
mod strict;
pub mod summary;
mod tags;
pub mod trace;
pub mod webhook_endpoints;
pub mod webhooks;
mod wire;

use std::sync::Arc;

use orderdesk_domain::auth::TokenVerifier;
use orderdesk_domain::ports::{HealthCheck, OrderReports};
use orderdesk_domain::service::InboxService;
use orderdesk_domain::service::WebhookService;
use orderdesk_domain::service::{CustomerService, EventService, IdempotencyService, NotificationService, OrderService};
use poem::IntoEndpoint;
use poem::web::{Html, Path};
use poem::{Endpoint, EndpointExt, Route, handler};
use poem_openapi::OpenApiService;

pub use customers::CustomersApi;
pub use health::HealthApi;
pub use orders::OrdersApi;

use crate::problem::{Problem, ProblemType};

/// The use cases and ports the API serves.
#[derive(Clone)]
pub struct Services {
    pub customers: CustomerService,
    pub orders: OrderService,
    pub notifications: NotificationService,
    /// Incoming messages and opt-outs (the Africa's Talking callbacks).
    pub inbox: InboxService,
    /// Read models for the dashboard.
    pub reports: Arc<dyn OrderReports>,
    /// Stored responses of keyed creates (`Idempotency-Key`).
    pub idempotency: IdempotencyService,
    pub events: EventService,
    /// Webhook endpoints (`manage:webhooks`).
    pub webhooks: WebhookService,
    pub health: Arc<dyn HealthCheck>,
    /// Checks every `/api/v1` call's bearer token.
    pub tokens: Arc<dyn TokenVerifier>,
}

/// The built-in dev issuer's public documents, served under `/.well-known/` (dev profile only).
#[derive(Debug, Clone)]
pub struct IssuerDocuments {
    pub jwks: String,
    pub discovery: String,
}

/// HTTP-level settings.
#[derive(Clone)]
pub struct HttpOptions {
    /// Bodies larger than this get 413.
    pub max_body_bytes: usize,
    /// Serve the dev issuer's JWKS and discovery documents.
    pub dev_issuer: Option<IssuerDocuments>,
    /// The Africa's Talking webhooks' path secret (`sms.webhook_secret`); without it they
    /// refuse every call.
    pub webhook_secret: Option<String>,
    /// The web dashboard and sign-in pages; not served when `None`.
    pub web: Option<pages::WebOptions>,
    /// Per-client request rate limit; none when `None`.
    pub rate_limit: Option<rate_limit::RateLimitOptions>,
    /// `GET /metrics`; not served when `None`.
    pub metrics: Option<metrics::MetricsOptions>,
    /// Browser origins allowed to call the API (CORS); none when empty.
    pub cors: cors::AllowedOrigins,
    /// The secret list cursors are authenticated with (`web.cookie_secret`); processes behind
    /// one load balancer must share it. `None`: a random one for this process.
    pub cursor_secret: Option<Vec<u8>>,
    /// The shop's time zone (`shop.time_zone`): local times in CSV exports.
    pub time_zone: chrono_tz::Tz,
    /// How long a request body may take to arrive (`server.body_read_timeout_seconds`); no
    /// deadline when `None`.
    pub body_read_timeout: Option<std::time::Duration>,
    /// The server's trace-context layer (W3C `traceparent` in and out, the request's span);
    /// the outermost layer, so everything else runs inside the request's trace.
    pub trace_context: Option<TraceLayer>,
}

/// A layer given by the server: it calls the rest of the stack (`next`) for the request.
pub type TraceLayer = Arc<
    dyn Fn(
            Arc<poem::endpoint::BoxEndpoint<'static>>,
            poem::Request,
        ) -> futures_util::future::BoxFuture<'static, poem::Result<poem::Response>>
        + Send
        + Sync,
>;

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            dev_issuer: None,
            webhook_secret: None,
            web: None,
            rate_limit: None,
            metrics: None,
            cors: cors::AllowedOrigins::default(),
            cursor_secret: None,
            time_zone: chrono_tz::UTC,
            body_read_timeout: None,
            trace_context: None,
        }
    }
}

type Apis = (
    CustomersApi,
    OrdersApi,
    csv::CsvApi,
    sms::SmsApi,
    events::EventsApi,
    webhook_endpoints::WebhookEndpointsApi,
    HealthApi,
    webhooks::WebhooksApi,
);

/// The OpenAPI service: every operation, with its schemas and error responses. Operations
/// take the [`Services`] from request data, so the document needs none.
pub fn api_service(webhook_secret: Option<String>) -> OpenApiService<Apis, ()> {
    let apis = (
        CustomersApi,
        OrdersApi,
        csv::CsvApi,
        sms::SmsApi,
        events::EventsApi,
        webhook_endpoints::WebhookEndpointsApi,
        HealthApi,
        webhooks::WebhooksApi::new(webhook_secret),
    );
    OpenApiService::new(apis, "orderdesk", env!("CARGO_PKG_VERSION"))
        .description(
            "Customers and orders for small businesses. Errors are RFC 9457 problem+json; \
             money is an exact decimal string; times are RFC 3339 UTC; lists use cursor pagination.",
        )
        .server(poem_openapi::ServerObject::new("/").description("The server that serves this document"))
        .license(poem_openapi::LicenseObject::new("MIT").url("https://spdx.org/licenses/MIT.html"))
}

/// The document as served and committed: poem-openapi's, with `security: []` on each
/// operation that needs no token (probes, the Africa's Talking webhooks), so readers and
/// linters see they are public on purpose (OpenAPI 3.0 §4.7.10.15). Returned parsed (for the
/// route labels and the parameter rules, read once) and as the text served.
fn finish_document(document: &str) -> (serde_json::Value, String) {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(document) else {
        return (serde_json::Value::Null, document.to_owned());
    };
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for operation in paths.values_mut().filter_map(|item| item.as_object_mut()).flat_map(|item| item.values_mut()) {
            if let Some(operation) = operation.as_object_mut().filter(|op| !op.contains_key("security")) {
                operation.insert("security".into(), serde_json::Value::Array(Vec::new()));
            }
        }
    }
    let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| document.to_owned());
    (doc, text)
}

/// The whole HTTP application: API, `/openapi.json`, interactive docs at `/docs`, problem-type
/// pages at `/problems/{slug}`, inside the middleware pipeline ([`pipeline`]: every concern in
/// one layer), inside the server's trace context.
pub fn app(services: Services, options: HttpOptions) -> poem::endpoint::BoxEndpoint<'static, poem::Response> {
    dto::set_cursor_secret(options.cursor_secret.as_deref());
    let api = api_service(options.webhook_secret.clone());
    let (parsed, document) = finish_document(&api.spec());
    let spec = docs::openapi_document(document.clone());
    let docs = docs::docs_page(api.swagger_ui_html());
    let api = Arc::new(api.into_endpoint());
    let sessions = options.web.as_ref().map(|web| web.sessions.clone());
    // The API is nested at the root first, so the exact page routes below take precedence.
    // Documents answer GET (and HEAD) only; other methods get a 405 problem.

    let mut routes = Route::new()
        .nest("/", api.clone())
        .at("/openapi.json", poem::get(spec))
        .nest("/docs", docs)
        .at("/problems/:slug", poem::get(problem_page))
        .at("/favicon.ico", docs::favicon());
    if let Some(documents) = options.dev_issuer {
        routes = routes
            .at("/.well-known/jwks.json", json_document(documents.jwks))
            .at("/.well-known/openid-configuration", json_document(documents.discovery));
    }
    if let Some(metrics) = options.metrics {
        routes = routes.at("/metrics", metrics::endpoint(metrics));
    }
    let mut home = None;
    if let Some(web) = options.web {
        let dev_paths: &[&str] = if web.dev_issuer.is_some() { &pages::DEV_ISSUER_PATHS } else { &[] };
        let page_routes = Arc::new(pages::routes(web, services.clone()));
        for path in pages::PATHS.iter().chain(dev_paths) {
            routes = if pages::PAGE_TREES.contains(path) {
                // The pages below it too (`/dashboard/orders/{id}/…`), with their full path.
                routes.nest_no_strip(*path, page_routes.clone())
            } else {
                routes.at(*path, page_routes.clone())
            };
        }
        // The API's root nest owns "/" in poem's router, so the pipeline dispatches the home page.
        home = Some(page_routes.boxed());
    }
    let pipeline = pipeline::Pipeline {
        routes,
        api,
        home,
        zone: csv::ShopZone(options.time_zone),
        declared: Arc::new(strict::DeclaredParameters::from_document(&parsed)),
        labels: Arc::new(route_labels(&parsed)),
        limiter: options.rate_limit.map(|o| rate_limit::RateLimiter::new(o, services.tokens.clone(), sessions)),
        services,
        cors: options.cors,
        max_body_bytes: options.max_body_bytes,
        body_read_timeout: options.body_read_timeout,
    };
    match options.trace_context {
        Some(layer) => pipeline.boxed().around(move |next, req| layer(next, req)).boxed(),
        None => pipeline.boxed(),
    }
}

/// Every route's template for metrics: the document's paths, the pages and the fixed routes.
fn route_labels(document: &serde_json::Value) -> metrics::RouteLabels {
    let paths: Vec<String> = document
        .get("paths")
        .and_then(|paths| paths.as_object())
        .map(|paths| paths.keys().cloned().collect())
        .unwrap_or_default();
    let fixed = ["/", "/openapi.json", "/docs/{rest}", "/docs", "/problems/{slug}", "/metrics"];
    let pages = pages::PATHS.iter().chain(&pages::SUBPATHS).chain(&pages::DEV_ISSUER_PATHS).chain(&fixed);
    let known = ["/.well-known/jwks.json", "/.well-known/openid-configuration"];
    metrics::RouteLabels::new(paths.into_iter().chain(pages.chain(&known).map(|p| (*p).to_owned())))
}

/// The OpenAPI document as JSON, without a database or any port (for `cargo xtask openapi`
/// and its check).
pub fn openapi_json() -> String {
    finish_document(&api_service(None).spec()).1
}

/// A fixed JSON document, cacheable for a few minutes.
fn json_document(body: String) -> impl Endpoint<Output = poem::Response> {
    poem::endpoint::make_sync(move |_| {
        poem::Response::builder()
            .content_type("application/json")
            .header("cache-control", "public, max-age=300")
            .body(body.clone())
    })
}

/// Human-readable documentation of a problem `type`.
#[handler]
fn problem_page(Path(slug): Path<String>) -> poem::Response {
    match ProblemType::from_slug(&slug) {
        Some(kind) => Html(format!(
            "<!doctype html><title>{title}</title><h1>{title}</h1><p>HTTP {status}</p><p>{description}</p>",
            title = kind.title(),
            status = kind.status().as_u16(),
            description = kind.description(),
        ))
        .into_response(),
        None => Problem::new(ProblemType::NotFound, "no such problem type").into_response(),
    }
}

use poem::IntoResponse;

//! Prometheus metrics: every request counted by route template, method and status, with its
//! latency, and `GET /metrics`. The API records through the `metrics` facade only; the server
//! owns the exporter and hands over a function that renders the text exposition format.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use orderdesk_signin::token::constant_time_eq;
use poem::http::{Method, header};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};

use crate::middleware::error_response;
use crate::problem::{Problem, ProblemType};

/// Requests answered, by `method`, `route` (the route template, never the raw path) and `status`.
pub const REQUESTS: &str = "orderdesk_http_requests_total";
/// Time to answer, in seconds, by `method` and `route`.
pub const DURATION: &str = "orderdesk_http_request_duration_seconds";
/// The `route` label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Renders the current metrics in the Prometheus text format (sampling gauges first).
pub type Render = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync>;

/// `GET /metrics`: what to render and who may read it.
#[derive(Clone)]
pub struct MetricsOptions {
    pub render: Render,
    /// Bearer token for peers other than loopback; without it only loopback peers may scrape.
    pub token: Option<String>,
}

/// The response of `next`, with framework errors turned into problem responses here (as the
/// outer middleware would) so that the matched route template is not lost with the error.
pub(crate) fn respond(result: poem::Result<impl IntoResponse>) -> Response {
    match result {
        Ok(response) => response.into_response(),
        Err(error) => {
            let pattern = error.data::<PathPattern>().cloned();
            let mut response = error_response(error);
            if let Some(pattern) = pattern {
                response.set_data(pattern);
            }
            response
        }
    }
}

/// The route templates requests are counted under, as the OpenAPI document writes them
/// (`/api/v1/orders/{id}`): poem names the API's path parameters by position (`:param0`),
/// and a page router attached at its full path repeats it (`/dashboard/dashboard`).
#[derive(Debug, Clone, Default)]
pub struct RouteLabels {
    by_shape: HashMap<String, String>,
}

impl RouteLabels {
    /// `templates` in the document's form: `/api/v1/orders/{id}`, `/docs/{rest}`.
    pub fn new(templates: impl IntoIterator<Item = String>) -> Self {
        Self { by_shape: templates.into_iter().map(|t| (shape(&t), t)).collect() }
    }

    /// The label of a matched route `pattern` (poem's form, e.g. `/api/v1/orders/:param0`).
    pub fn label(&self, pattern: &str) -> String {
        let shape = shape(pattern);
        let half = shape.len().is_multiple_of(2).then(|| shape.split_at(shape.len() / 2)).filter(|(a, b)| a == b);
        self.by_shape
            .get(&shape)
            .or_else(|| half.and_then(|(first, _)| self.by_shape.get(first)))
            .or_else(|| self.below_section(&shape))
            .cloned()
            .unwrap_or_else(|| route_label(pattern))
    }
}

impl RouteLabels {
    /// A page routed through its section's wildcard: poem joins the outer and the inner
    /// pattern (`/dashboard/customers/*rest` + `/dashboard/customers/:id/edit`).
    fn below_section(&self, shape: &str) -> Option<&String> {
        let section = shape.split_once("/{}/")?.0;
        let inner = shape.strip_prefix(section)?.strip_prefix("/{}")?;
        inner.strip_prefix(section).filter(|rest| rest.starts_with('/')).and(self.by_shape.get(inner))
    }
}

/// A path with every parameter segment (`:id`, `{id}`, `*rest`) written as `{}`.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with([':', '{', '*']) { "{}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// One request being counted and timed: what is known of it before it is answered.
#[derive(Debug)]
pub struct Tracked {
    method: &'static str,
    /// The request path's depth, to tell a route's own match from the API's catch-all nest.
    segments: usize,
    started: Instant,
}

impl Tracked {
    pub fn start(req: &Request, started: Instant) -> Self {
        let segments = req.uri().path().trim_end_matches('/').matches('/').count();
        Self { method: method_label(req.method()), segments, started }
    }

    /// Counts the answered request under its route template and status, and records its
    /// latency in seconds.
    pub fn finish(self, response: &Response, labels: &RouteLabels) {
        let route = response
            .data::<PathPattern>()
            .map(|p| labels.label(&p.0))
            // The API is nested at `/`, so a path no route matched still carries the pattern `/`.
            .filter(|label| {
                label.contains("{rest}") || label.trim_end_matches('/').matches('/').count() == self.segments
            })
            .unwrap_or_else(|| UNMATCHED.to_owned());
        let status = response.status().as_u16().to_string();
        let method = self.method;
        metrics::counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status).increment(1);
        metrics::histogram!(DURATION, "method" => method, "route" => route)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// Standard methods by name; anything else as `other`, so clients cannot add label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The template as the OpenAPI document writes it (`/api/v1/orders/{id}`). The delivery-report
/// route's secret segment is a parameter, so it never appears in a label.
fn route_label(pattern: &str) -> String {
    let shown: Vec<String> = pattern
        .split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None if segment.starts_with('*') => "{rest}".to_owned(),
            None => segment.to_owned(),
        })
        .collect();
    let shown = shown.join("/");
    if shown.is_empty() { "/".to_owned() } else { shown }
}

/// `GET /metrics`: open to loopback peers, to others only with `Authorization: Bearer <token>`.
pub fn endpoint(options: MetricsOptions) -> impl Endpoint<Output = Response> {
    poem::get(poem::endpoint::make(move |req: Request| {
        let options = options.clone();
        async move {
            if !may_scrape(&req, options.token.as_deref()) {
                return Problem::new(
                    ProblemType::Unauthenticated,
                    "metrics are open to loopback; from elsewhere send Authorization: Bearer <metrics.token>",
                )
                .into_response();
            }
            let body = (options.render)().await;
            Response::builder().content_type("text/plain; version=0.0.4; charset=utf-8").body(body)
        }
    }))
}

fn may_scrape(req: &Request, token: Option<&str>) -> bool {
    if req.remote_addr().as_socket_addr().is_some_and(|peer| peer.ip().to_canonical().is_loopback()) {
        return true;
    }
    let Some(expected) = token else { return false };
    let presented = req.header(header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
    // Constant time in the contents; only the length can show.
    constant_time_eq(presented, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_are_templates() {
        assert_eq!(route_label("/api/v1/orders/:id"), "/api/v1/orders/{id}");
        assert_eq!(
            route_label("/webhooks/africastalking/delivery-reports/:secret"),
            "/webhooks/africastalking/delivery-reports/{secret}"
        );
        assert_eq!(route_label("/docs/*path"), "/docs/{rest}");
        assert_eq!(route_label(""), "/");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap_or(Method::GET)), "other");
    }

    #[test]
    fn labels_are_the_documents_templates() {
        let labels = RouteLabels::new(["/api/v1/orders/{id}".to_owned(), "/dashboard".to_owned()]);
        assert_eq!(labels.label("/api/v1/orders/:param0"), "/api/v1/orders/{id}");
        assert_eq!(labels.label("/dashboard/dashboard"), "/dashboard");
        assert_eq!(labels.label("/dashboard"), "/dashboard");
        assert_eq!(labels.label("/problems/:slug"), "/problems/{slug}", "unknown patterns keep their own names");
        let labels =
            RouteLabels::new(["/dashboard/customers/{id}".to_owned(), "/dashboard/customers/{id}/edit".to_owned()]);
        assert_eq!(labels.label("/dashboard/customers/*rest/dashboard/customers/:id"), "/dashboard/customers/{id}");
        assert_eq!(
            labels.label("/dashboard/customers/*rest/dashboard/customers/:id/edit"),
            "/dashboard/customers/{id}/edit"
        );
    }

    #[tokio::test]
    async fn other_peers_need_the_token() {
        let render: Render = Arc::new(|| Box::pin(async { "up 1\n".to_owned() }));
        let token = "a-long-metrics-token-0123";
        let open = poem::test::TestClient::new(endpoint(MetricsOptions { render: render.clone(), token: None }));
        // The test client's peer is not loopback.
        open.get("/").send().await.assert_status(poem::http::StatusCode::UNAUTHORIZED);
        let guarded = poem::test::TestClient::new(endpoint(MetricsOptions { render, token: Some(token.into()) }));
        guarded.get("/").send().await.assert_status(poem::http::StatusCode::UNAUTHORIZED);
        let wrong = guarded.get("/").header("authorization", "Bearer a-long-metrics-token-0124").send().await;
        wrong.assert_status(poem::http::StatusCode::UNAUTHORIZED);
        let right = guarded.get("/").header("authorization", format!("Bearer {token}")).send().await;
        right.assert_status_is_ok();
        right.assert_text("up 1\n").await;
    }
}

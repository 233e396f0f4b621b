//! Logging: readable in development, JSON in production; every line inside a request
//! carries that request's id and trace id (from the span the API middleware opens).
//! Metrics: the Prometheus recorder and what `GET /metrics` samples. Trace context: W3C
//! `traceparent` in, out, and on outgoing calls.

use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use orderdesk_adapters::http::TRACEPARENT as TRACEPARENT_SCOPE;
use orderdesk_adapters::{DatabaseConnection, SeaOrmNotificationRepository, pool_stats};
use orderdesk_api::metrics::Render;
use orderdesk_api::trace::{TRACEPARENT, TraceContext};
use orderdesk_domain::NotificationStatus;
use orderdesk_domain::ports::NotificationRepository;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_span_events(FmtSpan::NONE);
    let _ = match settings.format {
        LogFormat::Pretty => builder.compact().try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
}

/// Bucket bounds of the request latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use; every `metrics::counter!` in
/// the process records into it. `None` if another recorder was installed first.
pub fn prometheus() -> Option<PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(orderdesk_api::metrics::DURATION.into()), &LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            installed.map_err(|error| tracing::warn!(%error, "metrics are not recorded")).ok()
        })
        .clone()
}

/// What `GET /metrics` serves: gauges sampled now (pool, outbox), then everything recorded.
pub fn metrics_render(db: DatabaseConnection, handle: PrometheusHandle) -> Render {
    let outbox = SeaOrmNotificationRepository::new(db.clone());
    Arc::new(move || {
        let (db, outbox, handle) = (db.clone(), outbox.clone(), handle.clone());
        Box::pin(async move {
            sample_gauges(&db, &outbox).await;
            handle.run_upkeep();
            handle.render()
        })
    })
}

async fn sample_gauges(db: &DatabaseConnection, outbox: &SeaOrmNotificationRepository) {
    if let Some(pool) = pool_stats(db) {
        metrics::gauge!("orderdesk_db_pool_connections", "state" => "in_use").set(pool.in_use());
        metrics::gauge!("orderdesk_db_pool_connections", "state" => "idle").set(pool.idle);
        metrics::gauge!("orderdesk_db_pool_max_connections").set(pool.max);
    }
    match outbox.count_by_status().await {
        Ok(counts) => {
            for status in NotificationStatus::ALL {
                let count = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
                metrics::gauge!("orderdesk_sms_outbox", "status" => status.as_str()).set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot count the outbox for metrics"),
    }
    let now = chrono::Utc::now();
    match outbox.oldest_due_at(now).await {
        Ok(oldest) => {
            let age = oldest.map_or(0.0, |at| (now - at).num_milliseconds().max(0) as f64 / 1000.0);
            metrics::gauge!("orderdesk_sms_oldest_due_age_seconds").set(age);
        }
        Err(error) => tracing::warn!(%error, "cannot read the outbox's oldest due SMS for metrics"),
    }
}

/// Continues the caller's W3C trace (or starts one) around a request: the context goes in
/// request data (the request's log span shows its trace id), outgoing calls made for the
/// request send it, and the response's `traceparent` names this server's span.
pub async fn trace_context<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let context = TraceContext::continue_or_start(req.header(TRACEPARENT));
    let traceparent = context.traceparent();
    req.set_data(context);
    let mut response = TRACEPARENT_SCOPE.scope(traceparent.clone(), next.call(req)).await?.into_response();
    if let Ok(value) = HeaderValue::from_str(&traceparent) {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    Ok(response)
}

//! Logging: readable in development, JSON in production; every line inside a request
//! carries that request's id and trace id (from the span the API middleware opens).
//! Metrics: the Prometheus recorder and what `GET /metrics` samples. Trace context: W3C
//! `traceparent` in, out, and on outgoing calls; with `telemetry.otlp_endpoint`, each request's
//! span is also exported over OTLP/HTTP.

mod escape;
mod filter;
mod json;

use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use orderdesk_adapters::trace_context;
use orderdesk_adapters::{SeaOrmNotificationRepository, Store, pool_stats};
use orderdesk_api::metrics::Render;
use orderdesk_api::trace::TraceId;
use orderdesk_domain::NotificationStatus;
use orderdesk_domain::ports::NotificationRepository;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{Compact, Format};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry};

use crate::settings::{LogFormat, LogSettings, TelemetrySettings};

/// Target of the per-request span that is exported; the log output leaves it out (the API's
/// `request` span already carries the same fields there).
const EXPORTED_SPAN_TARGET: &str = "orderdesk::otlp";

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber once, logging only; later calls (tests) are ignored.
pub fn init(settings: &LogSettings) {
    install(settings, None);
}

/// The OTLP pipeline, when on; [`Telemetry::shutdown`] flushes the spans still queued.
#[must_use = "call shutdown to flush queued spans"]
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is queued and stops the exporter (bounded by the SDK's export timeout).
    pub async fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider {
            // The SDK blocks on its export thread, which sends through this runtime.
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = flushed {
                tracing::warn!(%error, "could not flush the spans queued for OTLP export");
            }
        }
    }
}

/// [`init`], plus OTLP export of request spans when `telemetry.otlp_endpoint` is set. Call it
/// inside the Tokio runtime: the exporter sends through it.
///
/// # Errors
/// The exporter cannot be built, or the endpoint is set in a build without the `otlp` feature.
pub fn init_with_export(log: &LogSettings, telemetry: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    let Some(url) = telemetry.otlp_traces_url() else {
        install(log, None);
        return Ok(Telemetry {
            #[cfg(feature = "otlp")]
            provider: None,
        });
    };
    #[cfg(feature = "otlp")]
    {
        let (provider, layer) = otlp::pipeline(&url, &telemetry.service_name)?;
        if install(log, Some(layer)) {
            otlp::ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::info!(endpoint = %url, "exporting request spans over OTLP/HTTP");
        Ok(Telemetry { provider: Some(provider) })
    }
    #[cfg(not(feature = "otlp"))]
    {
        install(log, None);
        anyhow::bail!(
            "telemetry.otlp_endpoint is set ({url}), but this orderdesk was built without the `otlp` feature; \
             rebuild with `--features otlp` or unset it"
        )
    }
}

/// Whether this call installed the subscriber. Without export the log filter is the
/// subscriber's own (global, and for plain directives a [`Targets`](tracing_subscriber::filter::Targets):
/// [`filter`]): a span enter or exit, some twenty per request as its futures are polled, then
/// costs no filter bookkeeping. With export the filter belongs to the
/// log layer alone, so the exporter still sees request spans the log filter leaves out.
fn install(settings: &LogSettings, export: Option<BoxedLayer>) -> bool {
    let directives = filter::directives(&settings.filter);
    let fmt: BoxedLayer = match settings.format {
        LogFormat::Pretty => pretty_layer(std::io::stdout).boxed(),
        // tracing-subscriber's JSON lines (`flatten_event`, `with_current_span`), written by
        // orderdesk's own formatter at a fraction of the cost (telemetry/json.rs).
        LogFormat::Json => {
            tracing_subscriber::fmt::layer().fmt_fields(json::JsonSpanFields).event_format(json::JsonLines).boxed()
        }
    };
    let Some(export) = export else {
        return tracing_subscriber::registry().with(fmt).with(filter::layer(&directives)).try_init().is_ok();
    };
    let not_exported_span = tracing_subscriber::filter::filter_fn(|meta| meta.target() != EXPORTED_SPAN_TARGET);
    // A per-layer filter here, so the exporter still sees spans the log leaves out.
    let layers = vec![fmt.with_filter(EnvFilter::new(&directives)).with_filter(not_exported_span).boxed(), export];
    tracing_subscriber::registry().with(layers).try_init().is_ok()
}

/// `log.format = "pretty"`: one compact line per event, control characters in values escaped.
fn pretty_layer<S, W>(writer: W) -> tracing_subscriber::fmt::Layer<S, escape::EscapedFields, Format<Compact>, W>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    // Colours only for a person at a terminal, never into a file or a pipe.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt::layer()
        .compact()
        .with_ansi(colours)
        .fmt_fields(escape::EscapedFields::default())
        .with_writer(writer)
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
            let handle = installed.map_err(|error| tracing::warn!(%error, "metrics are not recorded")).ok()?;
            describe_metrics();
            keep_up(handle.clone());
            Some(handle)
        })
        .clone()
}

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the latency samples into the histogram's buckets every [`UPKEEP_PERIOD`], on a thread
/// of its own (as the exporter's own `install` does). The recorder keeps every sample until an
/// upkeep or a render: with nobody scraping `/metrics` that was some 8 bytes a request, for
/// ever (metrics-exporter-prometheus, `PrometheusHandle::run_upkeep`).
fn keep_up(handle: PrometheusHandle) {
    let upkeep = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_PERIOD);
            handle.run_upkeep();
        }
    });
    if let Err(error) = upkeep {
        tracing::warn!(%error, "no metrics upkeep thread: latency samples are folded only when /metrics is read");
    }
}

/// The HELP line of every metric the process records (`promtool check metrics` wants one).
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    use orderdesk_api::metrics::{DURATION, REQUESTS};
    describe_counter!(REQUESTS, "HTTP requests answered, by method, route template and status.");
    describe_histogram!(DURATION, Unit::Seconds, "Time to answer an HTTP request, by method and route template.");
    describe_gauge!("orderdesk_db_pool_connections", "Database pool connections, by state (in_use, idle).");
    describe_gauge!(
        "orderdesk_db_pool_max_connections",
        "The database pool's size (database.max_connections; a SQLite file's read pool: database.sqlite_read_connections)."
    );
    describe_counter!(
        "orderdesk_db_pool_acquire_failures_total",
        "Requests that waited database.acquire_timeout_ms for a connection and got none."
    );
    describe_gauge!("orderdesk_sms_outbox", "SMS notifications in the outbox, by status.");
    describe_gauge!(
        "orderdesk_sms_oldest_due_age_seconds",
        Unit::Seconds,
        "How long the longest-waiting due SMS has been due (0 when none is)."
    );
    describe_counter!("orderdesk_sms_attempts_total", "Attempts to hand an SMS to the provider, by result.");
    describe_counter!(
        "orderdesk_webhook_attempts_total",
        "Attempts to deliver a webhook event to an endpoint, by outcome."
    );
    describe_counter!(
        "orderdesk_sms_delivery_reports_total",
        "Delivery reports received, by status (unknown statuses as other)."
    );
    describe_counter!("orderdesk_jwks_refreshes_total", "Fetches of the token issuer's JWKS, by result.");
    describe_counter!("orderdesk_token_rejections_total", "Access tokens refused, by reason.");
}

/// What `GET /metrics` serves: gauges sampled now (pool, outbox), then everything recorded.
pub fn metrics_render(db: Store, handle: PrometheusHandle) -> Render {
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

async fn sample_gauges(db: &Store, outbox: &SeaOrmNotificationRepository) {
    // On SQLite the read pool (writes go through one connection of their own).
    if let Some(pool) = pool_stats(db.read()) {
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
/// request send it, and the response's `traceparent` names this server's span. With OTLP
/// export on, that span is the exported one, so its ids are the ones sent on.
pub async fn trace_context<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    #[cfg(feature = "otlp")]
    let (span, exported) = otlp::server_span(&req);
    #[cfg(not(feature = "otlp"))]
    let (span, exported) = (tracing::Span::none(), None);
    let context = exported.unwrap_or_else(|| trace_context::continue_or_start(req.headers()));
    req.set_data(TraceId(context.trace_id().to_string()));
    let traceparent = trace_context::traceparent(&context);
    let result = trace_context::in_scope(context, next.call(req)).instrument(span.clone()).await;
    let mut response = result?.into_response();
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    if let Some(value) = traceparent {
        response.headers_mut().insert("traceparent", value);
    }
    Ok(response)
}

#[cfg(feature = "otlp")]
mod otlp {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use anyhow::Context as _;
    use opentelemetry::trace::{SpanContext, TraceContextExt, TracerProvider};
    use opentelemetry_http::{Bytes, HttpClient, HttpError, Request as HttpRequest, Response as HttpResponse};
    use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use poem::Request;
    use tracing::Span;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::layer::Layer;

    use super::{BoxedLayer, EXPORTED_SPAN_TARGET};

    /// Set once the export layer is the installed subscriber's.
    pub static ENABLED: AtomicBool = AtomicBool::new(false);

    /// The provider (kept to flush it) and the layer that feeds it the request spans, with the
    /// events logged inside them as span events.
    pub fn pipeline(url: &str, service_name: &str) -> anyhow::Result<(SdkTracerProvider, BoxedLayer)> {
        let client = ReqwestOnTokio {
            client: orderdesk_adapters::http::client(Duration::from_secs(10))
                .context("cannot build the HTTP client for OTLP export")?,
            runtime: tokio::runtime::Handle::try_current().context("OTLP export needs the Tokio runtime")?,
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .build()
            .with_context(|| format!("invalid configuration: telemetry.otlp_endpoint: cannot export to {url}"))?;
        let resource = Resource::builder().with_service_name(service_name.to_owned()).build();
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        let tracer = provider.tracer("orderdesk");
        // Only the request span is exported; events (not spans) inside it become its events.
        let only_request_spans = filter_fn(|meta| {
            if meta.is_span() {
                meta.target() == EXPORTED_SPAN_TARGET
            } else {
                meta.target().starts_with("orderdesk") && *meta.level() <= tracing::Level::INFO
            }
        });
        let layer = tracing_opentelemetry::layer().with_tracer(tracer).with_filter(only_request_spans).boxed();
        Ok((provider, layer))
    }

    /// The exported span of a request, a child of the caller's `traceparent` span when valid,
    /// and the span context naming it; a disabled span and `None` when export is off.
    pub fn server_span(req: &Request) -> (Span, Option<SpanContext>) {
        if !ENABLED.load(Ordering::Relaxed) {
            return (Span::none(), None);
        }
        let method = req.method().as_str();
        // The path as logged: tokens in paths are masked there too.
        let path = orderdesk_api::middleware::loggable_path(req.uri().path());
        let span = tracing::info_span!(
            target: EXPORTED_SPAN_TARGET,
            "HTTP request",
            otel.name = %format!("{method} {path}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            http.request.method = %method,
            url.path = %path,
            http.response.status_code = tracing::field::Empty,
        );
        let _ = span.set_parent(orderdesk_adapters::trace_context::caller(req.headers()));
        let exported = span.context().span().span_context().clone();
        (span, exported.is_valid().then_some(exported))
    }

    /// Sends the exporter's requests with the workspace's reqwest client on the server's Tokio
    /// runtime: the SDK's batch processor runs on its own thread, outside any runtime.
    #[derive(Debug)]
    struct ReqwestOnTokio {
        client: reqwest::Client,
        runtime: tokio::runtime::Handle,
    }

    #[async_trait::async_trait]
    impl HttpClient for ReqwestOnTokio {
        async fn send_bytes(&self, request: HttpRequest<Bytes>) -> Result<HttpResponse<Bytes>, HttpError> {
            let client = self.client.clone();
            let sent = self.runtime.spawn(async move {
                let response = client.execute(reqwest::Request::try_from(request)?).await?;
                let mut answer = HttpResponse::builder().status(response.status());
                if let Some(headers) = answer.headers_mut() {
                    headers.extend(response.headers().clone());
                }
                Ok::<_, HttpError>(answer.body(response.bytes().await?)?)
            });
            sent.await?
        }
    }
}

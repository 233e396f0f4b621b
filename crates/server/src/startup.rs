//! The composition root: the only place that knows every concrete type.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use orderdesk_adapters::SeaOrmInboxRepository;
use orderdesk_adapters::SeaOrmSessionRepository;
use orderdesk_adapters::auth::{AuthSettings, DevIssuer, HttpOidcClient, JwksTokenVerifier};
use orderdesk_adapters::db::listen_for_outbox;
use orderdesk_adapters::secret::Secret;
use orderdesk_adapters::sms::{
    AfricasTalkingSmsGateway, LogSmsGateway, SmsProvider, TokioOutboxSignal, run_dispatcher,
};
use orderdesk_adapters::webhook::{HttpWebhookSender, OsSecretGenerator, run_webhook_dispatcher};
use orderdesk_adapters::{
    OutboxCounters, SeaOrmCustomerRepository, SeaOrmEventRepository, SeaOrmHealthCheck, SeaOrmIdempotencyRepository,
    SeaOrmNotificationRepository, SeaOrmOrderRepository, SeaOrmWebhookDeliveryRepository,
    SeaOrmWebhookEndpointRepository, SqlOrderReports, Store, connect, migrate, raise_first_order_number, schema_status,
};
use orderdesk_api::events::JsonEventEncoder;
use orderdesk_api::pages::{DevIssuerOptions, WebOptions};
use orderdesk_api::{HttpOptions, IssuerDocuments, Services, app};
use orderdesk_domain::PhoneNumber;
use orderdesk_domain::auth::TokenVerifier;
use orderdesk_domain::ports::SmsGateway;
use orderdesk_domain::ports::SystemClock;
use orderdesk_domain::service::InboxService;
use orderdesk_domain::service::{CustomerService, EventService, IdempotencyService, OrderService};
use orderdesk_domain::service::{NotificationDispatcher, NotificationService, SmsOutbox};
use orderdesk_domain::service::{WebhookDispatcher, WebhookService};
use orderdesk_signin::OidcClient;
use poem::endpoint::BoxEndpoint;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Response, Server};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::listener::GuardedAcceptor;
use crate::settings::{Settings, mask_url_password};

/// A server bound to its address, ready to run, with its SMS and webhook dispatchers (if any) running.
pub struct Application {
    acceptor: GuardedAcceptor<TcpAcceptor>,
    local_addr: SocketAddr,
    endpoint: BoxEndpoint<'static, Response>,
    shutdown_timeout: Duration,
    /// Streams per HTTP/2 connection; `None` when HTTP/2 without TLS is off.
    http2_max_streams: Option<u32>,
    stop_dispatcher: watch::Sender<bool>,
    dispatcher: Option<JoinHandle<()>>,
    webhook_dispatcher: Option<JoinHandle<()>>,
    sweeper: JoinHandle<()>,
}

/// The SMS side: the order service's outbox, and the dispatcher to start.
pub(crate) struct Sms {
    outbox: Option<SmsOutbox>,
    signal: TokioOutboxSignal,
    pub(crate) gateway: Option<Arc<dyn SmsGateway>>,
}

pub(crate) fn sms(settings: &Settings) -> anyhow::Result<Sms> {
    let provider = settings.sms_provider()?;
    let signal = TokioOutboxSignal::default();
    let timeout = Duration::from_millis(settings.sms.request_timeout_ms);
    let gateway: Option<Arc<dyn SmsGateway>> = match provider {
        SmsProvider::Africastalking => {
            let at = &settings.sms.africastalking;
            tracing::info!(username = %at.username, base_url = %at.effective_base_url(), sandbox = at.is_sandbox(), "sms through Africa's Talking");
            Some(Arc::new(AfricasTalkingSmsGateway::new(at, timeout).map_err(anyhow::Error::msg)?))
        }
        SmsProvider::Log => {
            tracing::info!("sms provider is `log`: messages are written to the log, not sent");
            Some(Arc::new(LogSmsGateway))
        }
        SmsProvider::Disabled => None,
    };
    let outbox = gateway.is_some().then(|| settings.sms_catalog()).transpose()?.map(|catalog| SmsOutbox {
        catalog: Arc::new(catalog),
        signal: Arc::new(signal.clone()),
        max_order_age: settings.sms_max_order_age(),
    });
    Ok(Sms { outbox, signal, gateway })
}

/// `GET /metrics` unless `metrics.enabled` is off.
fn metrics_options(settings: &Settings, db: &Store) -> Option<orderdesk_api::metrics::MetricsOptions> {
    if !settings.metrics.enabled {
        return None;
    }
    let handle = crate::telemetry::prometheus()?;
    Some(orderdesk_api::metrics::MetricsOptions {
        render: crate::telemetry::metrics_render(db.clone(), handle),
        token: settings.metrics.token.as_ref().map(|t| t.expose().to_owned()),
    })
}

/// Opens the database, applies migrations when `database.migrate_on_start` says so, and
/// refuses a schema older than this binary (every call would fail). A schema newer than the
/// binary (a rolling upgrade: a newer binary already migrated it) is allowed and logged.
///
/// # Errors
/// The database cannot be opened, a migration fails, or migrations are pending.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Store> {
    let url = mask_url_password(&settings.database.connection.url);
    let db = connect(&settings.database.connection).await.with_context(|| format!("cannot open database {url}"))?;
    let status = schema_status(db.write()).await.with_context(|| format!("cannot read the schema of {url}"))?;
    if !status.unknown.is_empty() {
        tracing::warn!(
            newer_migrations = %status.unknown.join(", "),
            "the database schema is newer than this binary (a rolling upgrade?); starting without migrating"
        );
    }
    if status.pending.is_empty() {
        return Ok(db);
    }
    if settings.database.migrate_on_start && status.unknown.is_empty() {
        migrate(db.write()).await.with_context(|| format!("cannot migrate database {url}"))?;
        return Ok(db);
    }
    anyhow::bail!(
        "the database {url} lacks {} migration(s) this binary needs ({}); run `orderdesk migrate` first{}",
        status.pending.len(),
        status.pending.join(", "),
        if status.unknown.is_empty() {
            " (or set database.migrate_on_start = true)"
        } else {
            ": it also has migrations this binary does not know, so it is not migrated automatically"
        }
    )
}

/// Applies `orders.first_number`: raises the order-number source when it is below (never
/// lowers it). Run by the API server at start-up and by `orderdesk migrate`.
///
/// # Errors
/// A storage failure, or a schema without migration 9.
pub async fn apply_first_order_number(db: &Store, settings: &Settings) -> anyhow::Result<()> {
    let first = settings.domain_defaults()?.first_number;
    raise_first_order_number(db.write(), first)
        .await
        .context("cannot apply orders.first_number (are the migrations applied?)")
}

/// The audience of dev tokens when `auth.audience` is not set.
pub const DEV_AUDIENCE: &str = "orderdesk-dev";

/// The dev issuer's URL for a server listening on `addr` (always a loopback URL).
pub fn dev_issuer_url(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    format!("http://{host}:{}/", addr.port())
}

/// Loads (or creates) the dev issuer for a server listening on `addr`.
///
/// # Errors
/// The key file cannot be read or written.
pub fn dev_issuer(settings: &Settings, addr: SocketAddr) -> anyhow::Result<DevIssuer> {
    let audience = if settings.auth.audience.is_empty() { DEV_AUDIENCE } else { &settings.auth.audience };
    Ok(DevIssuer::load_or_create(&settings.server.data_dir, &dev_issuer_url(addr), audience)?)
}

/// The token verifier, and the dev issuer's documents when the server is its own issuer.
/// Both paths verify through the same JWKS verifier.
///
/// # Errors
/// Invalid auth settings, or the dev key cannot be loaded.
pub fn token_verifier(
    settings: &Settings,
    addr: SocketAddr,
) -> anyhow::Result<(Arc<dyn TokenVerifier>, Option<DevIssuer>)> {
    if settings.uses_dev_issuer() {
        let issuer = dev_issuer(settings, addr)?;
        let verifier_settings = AuthSettings {
            issuer: issuer.issuer().to_owned(),
            audience: issuer.audience().to_owned(),
            ..settings.auth.clone()
        };
        let verifier = JwksTokenVerifier::new(&verifier_settings).map_err(anyhow::Error::msg)?;
        tracing::info!(issuer = issuer.issuer(), "using the built-in dev issuer; get a token with `orderdesk token`");
        return Ok((Arc::new(verifier), Some(issuer)));
    }
    let verifier = JwksTokenVerifier::new(&settings.auth).map_err(anyhow::Error::msg)?;
    let prefetching = verifier.clone();
    tokio::spawn(async move {
        if let Err(error) = prefetching.prefetch().await {
            tracing::warn!(%error, "cannot fetch the issuer's signing keys yet; will retry when a token arrives");
        }
    });
    Ok((Arc::new(verifier), None))
}

/// The dev dashboard's client id at the built-in issuer.
pub const DEV_CLIENT_ID: &str = "orderdesk-dev-dashboard";

/// The dashboard's sign-in wiring: Auth0's (or the dev issuer's) OpenID client, sessions in
/// the database, and the cookie key.
///
/// # Errors
/// The OIDC client cannot be built, or the dev cookie key cannot be stored.
fn web_options(
    settings: &Settings,
    addr: SocketAddr,
    db: &Store,
    dev: Option<DevIssuer>,
) -> anyhow::Result<Option<WebOptions>> {
    let public_url = if settings.web.public_url.is_empty() {
        dev_issuer_url(addr).trim_end_matches('/').to_owned()
    } else {
        settings.web.public_url.trim_end_matches('/').to_owned()
    };
    let cookie_key = match &settings.web.cookie_secret {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => dev_cookie_key(&settings.server.data_dir)?,
    };
    let (oidc, dev_issuer): (Option<Arc<dyn OidcClient>>, Option<DevIssuerOptions>) = match dev {
        Some(issuer) => {
            // The dev issuer and its client live in this process: a fresh secret per start.
            let client_secret = orderdesk_signin::token::random_token();
            let auth = AuthSettings {
                issuer: issuer.issuer().to_owned(),
                audience: issuer.audience().to_owned(),
                ..settings.auth.clone()
            };
            let client = HttpOidcClient::new(&auth, DEV_CLIENT_ID, Secret::new(client_secret.clone()))
                .map_err(anyhow::Error::msg)?;
            let options = DevIssuerOptions { signer: Arc::new(issuer), client_id: DEV_CLIENT_ID.into(), client_secret };
            (Some(Arc::new(client)), Some(options))
        }
        None if !settings.auth.client_id.is_empty() => {
            let secret = settings.auth.client_secret.clone().context("auth.client_secret is required")?;
            let client =
                HttpOidcClient::new(&settings.auth, &settings.auth.client_id, secret).map_err(anyhow::Error::msg)?;
            (Some(Arc::new(client)), None)
        }
        None => (None, None),
    };
    Ok(Some(WebOptions {
        secure_cookies: public_url.starts_with("https://"),
        public_url,
        session_ttl: Duration::from_secs(settings.web.session_ttl_minutes.max(1) * 60),
        cookie_key,
        oidc,
        sessions: Arc::new(SeaOrmSessionRepository::new(db.clone())),
        dev_issuer,
        time_zone: shop_zone(settings)?,
    }))
}

/// `shop.time_zone`, parsed.
fn shop_zone(settings: &Settings) -> anyhow::Result<chrono_tz::Tz> {
    settings.time_zone()?.parse().map_err(|_| anyhow::anyhow!("shop.time_zone is not an IANA time zone"))
}

/// The secret list cursors are authenticated with: `web.cookie_secret`, else the key kept in
/// the data directory (processes sharing it agree; set the secret when they do not).
fn cursor_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    match &settings.web.cookie_secret {
        Some(secret) => Ok(secret.expose().as_bytes().to_vec()),
        None => {
            if settings.profile == crate::settings::Profile::Production {
                tracing::warn!(
                    "ORDERDESK_WEB__COOKIE_SECRET is not set: list cursors are signed with a key kept in \
                     server.data_dir, so processes behind one load balancer must share that directory or the secret"
                );
            }
            dev_cookie_key(&settings.server.data_dir)
        }
    }
}

/// The dev profile's cookie key, created once in the data directory (mode 0600).
fn dev_cookie_key(data_dir: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("cookie-secret");
    if let Ok(existing) = std::fs::read(&path)
        && existing.len() >= 32
    {
        return Ok(existing);
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let key = orderdesk_signin::token::random_token();
    orderdesk_adapters::secret::write_private_file(&path, key.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key.into_bytes())
}

/// Wires the adapters into the domain services.
fn services(db: &Store, settings: &Settings, tokens: Arc<dyn TokenVerifier>, sms: &Sms) -> anyhow::Result<Services> {
    let defaults = settings.domain_defaults()?;
    // Loads the phone-number metadata now, so the first customer request does not pay for it.
    let _ = PhoneNumber::parse("+254712345678", defaults.phone_region);
    let customers = Arc::new(SeaOrmCustomerRepository::new(db.clone()));
    let orders = Arc::new(SeaOrmOrderRepository::new(db.clone()));
    let notifications = Arc::new(SeaOrmNotificationRepository::new(db.clone()));
    let clock = Arc::new(SystemClock);
    let mut order_service = OrderService::new(orders.clone(), customers.clone(), clock.clone(), defaults.currency)
        .with_number_prefix(defaults.number_prefix.clone());
    if let Some(outbox) = sms.outbox.clone() {
        order_service = order_service.with_sms(outbox);
    }
    let signal = Arc::new(sms.signal.clone());
    let customer_service = CustomerService::new(customers.clone(), clock.clone(), defaults.phone_region)
        .with_default_language(defaults.language);
    let inbox =
        InboxService::new(Arc::new(SeaOrmInboxRepository::new(db.clone())), customer_service.clone(), clock.clone());
    Ok(Services {
        notifications: NotificationService::new(
            notifications,
            orders,
            customers,
            clock.clone(),
            signal,
            Arc::new(OutboxCounters),
        ),
        customers: customer_service,
        inbox,
        orders: order_service,
        reports: Arc::new(SqlOrderReports::new(db.clone())),
        idempotency: IdempotencyService::new(
            Arc::new(SeaOrmIdempotencyRepository::new(db.clone())),
            clock.clone(),
            settings.idempotency.retention(),
        ),
        health: Arc::new(SeaOrmHealthCheck::new(db.clone())),
        events: event_service(db, settings),
        webhooks: webhook_service(db, settings)?,
        tokens,
    })
}

/// The webhook sender for `webhooks.allow_private_targets` (warned about in production).
fn webhook_sender(settings: &Settings) -> anyhow::Result<Arc<HttpWebhookSender>> {
    let allow_private = settings.webhooks_allow_private_targets();
    if allow_private && settings.profile == crate::settings::Profile::Production {
        tracing::warn!(
            "webhooks.allow_private_targets is on in production: webhook endpoints may use plain http and reach \
             private, loopback and link-local addresses"
        );
    }
    Ok(Arc::new(HttpWebhookSender::new(allow_private).map_err(anyhow::Error::msg)?))
}

/// Webhook endpoints over `db`, checking URLs with the sender `webhooks.allow_private_targets` sets.
pub(crate) fn webhook_service(db: &Store, settings: &Settings) -> anyhow::Result<WebhookService> {
    Ok(WebhookService::new(
        Arc::new(SeaOrmWebhookEndpointRepository::new(db.clone())),
        Arc::new(SeaOrmWebhookDeliveryRepository::new(db.clone())),
        webhook_sender(settings)?,
        Arc::new(OsSecretGenerator),
        Arc::new(JsonEventEncoder),
        Arc::new(SystemClock),
    ))
}

/// The event feed over `db`, keeping events `events.retention_days`.
pub(crate) fn event_service(db: &Store, settings: &Settings) -> EventService {
    EventService::new(
        Arc::new(SeaOrmEventRepository::new(db.clone())),
        Arc::new(SystemClock),
        settings.events.retention(),
    )
}

/// Deletes expired idempotency keys (lookups already ignore them; this keeps the table
/// small), and events and finished webhook deliveries past `events.retention_days`, now and
/// every ten minutes.
pub(crate) async fn sweep_expired(
    keys: IdempotencyService,
    events: EventService,
    webhooks: WebhookService,
    retention: chrono::Duration,
) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        match keys.sweep().await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "expired idempotency keys deleted"),
            Err(error) => tracing::warn!(error.cause_chain = ?error, "cannot sweep idempotency keys"),
        }
        match events.prune().await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "events past their retention deleted"),
            Err(error) => tracing::warn!(error.cause_chain = ?error, "cannot sweep old events"),
        }
        match webhooks.prune(retention).await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "webhook deliveries and attempts past the retention deleted"),
            Err(error) => tracing::warn!(error.cause_chain = ?error, "cannot sweep old webhook deliveries"),
        }
    }
}

/// Starts the webhook dispatcher unless `webhooks.dispatcher` is off.
///
/// # Errors
/// `webhooks.retry_for` is invalid, or the HTTP client cannot be built.
pub(crate) fn start_webhook_dispatcher(
    db: &Store,
    settings: &Settings,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    if !settings.webhooks.dispatcher {
        tracing::info!("webhooks.dispatcher is off: another process must deliver webhooks");
        return Ok(None);
    }
    let dispatcher = WebhookDispatcher::new(
        Arc::new(SeaOrmWebhookEndpointRepository::new(db.clone())),
        Arc::new(SeaOrmWebhookDeliveryRepository::new(db.clone())),
        Arc::new(SeaOrmEventRepository::new(db.clone())),
        webhook_sender(settings)?,
        Arc::new(JsonEventEncoder),
        Arc::new(SystemClock),
        Arc::new(OutboxCounters),
        settings.webhook_retry_policy()?,
        worker_name(),
    );
    let poll = Duration::from_millis(settings.webhooks.poll_interval_ms);
    Ok(Some(tokio::spawn(run_webhook_dispatcher(dispatcher, poll, stop))))
}

/// This process's name in leases: its pid and a random suffix.
fn worker_name() -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("orderdesk-{}-{}", std::process::id(), &id[id.len() - 8..])
}

/// Starts the outbox dispatcher unless it is turned off or SMS is disabled.
pub(crate) fn start_dispatcher(
    db: &Store,
    settings: &Settings,
    sms: &Sms,
    stop: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    let gateway = sms.gateway.clone()?;
    if !settings.sms.dispatcher {
        tracing::info!("sms.dispatcher is off: another process must send the outbox");
        return None;
    }
    // Checked at start-up (settings::sms::validate).
    let policy = settings.sms_retry_policy().unwrap_or_default();
    let worker = worker_name();
    let dispatcher = NotificationDispatcher::new(
        Arc::new(SeaOrmNotificationRepository::new(db.clone())),
        gateway,
        Arc::new(SystemClock),
        Arc::new(OutboxCounters),
        policy,
        worker,
        Duration::from_secs(settings.sms.lease_seconds),
    );
    let poll = Duration::from_millis(settings.sms.poll_interval_ms);
    if !settings.database.connection.is_sqlite() {
        // Orders created by other processes wake this dispatcher at once (LISTEN/NOTIFY).
        let url = settings.database.connection.url.clone();
        tokio::spawn(listen_for_outbox(url, sms.signal.clone(), stop.clone()));
    }
    Some(tokio::spawn(run_dispatcher(dispatcher, sms.signal.notified(), poll, stop)))
}

impl Application {
    /// Opens the database, binds the listener (port 0 picks a free port), builds the app and
    /// starts the SMS dispatcher.
    ///
    /// # Errors
    /// Database, migration, auth, SMS or bind failures, with what failed in the message.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(warning) = settings.renamed_settings_warning() {
            tracing::warn!("{warning}");
        }
        let db = open_database(settings).await?;
        apply_first_order_number(&db, settings).await?;
        let bind = settings.server.bind;
        let acceptor = TcpListener::bind(bind)
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on server.bind {bind}"))?;
        let local_addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("listener has no socket address")?;
        let (tokens, dev_issuer) = token_verifier(settings, local_addr)?;
        let web = web_options(settings, local_addr, &db, dev_issuer.clone())?;
        let dev_issuer = dev_issuer.map(|i| IssuerDocuments { jwks: i.jwks_json(), discovery: i.discovery_json() });
        let sms = sms(settings)?;
        let webhook_secret = settings.sms.webhook_secret.as_ref().map(|s| s.expose().to_owned());
        if webhook_secret.is_none() && sms.gateway.is_some() {
            tracing::warn!("sms.webhook_secret is not set: delivery reports will be refused");
        }
        let rate_limit = settings.rate_limit();
        if let Some(limit) = rate_limit {
            tracing::info!(
                requests_per_second = limit.requests_per_second,
                burst = limit.burst,
                "rate limit per client"
            );
        }
        let options = HttpOptions {
            max_body_bytes: settings.http.max_body_bytes,
            dev_issuer,
            webhook_secret,
            web,
            rate_limit,
            metrics: metrics_options(settings, &db),
            cors: orderdesk_api::cors::AllowedOrigins::new(settings.cors.allowed_origins.clone()),
            cursor_secret: Some(cursor_secret(settings)?),
            time_zone: shop_zone(settings)?,
            body_read_timeout: Some(settings.server.connection_limits().body_read_timeout),
            trace_context: Some(Arc::new(|next, req| Box::pin(crate::telemetry::trace_context(next, req)))),
        };
        let limits = settings.server.connection_limits();
        let services = services(&db, settings, tokens, &sms)?;
        let sweeper = tokio::spawn(sweep_expired(
            services.idempotency.clone(),
            services.events.clone(),
            services.webhooks.clone(),
            settings.events.retention(),
        ));
        // Already boxed: a second box would be one more `DynEndpoint` call a request.
        let endpoint = app(services, options);
        let (stop_dispatcher, stop) = watch::channel(false);
        let webhook_dispatcher = start_webhook_dispatcher(&db, settings, stop.clone())?;
        let dispatcher = start_dispatcher(&db, settings, &sms, stop);
        Ok(Self {
            acceptor: GuardedAcceptor::new(acceptor, limits, settings.server.client_limits()?),
            local_addr,
            endpoint,
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_seconds),
            http2_max_streams: limits.http2_max_streams,
            stop_dispatcher,
            dispatcher,
            webhook_dispatcher,
            sweeper,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish (up to the timeout),
    /// then stops the dispatchers after the SMS and the webhook they have in hand.
    ///
    /// # Errors
    /// The listener fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        // Without HTTP/2 the listener refuses the connection preface, so the limit is moot.
        let streams = self.http2_max_streams.unwrap_or(1);
        let served = Server::new_with_acceptor(self.acceptor)
            .http2_max_concurrent_streams(streams)
            .run_with_graceful_shutdown(self.endpoint, shutdown, Some(self.shutdown_timeout))
            .await;
        self.sweeper.abort();
        let _ = self.stop_dispatcher.send(true);
        // Both finish what they hold; each gets the shutdown timeout.
        for dispatcher in [self.dispatcher, self.webhook_dispatcher].into_iter().flatten() {
            let _ = tokio::time::timeout(self.shutdown_timeout, dispatcher).await;
        }
        served
    }
}

/// Completes on Ctrl-C or SIGTERM (what container runtimes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

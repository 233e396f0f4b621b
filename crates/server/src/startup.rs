//! The composition root: the only place that knows every concrete type.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use orderdesk_adapters::auth::{AuthSettings, DevIssuer, JwksTokenVerifier};
use orderdesk_adapters::{
    DatabaseConnection, SeaOrmCustomerRepository, SeaOrmHealthCheck, SeaOrmOrderRepository, connect, migrate,
};
use orderdesk_api::{HttpOptions, IssuerDocuments, Services, app};
use orderdesk_domain::PhoneNumber;
use orderdesk_domain::auth::TokenVerifier;
use orderdesk_domain::ports::SystemClock;
use orderdesk_domain::service::{CustomerService, OrderService};
use poem::endpoint::BoxEndpoint;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{EndpointExt, Response, Server};

use crate::settings::{Settings, mask_url_password};

/// A server bound to its address, ready to run.
pub struct Application {
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
    endpoint: BoxEndpoint<'static, Response>,
    shutdown_timeout: Duration,
}

/// Opens the database and applies migrations when configured.
///
/// # Errors
/// The database cannot be opened or a migration fails.
pub async fn open_database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = mask_url_password(&settings.database.connection.url);
    let db = connect(&settings.database.connection).await.with_context(|| format!("cannot open database {url}"))?;
    if settings.database.migrate_on_start {
        migrate(&db).await.with_context(|| format!("cannot migrate database {url}"))?;
    }
    Ok(db)
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
) -> anyhow::Result<(Arc<dyn TokenVerifier>, Option<IssuerDocuments>)> {
    if settings.uses_dev_issuer() {
        let issuer = dev_issuer(settings, addr)?;
        let verifier_settings = AuthSettings {
            issuer: issuer.issuer().to_owned(),
            audience: issuer.audience().to_owned(),
            ..settings.auth.clone()
        };
        let verifier = JwksTokenVerifier::new(&verifier_settings).map_err(anyhow::Error::msg)?;
        tracing::info!(issuer = issuer.issuer(), "using the built-in dev issuer; get a token with `orderdesk token`");
        let documents = IssuerDocuments { jwks: issuer.jwks_json(), discovery: issuer.discovery_json() };
        return Ok((Arc::new(verifier), Some(documents)));
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

/// Wires the adapters into the domain services.
///
/// # Errors
/// Invalid domain defaults in the settings.
pub fn services(
    db: &DatabaseConnection,
    settings: &Settings,
    tokens: Arc<dyn TokenVerifier>,
) -> anyhow::Result<Services> {
    let defaults = settings.domain_defaults()?;
    // Loads the phone-number metadata now, so the first customer request does not pay for it.
    let _ = PhoneNumber::parse("+254712345678", defaults.phone_region);
    let customers = Arc::new(SeaOrmCustomerRepository::new(db.clone()));
    let orders = Arc::new(SeaOrmOrderRepository::new(db.clone()));
    let clock = Arc::new(SystemClock);
    Ok(Services {
        customers: CustomerService::new(customers.clone(), clock.clone(), defaults.phone_region),
        orders: OrderService::new(orders, customers, clock, defaults.currency),
        health: Arc::new(SeaOrmHealthCheck::new(db.clone())),
        tokens,
    })
}

impl Application {
    /// Opens the database, binds the listener (port 0 picks a free port) and builds the app.
    ///
    /// # Errors
    /// Database, migration, auth or bind failures, with what failed in the message.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = open_database(settings).await?;
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
        let options = HttpOptions { max_body_bytes: settings.http.max_body_bytes, dev_issuer };
        let endpoint = app(services(&db, settings, tokens)?, options).map_to_response().boxed();
        Ok(Self {
            acceptor,
            local_addr,
            endpoint,
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_seconds),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (up to the timeout).
    ///
    /// # Errors
    /// The listener fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(self.endpoint, shutdown, Some(self.shutdown_timeout))
            .await
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

//! The composition root: the only place that knows every concrete type.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use orderdesk_adapters::{
    DatabaseConnection, SeaOrmCustomerRepository, SeaOrmHealthCheck, SeaOrmOrderRepository,
    connect, migrate,
};
use orderdesk_api::{HttpOptions, Services, app};
use orderdesk_domain::PhoneNumber;
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
    let db = connect(&settings.database.connection)
        .await
        .with_context(|| format!("cannot open database {url}"))?;
    if settings.database.migrate_on_start {
        migrate(&db)
            .await
            .with_context(|| format!("cannot migrate database {url}"))?;
    }
    Ok(db)
}

/// Wires the adapters into the domain services.
///
/// # Errors
/// Invalid domain defaults in the settings.
pub fn services(db: &DatabaseConnection, settings: &Settings) -> anyhow::Result<Services> {
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
    })
}

impl Application {
    /// Opens the database, builds the app and binds the listener (port 0 picks a free port).
    ///
    /// # Errors
    /// Database, migration or bind failures, with what failed in the message.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = open_database(settings).await?;
        let endpoint = app(
            services(&db, settings)?,
            HttpOptions {
                max_body_bytes: settings.http.max_body_bytes,
            },
        )
        .map_to_response()
        .boxed();
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

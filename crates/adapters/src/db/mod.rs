//! sea-orm persistence on SQLite (embedded default) and PostgreSQL.

mod backup;
mod cached_sql;
mod customers;
mod entity;
mod error;
mod events;
mod group_commit;
mod idempotency;
mod inbox;
mod lifecycle;
mod listener;
mod notifications;
mod orders;
mod postgres_create;
mod raw_sql;
mod reports;
mod sessions;
mod store;
mod webhooks;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use orderdesk_domain::RepoError;
use orderdesk_domain::ports::HealthCheck;
use orderdesk_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};

pub use backup::{BackupError, backup_sqlite};
pub use customers::SeaOrmCustomerRepository;
pub use events::SeaOrmEventRepository;
pub use idempotency::SeaOrmIdempotencyRepository;
pub use inbox::SeaOrmInboxRepository;
pub use lifecycle::raise_first_order_number;
pub use listener::listen_for_outbox;
pub use notifications::{OUTBOX_CHANNEL, SeaOrmNotificationRepository};
pub use orders::SeaOrmOrderRepository;
pub use reports::SqlOrderReports;
pub use sessions::SeaOrmSessionRepository;
pub use store::Store;
pub use webhooks::{SeaOrmWebhookDeliveryRepository, SeaOrmWebhookEndpointRepository};

/// A connection pool's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open, idle or lent out.
    pub open: u32,
    pub idle: u32,
    /// The pool's size limit.
    pub max: u32,
}

impl PoolStats {
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// The state of `db`'s pool now (sqlx does not count the tasks waiting for a connection).
pub fn pool_stats(db: &DatabaseConnection) -> Option<PoolStats> {
    let idle = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some(PoolStats {
                open: pool.size(),
                idle: idle(pool.num_idle()),
                max: pool.options().get_max_connections(),
            })
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some(PoolStats {
                open: pool.size(),
                idle: idle(pool.num_idle()),
                max: pool.options().get_max_connections(),
            })
        }
        _ => None,
    }
}

/// Database settings, nested by the server under `database`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db`, `sqlite::memory:` or `postgres://user:pass@host/db`.
    pub url: String,
    /// PostgreSQL's pool size (reads and writes). A SQLite file uses
    /// `sqlite_read_connections` instead; in-memory SQLite always one connection.
    pub max_connections: u32,
    /// Read-only connections to a SQLite file, beside its one writer. sqlx runs each SQLite
    /// connection on a thread of its own, and each keeps its own page cache and allocator
    /// heaps (some 2 MB under load); SQLite's reads are CPU work in this process, so more
    /// readers than cores only wait (docs/benchmarks.md, "Fourth pass").
    pub sqlite_read_connections: u32,
    /// How long a request waits for a pooled connection before the store counts as unavailable.
    pub acquire_timeout_ms: u64,
    /// How long SQLite waits on a locked database before giving up.
    pub sqlite_busy_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/orderdesk.db".into(),
            max_connections: 8,
            sqlite_read_connections: 4,
            acquire_timeout_ms: 5_000,
            sqlite_busy_timeout_ms: 5_000,
        }
    }
}

impl DatabaseSettings {
    /// Whether the URL names a SQLite database.
    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    /// The file a SQLite URL points at, if any (none for in-memory databases).
    pub fn sqlite_file(&self) -> Option<&Path> {
        let rest = self.url.strip_prefix("sqlite://").or_else(|| self.url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && !path.starts_with(":memory:") && !self.url.contains("mode=memory"))
            .then(|| Path::new(path))
    }
}

/// Opens the database's connections ([`Store`]). PostgreSQL: one pool of
/// `max_connections` for reads and writes. A SQLite file: one writer connection (WAL,
/// `synchronous=NORMAL`, foreign keys, busy timeout; the file and its directory are created
/// when missing) and a pool of `sqlite_read_connections` read-only connections beside it. An
/// in-memory SQLite database: one connection for both (each connection would be another
/// database).
///
/// # Errors
/// The database cannot be reached or the file cannot be created.
pub async fn connect(settings: &DatabaseSettings) -> Result<Store, DbErr> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(settings.max_connections.max(1))
        .min_connections(0)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .connect_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .sqlx_logging(false);
    if !settings.is_sqlite() {
        return Ok(Store::from(Database::connect(options).await?));
    }
    let file = settings.sqlite_file();
    if let Some(file) = file {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
        create_private(file).map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", file.display())))?;
    }
    let busy_timeout = Duration::from_millis(settings.sqlite_busy_timeout_ms);
    // A file connection does not drop like a network one: no ping before each use (sqlx's
    // default), which on SQLite is a round trip through the connection's worker thread.
    options.test_before_acquire(false);
    let mut writer = options.clone();
    writer.max_connections(1).map_sqlx_sqlite_opts(move |o| {
        o.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(busy_timeout)
    });
    let writer = Database::connect(writer).await?;
    let Some(file) = file else { return Ok(Store::from(writer)) };
    // SQLite gives -wal and -shm the database file's mode; this covers a file created by an
    // older version or another tool.
    for suffix in ["-wal", "-shm"] {
        let mut companion = file.as_os_str().to_owned();
        companion.push(suffix);
        make_private(Path::new(&companion));
    }
    // The journal mode is the file's (WAL, set by the writer); readers only read. Each keeps a
    // 1 MiB page cache (SQLite's default is 2 MiB a connection): the OS caches the file for all
    // of them, and `database.sqlite_read_connections` of them stay within the memory budget.
    options.max_connections(settings.sqlite_read_connections.max(1)).map_sqlx_sqlite_opts(move |o| {
        o.read_only(true).foreign_keys(true).busy_timeout(busy_timeout).pragma("cache_size", "-1024")
    });
    let reader = Database::connect(options).await?;
    Ok(Store::new(reader, writer))
}

/// Creates an empty database file readable by its owner only (0600, whatever the umask), so
/// the rows never sit world-readable; an existing file is left as it is.
fn create_private(file: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => {
            make_private(file);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets mode 0600 on `file` if it exists (unix only; best effort).
fn make_private(file: &Path) {
    #[cfg(unix)]
    if file.exists() {
        use std::os::unix::fs::PermissionsExt;
        if let Err(error) = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(file = %file.display(), %error, "cannot make the database file private");
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Applies every pending migration.
///
/// # Errors
/// A migration failed; the database is left at the last migration that succeeded.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

pub use orderdesk_migrations::SchemaStatus;

/// How the database's schema compares with this binary's migrations (read-only).
///
/// # Errors
/// The database cannot be read.
pub async fn schema_status(db: &DatabaseConnection) -> Result<SchemaStatus, DbErr> {
    orderdesk_migrations::schema_status(db).await
}

/// Readiness: the database answers a ping (on a read connection: under load the one SQLite
/// writer is busy, not down).
#[derive(Debug, Clone)]
pub struct SeaOrmHealthCheck {
    db: Store,
}

impl SeaOrmHealthCheck {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

#[async_trait]
impl HealthCheck for SeaOrmHealthCheck {
    async fn ping(&self) -> Result<(), RepoError> {
        self.db.read().ping().await.map_err(|e| RepoError::Unavailable(Box::new(e)))
    }
}

//! Throwaway databases for tests: a temporary SQLite file always, and a fresh PostgreSQL
//! database per test when `ORDERDESK_TEST_POSTGRES_URL` is set. Each is migrated and
//! removed afterwards, even when the test panics, so tests run in parallel and leave nothing.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use futures_util::FutureExt;
use sea_orm::{ConnectionTrait, Database};
use uuid::Uuid;

use crate::db::{DatabaseSettings, Store, connect, migrate};

/// The environment variable naming the PostgreSQL server used by tests.
pub const POSTGRES_URL_VAR: &str = "ORDERDESK_TEST_POSTGRES_URL";

/// Which backend a test database lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated, empty database that exists for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub backend: Backend,
    pub settings: DatabaseSettings,
    /// Its connections (on SQLite a writer and a read pool, as the server opens them).
    pub connection: Store,
}

/// The backends to run a test on: SQLite always, PostgreSQL when configured.
/// Prints why PostgreSQL is skipped, once per test binary.
pub fn backends() -> Vec<Backend> {
    if std::env::var_os(POSTGRES_URL_VAR).is_some() {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        // Written past the test harness's output capture, so the skip is visible in every run.
        static NOTICE: std::sync::Once = std::sync::Once::new();
        NOTICE.call_once(|| {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: PostgreSQL tests skipped: {POSTGRES_URL_VAR} is not set (SQLite ran)"
            );
        });
        vec![Backend::Sqlite]
    }
}

/// Runs `test` against a fresh database on `backend`, then removes the database.
///
/// # Panics
/// When the database cannot be created, or when `test` panics (after cleaning up).
pub async fn with_database<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    let (settings, cleanup) = match backend {
        Backend::Sqlite => sqlite_file(),
        Backend::Postgres => postgres_database().await,
    };
    let connection = connect(&settings).await.expect("connect to test database");
    migrate(connection.write()).await.expect("migrate test database");
    let database = TestDatabase { backend, settings, connection: connection.clone() };
    let outcome = AssertUnwindSafe(test(database)).catch_unwind().await;
    let _ = connection.close().await;
    cleanup.run().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `test` on every available backend in turn.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        with_database(backend, &test).await;
    }
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            }
        }
    }
}

fn sqlite_file() -> (DatabaseSettings, Cleanup) {
    let path = std::env::temp_dir().join(format!("orderdesk-test-{}.db", Uuid::now_v7().simple()));
    let settings = DatabaseSettings {
        url: format!("sqlite://{}", path.display()),
        sqlite_read_connections: 4,
        ..DatabaseSettings::default()
    };
    (settings, Cleanup::SqliteFile(path))
}

async fn postgres_database() -> (DatabaseSettings, Cleanup) {
    let admin_url = std::env::var(POSTGRES_URL_VAR).expect("PostgreSQL URL");
    let name = format!("orderdesk_test_{}", Uuid::now_v7().simple());
    let admin = Database::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {e}"));
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    let _ = admin.close().await;
    let mut url = url::Url::parse(&admin_url).expect("valid PostgreSQL URL");
    url.set_path(&name);
    let settings = DatabaseSettings { url: url.to_string(), max_connections: 4, ..DatabaseSettings::default() };
    (settings, Cleanup::PostgresDatabase { admin_url, name })
}

//! A write transaction run straight on sqlx, for the create path. sea-orm's
//! `DatabaseTransaction` runs each statement through executor futures of some 15 KB that are
//! moved several times a statement: on a create (six statements) some 150,000 instructions of
//! `memcpy` (docs/benchmarks.md). [`SqlxTransaction`] implements sea-orm's `ConnectionTrait`,
//! so the repositories' helpers and sea-orm's `Insert` run on it unchanged; statements are
//! bound by sea-orm's own binder (`sea-query-sqlx`), so the database sees what it saw before.

use async_trait::async_trait;
use sea_orm::sqlx::{self, AssertSqlSafe, Postgres, Sqlite};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement, Values,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Mutex;

/// An open transaction on one pooled connection; rolled back when dropped uncommitted.
pub(crate) enum SqlxTransaction {
    Postgres(Mutex<sqlx::Transaction<'static, Postgres>>),
    Sqlite(Mutex<sqlx::Transaction<'static, Sqlite>>),
}

impl SqlxTransaction {
    /// Begins on `db`'s pool: `BEGIN IMMEDIATE` on SQLite (the write lock up front), `BEGIN`
    /// on PostgreSQL.
    ///
    /// # Errors
    /// No connection in time, or the `BEGIN` failed.
    pub(crate) async fn begin(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Ok(match db.get_database_backend() {
            DbBackend::Postgres => {
                Self::Postgres(Mutex::new(db.get_postgres_connection_pool().begin().await.map_err(acquire_error)?))
            }
            _ => {
                let pool = db.get_sqlite_connection_pool();
                Self::Sqlite(Mutex::new(pool.begin_with("BEGIN IMMEDIATE").await.map_err(acquire_error)?))
            }
        })
    }

    /// Commits.
    ///
    /// # Errors
    /// The `COMMIT` failed (then nothing was written).
    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Postgres(tx) => tx.into_inner().commit().await,
            Self::Sqlite(tx) => tx.into_inner().commit().await,
        }
        .map_err(exec_error)
    }
}

fn values(statement: &Statement) -> SqlxValues {
    SqlxValues(statement.values.clone().unwrap_or(Values(Vec::new())))
}

#[async_trait]
impl ConnectionTrait for SqlxTransaction {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Postgres(_) => DbBackend::Postgres,
            Self::Sqlite(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        let (sql, values) = (AssertSqlSafe(statement.sql.clone()), values(&statement));
        match self {
            Self::Postgres(tx) => {
                sqlx::query_with(sql, values).execute(&mut **tx.lock().await).await.map(ExecResult::from)
            }
            Self::Sqlite(tx) => {
                sqlx::query_with(sql, values).execute(&mut **tx.lock().await).await.map(ExecResult::from)
            }
        }
        .map_err(exec_error)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let raw = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        match self {
            Self::Postgres(tx) => raw.execute(&mut **tx.lock().await).await.map(ExecResult::from),
            Self::Sqlite(tx) => raw.execute(&mut **tx.lock().await).await.map(ExecResult::from),
        }
        .map_err(exec_error)
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        Ok(self.query_all_raw(statement).await?.into_iter().next())
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let (sql, values) = (AssertSqlSafe(statement.sql.clone()), values(&statement));
        match self {
            Self::Postgres(tx) => sqlx::query_with(sql, values)
                .fetch_all(&mut **tx.lock().await)
                .await
                .map(|rows| rows.into_iter().map(QueryResult::from).collect()),
            Self::Sqlite(tx) => sqlx::query_with(sql, values)
                .fetch_all(&mut **tx.lock().await)
                .await
                .map(|rows| rows.into_iter().map(QueryResult::from).collect()),
        }
        .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(e))))
    }
}

/// A failed statement, as sea-orm reports it (so constraint violations classify the same).
fn exec_error(error: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(error)))
}

/// A failed `BEGIN`: no connection in time is `ConnectionAcquire`, as sea-orm reports it.
fn acquire_error(error: sqlx::Error) -> DbErr {
    super::cached_sql::db_error(error)
}

//! SQL text built once. sea-query builds a statement from expression trees on every call:
//! for a `SELECT` of a 17-column row that is some 30,000 instructions, more than sqlx takes
//! to run it (docs/benchmarks.md, per-layer table). A hot query whose shape never changes
//! builds its text on first use, per backend, and later calls bind their values to it. The
//! text is still sea-query's, so it stays in step with the entities.

use std::sync::OnceLock;

use sea_orm::sqlx::AssertSqlSafe;
use sea_orm::sqlx::Error as SqlxError;
use sea_orm::{
    ConnAcquireErr, DatabaseConnection, DbBackend, DbErr, FromQueryResult, QueryResult, RuntimeErr, Statement, Value,
    Values,
};
use sea_orm::{EntityTrait, PrimaryKeyTrait, QuerySelect, QueryTrait};
use sea_query_sqlx::SqlxValues;
use uuid::Uuid;

/// One query's text on each backend, built on first use.
pub(crate) struct CachedSql {
    postgres: OnceLock<String>,
    sqlite: OnceLock<String>,
}

impl CachedSql {
    pub(crate) const fn new() -> Self {
        Self { postgres: OnceLock::new(), sqlite: OnceLock::new() }
    }

    /// The statement with `values`, in the order `build` binds them; `build` runs once per
    /// backend. In debug builds (the tests) the values `build` bound are checked against
    /// `values`, so a caller that binds in another order fails its tests.
    pub(crate) fn statement(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> Statement,
    ) -> Statement {
        let cell = match backend {
            DbBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        };
        let sql = cell.get_or_init(|| {
            let built = build();
            debug_assert_eq!(built.values, Some(Values(values.clone())), "bound in another order: {}", built.sql);
            built.sql
        });
        Statement::from_sql_and_values(backend, sql.as_str(), values)
    }
}

/// Runs a read straight on the pool's sqlx driver, binding the values as sea-orm does (its own
/// binder, `sea-query-sqlx`) and mapping each row with `M`'s `FromQueryResult`. sea-orm's
/// executor future for one query is some 15 KB, moved three times: 45,000 instructions of
/// `memcpy` a read, more than the query's own work (docs/benchmarks.md).
///
/// # Errors
/// As sea-orm's: a pool that gives no connection in time is `DbErr::ConnectionAcquire`, any
/// other failure `DbErr::Query`.
pub(crate) async fn read_rows<M: FromQueryResult>(
    db: &DatabaseConnection,
    statement: Statement,
) -> Result<Vec<M>, DbErr> {
    let values = SqlxValues(statement.values.unwrap_or(Values(Vec::new())));
    let rows: Vec<QueryResult> = match db.get_database_backend() {
        DbBackend::Postgres => {
            let query = sea_orm::sqlx::query_with(AssertSqlSafe(statement.sql.as_str()), values);
            let rows = query.fetch_all(db.get_postgres_connection_pool()).await.map_err(db_error)?;
            rows.into_iter().map(QueryResult::from).collect()
        }
        _ => {
            let query = sea_orm::sqlx::query_with(AssertSqlSafe(statement.sql.as_str()), values);
            let rows = query.fetch_all(db.get_sqlite_connection_pool()).await.map_err(db_error)?;
            rows.into_iter().map(QueryResult::from).collect()
        }
    };
    rows.iter().map(|row| M::from_query_result(row, "")).collect()
}

/// The row of `E` with primary key `id` (a UUID), its SQL built once in `cache`.
///
/// # Errors
/// As [`read_rows`].
pub(crate) async fn find_by_id<E>(
    cache: &CachedSql,
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
    Uuid: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    let backend = db.get_database_backend();
    let statement = cache
        .statement(backend, vec![Value::from(id), Value::from(1u64)], || E::find_by_id(id).limit(1).build(backend));
    Ok(read_rows::<E::Model>(db, statement).await?.into_iter().next())
}

/// sqlx's error as sea-orm reports it.
fn db_error(error: SqlxError) -> DbErr {
    match error {
        SqlxError::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        SqlxError::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::entity::orders::Entity;

    #[test]
    fn the_text_is_built_once_and_later_values_are_bound_to_it() {
        static FIND: CachedSql = CachedSql::new();
        let id = uuid::Uuid::now_v7();
        let built = || Entity::find_by_id(id).limit(1).build(DbBackend::Postgres);
        let first = FIND.statement(DbBackend::Postgres, vec![id.into(), 1u64.into()], built);
        assert_eq!(first, built());
        let other = uuid::Uuid::now_v7();
        let again = FIND.statement(DbBackend::Postgres, vec![other.into(), 1u64.into()], || unreachable!("built once"));
        assert_eq!(again, Entity::find_by_id(other).limit(1).build(DbBackend::Postgres));
    }
}

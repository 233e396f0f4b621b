//! SQL text built once. sea-query builds a statement from expression trees on every call:
//! for a `SELECT` of a 17-column row that is some 30,000 instructions, more than sqlx takes
//! to run it (docs/benchmarks.md, per-layer table). A hot query whose shape never changes
//! builds its text on first use, per backend, and later calls bind their values to it. The
//! text is still sea-query's, so it stays in step with the entities.

use std::sync::OnceLock;

use sea_orm::sqlx::AssertSqlSafe;
use sea_orm::sqlx::Error as SqlxError;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::sqlite::SqliteRow;
use sea_orm::{ConnAcquireErr, DatabaseConnection, DbBackend, DbErr, RuntimeErr, Statement, Value, Values};
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

/// A model decoded straight from a sqlx row, each column by its name with sqlx's decoder for
/// the field's type: what sea-orm's `FromQueryResult` does (its `TryGetable` reads
/// `row.try_get::<Option<T>>(name)`), without its `QueryResult` wrapper, whose NULL path formats
/// the column's name into an error that `Option<T>` then throws away (some 750 instructions per
/// NULL column, four of them in an order's row; docs/benchmarks.md). Implemented by
/// [`from_sqlx_row!`] for the models of the hot reads; a test compares it with sea-orm's.
pub(crate) trait FromSqlxRow: Sized {
    /// # Errors
    /// A missing column, a NULL in a non-optional field, or a value of another type.
    fn from_pg(row: &PgRow) -> Result<Self, SqlxError>;
    /// # Errors
    /// As [`FromSqlxRow::from_pg`].
    fn from_sqlite(row: &SqliteRow) -> Result<Self, SqlxError>;
}

/// `from_sqlx_row!(path::Model { field, ... })`: every field of the model, named as its column
/// (the struct literal fails to compile if one is left out).
macro_rules! from_sqlx_row {
    ($model:path { $($field:ident),+ $(,)? }) => {
        impl $crate::db::cached_sql::FromSqlxRow for $model {
            fn from_pg(row: &sea_orm::sqlx::postgres::PgRow) -> Result<Self, sea_orm::sqlx::Error> {
                use sea_orm::sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?),+ })
            }
            fn from_sqlite(row: &sea_orm::sqlx::sqlite::SqliteRow) -> Result<Self, sea_orm::sqlx::Error> {
                use sea_orm::sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?),+ })
            }
        }
    };
}
from_sqlx_row!(crate::db::entity::orders::Model {
    id,
    customer_id,
    item,
    amount_minor,
    currency,
    ordered_at,
    created_at,
    updated_at,
    created_by,
    updated_by,
    version,
    number,
    reference,
    status,
    status_changed_at,
    cancel_reason,
    cancel_note,
});
from_sqlx_row!(crate::db::entity::customers::Model {
    id,
    name,
    code,
    code_key,
    phone,
    created_at,
    updated_at,
    created_by,
    updated_by,
    version,
    language,
    sms_opt_out,
});

/// Runs a read straight on the pool's sqlx driver, binding the values as sea-orm does (its own
/// binder, `sea-query-sqlx`) and decoding each row with `M`'s [`FromSqlxRow`]. sea-orm's
/// executor future for one query is some 15 KB, moved three times: 45,000 instructions of
/// `memcpy` a read, more than the query's own work (docs/benchmarks.md).
///
/// # Errors
/// As sea-orm's: a pool that gives no connection in time is `DbErr::ConnectionAcquire`, any
/// other failure `DbErr::Query`.
pub(crate) async fn read_rows<M: FromSqlxRow>(db: &DatabaseConnection, statement: Statement) -> Result<Vec<M>, DbErr> {
    let values = SqlxValues(statement.values.unwrap_or(Values(Vec::new())));
    let sql = AssertSqlSafe(statement.sql.as_str());
    let models = match db.get_database_backend() {
        DbBackend::Postgres => {
            let query = sea_orm::sqlx::query_with(sql, values);
            let rows = query.fetch_all(db.get_postgres_connection_pool()).await.map_err(db_error)?;
            rows.iter().map(M::from_pg).collect::<Result<_, _>>()
        }
        _ => {
            let query = sea_orm::sqlx::query_with(sql, values);
            let rows = query.fetch_all(db.get_sqlite_connection_pool()).await.map_err(db_error)?;
            rows.iter().map(M::from_sqlite).collect::<Result<_, _>>()
        }
    };
    models.map_err(db_error)
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
    E::Model: FromSqlxRow,
    Uuid: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    let backend = db.get_database_backend();
    let statement = cache
        .statement(backend, vec![Value::from(id), Value::from(1u64)], || E::find_by_id(id).limit(1).build(backend));
    Ok(read_rows::<E::Model>(db, statement).await?.into_iter().next())
}

/// sqlx's error as sea-orm reports it.
pub(crate) fn db_error(error: SqlxError) -> DbErr {
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
    use crate::db::entity::{customers, orders};
    use crate::testing::on_each_backend;
    use sea_orm::{ActiveModelTrait, IntoActiveModel};

    fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(seconds, 123_456_000).expect("a valid time")
    }

    /// Rows with every optional column NULL and with every one set decode to the same models
    /// as through sea-orm's `FromQueryResult`, on each backend.
    #[tokio::test]
    async fn rows_decode_as_sea_orm_decodes_them() {
        on_each_backend(|database| async move {
            let db = database.connection.write();
            let customer = customers::Model {
                id: Uuid::now_v7(),
                name: "Amina Wanjiru".into(),
                code: "C-1".into(),
                code_key: "c-1".into(),
                phone: "+254712345678".into(),
                created_at: at(1_700_000_000),
                updated_at: at(1_700_000_001),
                created_by: Some("auth0|a".into()),
                updated_by: None,
                version: 3,
                language: "sw".into(),
                sms_opt_out: true,
            };
            customer.clone().into_active_model().insert(db).await.expect("customer stored");
            let unset = orders::Model {
                id: Uuid::now_v7(),
                customer_id: customer.id,
                item: "Mandazi ✓".into(),
                amount_minor: 123_456_789_012,
                currency: "KES".into(),
                ordered_at: at(1_700_000_100),
                created_at: at(1_700_000_101),
                updated_at: at(1_700_000_102),
                created_by: None,
                updated_by: None,
                version: 1,
                number: 1,
                reference: "ORD-000001".into(),
                status: "received".into(),
                status_changed_at: None,
                cancel_reason: None,
                cancel_note: None,
            };
            let set = orders::Model {
                id: Uuid::now_v7(),
                number: 2,
                reference: "ORD-000002".into(),
                created_by: Some("auth0|a".into()),
                updated_by: Some("auth0|b".into()),
                status: "cancelled".into(),
                status_changed_at: Some(at(1_700_000_200)),
                cancel_reason: Some("customer_request".into()),
                cancel_note: Some("rang to cancel".into()),
                ..unset.clone()
            };
            for order in [&unset, &set] {
                order.clone().into_active_model().insert(db).await.expect("order stored");
            }
            for reader in [database.connection.read(), db] {
                for order in [&unset, &set] {
                    let ours = find_by_id::<orders::Entity>(&CachedSql::new(), reader, order.id).await.expect("read");
                    let sea_orm = orders::Entity::find_by_id(order.id).one(reader).await.expect("read");
                    assert_eq!(ours, sea_orm);
                    assert_eq!(ours.as_ref(), Some(order));
                }
                let ours = find_by_id::<customers::Entity>(&CachedSql::new(), reader, customer.id).await.expect("read");
                assert_eq!(ours, customers::Entity::find_by_id(customer.id).one(reader).await.expect("read"));
                assert_eq!(ours, Some(customer.clone()));
            }
        })
        .await;
    }

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

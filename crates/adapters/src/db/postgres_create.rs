//! The order number and the create-order transaction on PostgreSQL, run straight on sqlx.
//! sea-orm's `query_one` and `begin` futures are some 15 KB each and are moved into one
//! another as they nest: under callgrind some 45,000 instructions of `memcpy` each, more than
//! the statements' own work (docs/benchmarks.md, "Sixth pass"). The statements are the same
//! as sea-orm's: built by sea-query from the entities, bound by sea-query's own sqlx binder,
//! and the errors mapped as sea-orm reports them ([`super::cached_sql::db_error`]).

use orderdesk_domain::idempotency::IdempotencyRecord;
use orderdesk_domain::{NewEvent, Notification, Order, OrderNumber, RepoError};
use sea_orm::sea_query::{PostgresQueryBuilder, QueryStatementWriter};
use sea_orm::sqlx::postgres::{PgConnection, PgPool};
use sea_orm::sqlx::{AssertSqlSafe, Postgres};
use sea_orm::{DbErr, Value, Values};
use sea_query_sqlx::SqlxValues;

use super::cached_sql::db_error;
use super::error::repo_error;
use super::events::events_insert;
use super::idempotency::{key_taken, record_statements};
use super::notifications::NOTIFY_DISPATCHERS;
use super::orders::{number_taken, outbox_cte_insert};

/// The next value of `order_number_seq` (`nextval`: never rolled back, so never given twice).
///
/// # Errors
/// The pool gives no connection in time, or the sequence cannot be read.
pub(crate) async fn next_number(pool: &PgPool) -> Result<OrderNumber, RepoError> {
    let number: i64 = sea_orm::sqlx::query_scalar("SELECT nextval('order_number_seq') AS number")
        .fetch_one(pool)
        .await
        .map_err(|e| repo_error(db_error(e)))?;
    OrderNumber::new(number).map_err(|e| RepoError::Unexpected(format!("order number {number}: {e}").into()))
}

/// One transaction: the idempotency record (an expired one for the key replaced first), the
/// order, its first history row and its outbox rows in one statement, the wake-up for
/// dispatchers in other processes (`pg_notify`, delivered at commit) when there is an SMS, and
/// the events. Dropped before `COMMIT` (an error, a cancelled request), sqlx rolls it back.
///
/// # Errors
/// [`RepoError::KeyTaken`] for a live key, [`RepoError::ForeignKey`] for a missing customer,
/// [`RepoError::Unavailable`] for a number already taken (see `number_taken`) or a busy store.
pub(crate) async fn insert(
    pool: &PgPool,
    order: &Order,
    notifications: &[Notification],
    record: Option<&IdempotencyRecord>,
    events: &[NewEvent],
) -> Result<(), RepoError> {
    let mut txn = pool.begin().await.map_err(|e| repo_error(db_error(e)))?;
    if let Some(record) = record {
        let (expired, insert) = record_statements(record);
        execute(&mut txn, &expired).await.map_err(repo_error)?;
        execute(&mut txn, &insert).await.map_err(key_taken)?;
    }
    execute(&mut txn, &outbox_cte_insert(order, notifications)).await.map_err(number_taken)?;
    if !notifications.is_empty() {
        run(&mut txn, NOTIFY_DISPATCHERS.to_owned(), Vec::new()).await.map_err(repo_error)?;
    }
    if let Some(insert) = events_insert(events)? {
        execute(&mut txn, &insert).await.map_err(repo_error)?;
    }
    txn.commit().await.map_err(|e| repo_error(db_error(e)))
}

/// Runs a sea-query statement, built for PostgreSQL.
async fn execute(conn: &mut PgConnection, statement: &impl QueryStatementWriter) -> Result<(), DbErr> {
    let (sql, Values(values)) = statement.build(PostgresQueryBuilder);
    run(conn, sql, values).await
}

async fn run(conn: &mut PgConnection, sql: String, values: Vec<Value>) -> Result<(), DbErr> {
    let query = sea_orm::sqlx::query_with::<Postgres, _>(AssertSqlSafe(sql), SqlxValues(Values(values)));
    query.execute(conn).await.map(drop).map_err(db_error)
}

//! Maps sea-orm errors to the domain's [`RepoError`], portably across backends.

use orderdesk_domain::RepoError;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// SQLite result codes meaning "try again later": BUSY, LOCKED and their extended forms.
const SQLITE_RETRYABLE: [&str; 6] = ["5", "6", "261", "262", "517", "773"];

pub(crate) fn repo_error(error: DbErr) -> RepoError {
    if matches!(error, DbErr::ConnectionAcquire(_)) {
        metrics::counter!("orderdesk_db_pool_acquire_failures_total").increment(1);
    }
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => return RepoError::Duplicate,
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => return RepoError::ForeignKey,
        _ => {}
    }
    if is_sqlite_restrict_violation(&error) {
        return RepoError::ForeignKey;
    }
    if is_transient(&error) { RepoError::Unavailable(Box::new(error)) } else { RepoError::Unexpected(Box::new(error)) }
}

fn database_error(error: &DbErr) -> Option<&(dyn sea_orm::sqlx::error::DatabaseError + 'static)> {
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match &**e {
            sea_orm::sqlx::Error::Database(db) => Some(&**db),
            _ => None,
        },
        _ => None,
    }
}

/// SQLite reports `ON DELETE RESTRICT` as SQLITE_CONSTRAINT_TRIGGER (1811), which sea-orm's
/// portable classification does not know.
fn is_sqlite_restrict_violation(error: &DbErr) -> bool {
    database_error(error).is_some_and(|db| db.code().as_deref() == Some("1811") && db.message().contains("FOREIGN KEY"))
}

fn is_transient(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match &**e {
                sea_orm::sqlx::Error::PoolTimedOut | sea_orm::sqlx::Error::PoolClosed | sea_orm::sqlx::Error::Io(_) => {
                    true
                }
                sea_orm::sqlx::Error::Database(db) => {
                    db.code().is_some_and(|code| SQLITE_RETRYABLE.contains(&code.as_ref()))
                    // PostgreSQL: serialization failure, deadlock, too many connections, shutting down.
                    || db.code().is_some_and(|code| matches!(code.as_ref(), "40001" | "40P01" | "53300" | "57P01"))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// A stored row that no longer passes domain validation: a bug or a hand-edited database.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> RepoError {
    RepoError::Unexpected(format!("stored {what} is invalid: {detail}").into())
}

/// Rebuilds the audit trail from its columns.
pub(crate) fn audit(
    created_at: chrono::DateTime<chrono::Utc>,
    created_by: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
    updated_by: Option<String>,
    version: i32,
) -> orderdesk_domain::AuditTrail {
    let version = domain_version(version);
    orderdesk_domain::AuditTrail { created_at, created_by, updated_at, updated_by, version }
}

/// A version as stored in an `INTEGER` column (the same bits).
pub(crate) fn stored_version(version: u32) -> i32 {
    i32::from_ne_bytes(version.to_ne_bytes())
}

/// A version read from its `INTEGER` column: the inverse of [`stored_version`].
pub(crate) fn domain_version(stored: i32) -> u32 {
    u32::from_ne_bytes(stored.to_ne_bytes())
}

/// After a conditional write changed nothing: the row is gone, or at another version.
pub(crate) async fn why_unchanged<E>(db: &impl sea_orm::ConnectionTrait, id: uuid::Uuid) -> RepoError
where
    E: sea_orm::EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<uuid::Uuid>,
{
    match E::find_by_id(id).one(db).await {
        Ok(Some(_)) => RepoError::VersionMismatch,
        Ok(None) => RepoError::NotFound,
        Err(e) => repo_error(e),
    }
}

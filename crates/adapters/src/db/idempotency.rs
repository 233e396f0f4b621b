//! [`IdempotencyRepository`] on sea-orm, and the write the creating repositories make in
//! their transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderdesk_domain::RepoError;
use orderdesk_domain::idempotency::{IdempotencyKey, IdempotencyRecord, IdempotentRequest, StoredResponse};
use orderdesk_domain::ports::IdempotencyRepository;
use sea_orm::sea_query::{DeleteStatement, InsertStatement};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait};

use super::entity::idempotency_keys::{self, Column, Entity};
use super::error::{corrupt, repo_error};
use super::store::Store;

/// Stored responses in the `idempotency_keys` table.
#[derive(Debug, Clone)]
pub struct SeaOrmIdempotencyRepository {
    db: Store,
}

impl SeaOrmIdempotencyRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

/// The `status` of a row whose `body` is the whole (opaque) response.
const OPAQUE: i32 = 0;

/// Writes `record` inside the creating transaction, first: an expired row for the same key is
/// replaced; a live one makes the whole transaction fail with [`RepoError::KeyTaken`]. On
/// PostgreSQL a concurrent transaction inserting the same key waits here until this one ends.
pub(crate) async fn insert_record<C: ConnectionTrait>(db: &C, record: &IdempotencyRecord) -> Result<(), RepoError> {
    let (expired, insert) = record_statements(record);
    db.execute(&expired).await.map_err(repo_error)?;
    db.execute(&insert).await.map_err(key_taken)?;
    Ok(())
}

/// [`insert_record`]'s two statements: the delete of an expired row for the same key, then
/// the insert.
pub(crate) fn record_statements(record: &IdempotencyRecord) -> (DeleteStatement, InsertStatement) {
    let request = &record.request;
    let expired = Entity::delete_many()
        .filter(Column::Subject.eq(request.subject.as_str()))
        .filter(Column::IdempotencyKey.eq(request.key.as_str()))
        .filter(Column::ExpiresAt.lte(record.created_at))
        .into_query();
    let row = idempotency_keys::ActiveModel {
        subject: Set(request.subject.clone()),
        idempotency_key: Set(request.key.as_str().to_owned()),
        operation: Set(request.operation.clone()),
        fingerprint: Set(request.fingerprint.clone()),
        // The response is opaque: all of it is kept in `body`. `status` 0 marks such a row;
        // `location` and `etag` are left empty (rows from before kept their parts there).
        status: Set(OPAQUE),
        location: Set(None),
        etag: Set(None),
        body: Set(record.response.as_str().to_owned()),
        created_at: Set(record.created_at),
        expires_at: Set(record.expires_at),
    };
    (expired, Entity::insert(row).into_query())
}

/// The record's insert refused by the key's unique index: the key is live.
pub(crate) fn key_taken(error: sea_orm::DbErr) -> RepoError {
    match repo_error(error) {
        RepoError::Duplicate => RepoError::KeyTaken,
        other => other,
    }
}

/// The stored response: `body` itself for rows written since responses are opaque (`status`
/// [`OPAQUE`]); a row kept before that (status, `Location`, `ETag` and body in their own
/// columns) is given in the same envelope the API writes, `{"location", "etag", "body"}`, so a
/// retry within the key's retention is still answered by a replay (a create's version was 0).
fn stored_response(status: i32, location: Option<String>, etag: Option<String>, body: String) -> StoredResponse {
    if status == OPAQUE {
        return StoredResponse::new(body);
    }
    let body = serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::String(body));
    let etag = etag.unwrap_or_else(|| "\"0\"".to_owned());
    StoredResponse::new(serde_json::json!({ "location": location, "etag": etag, "body": body }).to_string())
}

fn to_domain(row: idempotency_keys::Model) -> Result<IdempotencyRecord, RepoError> {
    Ok(IdempotencyRecord {
        request: IdempotentRequest {
            subject: row.subject,
            key: IdempotencyKey::parse(&row.idempotency_key).map_err(|e| corrupt("idempotency key", e))?,
            operation: row.operation,
            fingerprint: row.fingerprint,
        },
        response: stored_response(row.status, row.location, row.etag, row.body),
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

#[async_trait]
impl IdempotencyRepository for SeaOrmIdempotencyRepository {
    async fn find(&self, subject: &str, key: &str, now: DateTime<Utc>) -> Result<Option<IdempotencyRecord>, RepoError> {
        let row = Entity::find_by_id((subject.to_owned(), key.to_owned()))
            .filter(Column::ExpiresAt.gt(now))
            .one(self.db.read())
            .await
            .map_err(repo_error)?;
        row.map(to_domain).transpose()
    }

    async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, RepoError> {
        let result =
            Entity::delete_many().filter(Column::ExpiresAt.lte(now)).exec(self.db.write()).await.map_err(repo_error)?;
        Ok(result.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_from_before_opaque_responses_is_replayed_in_the_apis_envelope() {
        let legacy = stored_response(201, Some("/api/v1/orders/7".into()), None, r#"{"id":"7"}"#.into());
        let document: serde_json::Value = serde_json::from_str(legacy.as_str()).unwrap();
        assert_eq!(
            document,
            serde_json::json!({ "location": "/api/v1/orders/7", "etag": "\"0\"", "body": { "id": "7" } })
        );
        assert_eq!(stored_response(OPAQUE, None, None, "opaque".into()).as_str(), "opaque");
    }
}

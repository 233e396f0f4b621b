//! [`WebhookEndpointRepository`] and [`WebhookDeliveryRepository`] on sea-orm: endpoints, the
//! webhook outbox and its attempts. They store what the domain's rules decided
//! ([`Delivery::route`], [`Delivery::claim`], ...), each write over the version it came from.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderdesk_domain::notification::{Claim, Lease};
use orderdesk_domain::ports::{WebhookDeliveryRepository, WebhookEndpointRepository};
use orderdesk_domain::webhook::{
    AttemptId, AttemptOutcome, Delivery, DeliveryAttempt, DeliveryId, DeliveryParts, DeliveryStatus, Disabled,
    PreviousSecret, WebhookDescription, WebhookSecret, WebhookUrl,
};
use orderdesk_domain::{
    EventId, EventSelector, EventType, Page, PageRequest, RepoError, WebhookEndpoint, WebhookEndpointId,
};
use sea_orm::sea_query::{LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};

use super::entity::webhook_attempts::{self, Column as AttemptColumn, Entity as Attempts};
use super::entity::webhook_deliveries::{self, Column as DeliveryColumn, Entity as Deliveries};
use super::entity::webhook_endpoints::{self, Column as EndpointColumn, Entity as Endpoints};
use super::error::{audit, corrupt, domain_version, repo_error, stored_version};
use super::store::Store;

/// Webhook endpoints in the `webhook_endpoints` table.
#[derive(Debug, Clone)]
pub struct SeaOrmWebhookEndpointRepository {
    db: Store,
}

impl SeaOrmWebhookEndpointRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

fn endpoint_row(endpoint: &WebhookEndpoint) -> webhook_endpoints::ActiveModel {
    let previous = endpoint.previous_secret();
    let disabled = endpoint.disabled();
    webhook_endpoints::ActiveModel {
        id: Set(endpoint.id().as_uuid()),
        url: Set(endpoint.url().as_str().to_owned()),
        events: Set(endpoint.events().patterns().join(",")),
        description: Set(endpoint.description().map(|d| d.as_str().to_owned())),
        secret: Set(endpoint.secret().expose().to_owned()),
        previous_secret: Set(previous.map(|p| p.secret.expose().to_owned())),
        previous_secret_until: Set(previous.map(|p| p.until)),
        disabled_reason: Set(disabled.map(|d| d.reason.clone())),
        disabled_at: Set(disabled.map(|d| d.at)),
        created_at: Set(endpoint.audit().created_at),
        created_by: Set(endpoint.audit().created_by.clone()),
        updated_at: Set(endpoint.audit().updated_at),
        updated_by: Set(endpoint.audit().updated_by.clone()),
        version: Set(stored_version(endpoint.audit().version)),
    }
}

fn endpoint_of(row: webhook_endpoints::Model) -> Result<WebhookEndpoint, RepoError> {
    let url = WebhookUrl::parse(&row.url).map_err(|e| corrupt("webhook url", e))?;
    let events = EventSelector::parse_list(&row.events).map_err(|e| corrupt("webhook events", e))?;
    let description = row
        .description
        .as_deref()
        .map(WebhookDescription::parse)
        .transpose()
        .map_err(|e| corrupt("webhook description", e))?;
    let secret = WebhookSecret::from_stored(&row.secret).map_err(|e| corrupt("webhook secret", e))?;
    let previous = match (row.previous_secret.as_deref(), row.previous_secret_until) {
        (Some(secret), Some(until)) => Some(PreviousSecret {
            secret: WebhookSecret::from_stored(secret).map_err(|e| corrupt("previous webhook secret", e))?,
            until,
        }),
        _ => None,
    };
    let disabled = row.disabled_reason.zip(row.disabled_at).map(|(reason, at)| Disabled { reason, at });
    Ok(WebhookEndpoint::restore(
        WebhookEndpointId::from_uuid(row.id),
        url,
        events,
        description,
        secret,
        previous,
        disabled,
        audit(row.created_at, row.created_by, row.updated_at, row.updated_by, row.version),
    ))
}

#[async_trait]
impl WebhookEndpointRepository for SeaOrmWebhookEndpointRepository {
    async fn insert(&self, endpoint: &WebhookEndpoint) -> Result<(), RepoError> {
        Endpoints::insert(endpoint_row(endpoint)).exec_without_returning(self.db.write()).await.map_err(repo_error)?;
        Ok(())
    }

    async fn find(&self, id: WebhookEndpointId) -> Result<Option<WebhookEndpoint>, RepoError> {
        Endpoints::find_by_id(id.as_uuid()).one(self.db.read()).await.map_err(repo_error)?.map(endpoint_of).transpose()
    }

    async fn list(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>, RepoError> {
        let mut query = Endpoints::find().order_by_desc(EndpointColumn::Id).limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(EndpointColumn::Id.lt(before));
        }
        let rows = query.all(self.db.read()).await.map_err(repo_error)?;
        let endpoints = rows.into_iter().map(endpoint_of).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(endpoints, page.limit, |e| e.id().as_uuid()))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(webhook_endpoint_id = %next.id(), version = next.audit().version))]
    async fn store(&self, previous_version: u32, next: &WebhookEndpoint) -> Result<bool, RepoError> {
        let mut row = endpoint_row(next);
        row.id = ActiveValue::NotSet;
        row.created_at = ActiveValue::NotSet;
        row.created_by = ActiveValue::NotSet;
        let result = Endpoints::update_many()
            .set(row)
            .filter(EndpointColumn::Id.eq(next.id().as_uuid()))
            .filter(EndpointColumn::Version.eq(stored_version(previous_version)))
            .exec(self.db.write())
            .await
            .map_err(repo_error)?;
        Ok(result.rows_affected == 1)
    }

    async fn delete(&self, id: WebhookEndpointId) -> Result<bool, RepoError> {
        // Its deliveries and attempts go with it (ON DELETE CASCADE).
        let result = Endpoints::delete_by_id(id.as_uuid()).exec(self.db.write()).await.map_err(repo_error)?;
        Ok(result.rows_affected == 1)
    }
}

/// The webhook outbox in `webhook_deliveries`, with `webhook_attempts`.
#[derive(Debug, Clone)]
pub struct SeaOrmWebhookDeliveryRepository {
    db: Store,
}

impl SeaOrmWebhookDeliveryRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

fn delivery_row(delivery: &Delivery) -> webhook_deliveries::ActiveModel {
    let d = delivery.parts();
    webhook_deliveries::ActiveModel {
        id: Set(d.id.as_uuid()),
        endpoint_id: Set(d.endpoint_id.as_uuid()),
        event_id: Set(d.event_id.as_uuid()),
        event_type: Set(d.event_type.as_str().to_owned()),
        status: Set(d.status.as_str().to_owned()),
        attempts: Set(i32::try_from(d.attempts).unwrap_or(i32::MAX)),
        next_attempt_at: Set(d.next_attempt_at),
        lease_owner: Set(d.lease.as_ref().map(|l| l.owner.clone())),
        lease_until: Set(d.lease.as_ref().map(|l| l.until)),
        last_status_code: Set(d.last_status_code.map(i32::from)),
        last_error: Set(d.last_error.clone()),
        created_at: Set(d.created_at),
        updated_at: Set(d.updated_at),
        delivered_at: Set(d.delivered_at),
        version: Set(stored_version(d.version)),
    }
}

fn delivery_of(row: webhook_deliveries::Model) -> Result<Delivery, RepoError> {
    Ok(Delivery::restore(DeliveryParts {
        id: DeliveryId::from_uuid(row.id),
        endpoint_id: WebhookEndpointId::from_uuid(row.endpoint_id),
        event_id: EventId::from_uuid(row.event_id),
        event_type: EventType::parse(&row.event_type).map_err(|_| corrupt("delivery event type", &row.event_type))?,
        status: DeliveryStatus::parse(&row.status).ok_or_else(|| corrupt("delivery status", &row.status))?,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        lease: row.lease_owner.zip(row.lease_until).map(|(owner, until)| Lease { owner, until }),
        last_status_code: row.last_status_code.and_then(|c| u16::try_from(c).ok()),
        last_error: row.last_error,
        created_at: row.created_at,
        updated_at: row.updated_at,
        delivered_at: row.delivered_at,
        version: domain_version(row.version),
    }))
}

fn attempt_row(a: &DeliveryAttempt) -> webhook_attempts::ActiveModel {
    webhook_attempts::ActiveModel {
        id: Set(a.id.as_uuid()),
        endpoint_id: Set(a.endpoint_id.as_uuid()),
        delivery_id: Set(a.delivery_id.map(|d| d.as_uuid())),
        event_id: Set(a.event_id.as_uuid()),
        event_type: Set(a.event_type.chars().take(40).collect()),
        number: Set(i32::try_from(a.number).unwrap_or(i32::MAX)),
        attempted_at: Set(a.attempted_at),
        status_code: Set(a.status_code.map(i32::from)),
        error: Set(a.error.clone()),
        duration_ms: Set(i64::try_from(a.duration_ms).unwrap_or(i64::MAX)),
        outcome: Set(a.outcome.as_str().to_owned()),
    }
}

fn attempt_of(row: webhook_attempts::Model) -> Result<DeliveryAttempt, RepoError> {
    Ok(DeliveryAttempt {
        id: AttemptId::from_uuid(row.id),
        endpoint_id: WebhookEndpointId::from_uuid(row.endpoint_id),
        delivery_id: row.delivery_id.map(DeliveryId::from_uuid),
        event_id: EventId::from_uuid(row.event_id),
        event_type: row.event_type,
        number: u32::try_from(row.number).unwrap_or(0),
        attempted_at: row.attempted_at,
        status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
        error: row.error,
        duration_ms: u64::try_from(row.duration_ms).unwrap_or(0),
        outcome: AttemptOutcome::parse(&row.outcome).ok_or_else(|| corrupt("attempt outcome", &row.outcome))?,
    })
}

/// An event the routing statement marked routed.
#[derive(Debug, FromQueryResult)]
struct RoutedEvent {
    id: uuid::Uuid,
    kind: String,
    created_at: DateTime<Utc>,
}

/// Marks up to `$1` unrouted events routed, oldest first, and returns them. One write
/// statement, so on SQLite the transaction holds the write lock from its first statement (a
/// read that later writes could fail at once with SQLITE_BUSY); on PostgreSQL the candidates
/// are locked and rows another dispatcher holds are skipped.
const ROUTE_POSTGRES: &str = "UPDATE events SET routed = TRUE WHERE id IN \
     (SELECT id FROM events WHERE routed = FALSE ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, type AS kind, created_at";
const ROUTE_SQLITE: &str = "UPDATE events SET routed = TRUE WHERE id IN \
     (SELECT id FROM events WHERE routed = FALSE ORDER BY id LIMIT ?1) \
     RETURNING id, type AS kind, created_at";

#[async_trait]
impl WebhookDeliveryRepository for SeaOrmWebhookDeliveryRepository {
    async fn route(&self, limit: u64, now: DateTime<Utc>) -> Result<u64, RepoError> {
        let backend = self.db.backend();
        let sql = if backend == DatabaseBackend::Postgres { ROUTE_POSTGRES } else { ROUTE_SQLITE };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let txn = self.db.begin().await.map_err(repo_error)?;
        let mut events = RoutedEvent::find_by_statement(Statement::from_sql_and_values(backend, sql, [limit.into()]))
            .all(&txn)
            .await
            .map_err(repo_error)?;
        if events.is_empty() {
            txn.commit().await.map_err(repo_error)?;
            return Ok(0);
        }
        events.sort_by_key(|e| e.id);
        let endpoints = Endpoints::find()
            .filter(EndpointColumn::DisabledAt.is_null())
            .all(&txn)
            .await
            .map_err(repo_error)?
            .into_iter()
            .map(endpoint_of)
            .collect::<Result<Vec<_>, _>>()?;
        let mut rows = Vec::new();
        for event in &events {
            let kind = EventType::parse(&event.kind).map_err(|_| corrupt("event type", &event.kind))?;
            let id = EventId::from_uuid(event.id);
            rows.extend(
                endpoints
                    .iter()
                    .filter_map(|endpoint| Delivery::route(endpoint, id, kind, event.created_at, now))
                    .map(|delivery| delivery_row(&delivery)),
            );
        }
        // Well under both databases' bound-parameter limits (15 columns a row).
        for chunk in rows.chunks(500) {
            let once =
                OnConflict::columns([DeliveryColumn::EndpointId, DeliveryColumn::EventId]).do_nothing().to_owned();
            Deliveries::insert_many(chunk.to_vec())
                .on_conflict(once)
                .exec_without_returning(&txn)
                .await
                .map_err(repo_error)?;
        }
        txn.commit().await.map_err(repo_error)?;
        Ok(events.len() as u64)
    }

    async fn claim_due(&self, claim: &Claim, limit: u64) -> Result<Vec<Delivery>, RepoError> {
        // The query mirrors `Delivery::is_due`, which decides; it only narrows the candidates.
        let now = claim.now;
        let pending = Condition::all()
            .add(DeliveryColumn::Status.eq(DeliveryStatus::Pending.as_str()))
            .add(DeliveryColumn::NextAttemptAt.lte(now));
        let abandoned = Condition::all()
            .add(DeliveryColumn::Status.eq(DeliveryStatus::Sending.as_str()))
            .add(Condition::any().add(DeliveryColumn::LeaseUntil.lt(now)).add(DeliveryColumn::LeaseUntil.is_null()));
        let candidates = Deliveries::find()
            .filter(Condition::any().add(pending).add(abandoned))
            .order_by_asc(DeliveryColumn::NextAttemptAt)
            .limit(limit);
        if self.db.backend() != DatabaseBackend::Postgres {
            // SQLite: each claim is its own statement on the writer; the version guard decides races.
            return claim_each(self.db.write(), candidates, claim).await;
        }
        let txn = self.db.begin().await.map_err(repo_error)?;
        let candidates = candidates.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        let claimed = claim_each(&txn, candidates, claim).await?;
        txn.commit().await.map_err(repo_error)?;
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(delivery_id = %next.id(), version = next.version()))]
    async fn store(
        &self,
        previous_version: u32,
        next: &Delivery,
        attempt: Option<DeliveryAttempt>,
    ) -> Result<bool, RepoError> {
        let Some(attempt) = attempt else { return store_over(self.db.write(), previous_version, next).await };
        let txn = self.db.begin().await.map_err(repo_error)?;
        if !store_over(&txn, previous_version, next).await? {
            return Ok(false);
        }
        attempt_row(&attempt).insert(&txn).await.map_err(repo_error)?;
        txn.commit().await.map_err(repo_error)?;
        Ok(true)
    }

    async fn log_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), RepoError> {
        Attempts::insert(attempt_row(attempt)).exec_without_returning(self.db.write()).await.map_err(repo_error)?;
        Ok(())
    }

    async fn attempts(
        &self,
        endpoint: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>, RepoError> {
        let mut query = Attempts::find()
            .filter(AttemptColumn::EndpointId.eq(endpoint.as_uuid()))
            .order_by_desc(AttemptColumn::Id)
            .limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(AttemptColumn::Id.lt(before));
        }
        let rows = query.all(self.db.read()).await.map_err(repo_error)?;
        let attempts = rows.into_iter().map(attempt_of).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(attempts, page.limit, |a| a.id.as_uuid()))
    }

    async fn last_success(&self, endpoint: WebhookEndpointId) -> Result<Option<DateTime<Utc>>, RepoError> {
        let last: Option<Option<DateTime<Utc>>> = Attempts::find()
            .select_only()
            .column_as(AttemptColumn::AttemptedAt.max(), "last")
            .filter(AttemptColumn::EndpointId.eq(endpoint.as_uuid()))
            .filter(AttemptColumn::Outcome.eq(AttemptOutcome::Delivered.as_str()))
            .into_tuple()
            .one(self.db.read())
            .await
            .map_err(repo_error)?;
        Ok(last.flatten())
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let attempts = Attempts::delete_many()
            .filter(AttemptColumn::AttemptedAt.lt(before))
            .exec(self.db.write())
            .await
            .map_err(repo_error)?;
        let finished = [DeliveryStatus::Delivered.as_str(), DeliveryStatus::Failed.as_str()];
        let deliveries = Deliveries::delete_many()
            .filter(DeliveryColumn::Status.is_in(finished))
            .filter(DeliveryColumn::UpdatedAt.lt(before))
            .exec(self.db.write())
            .await
            .map_err(repo_error)?;
        Ok(attempts.rows_affected + deliveries.rows_affected)
    }
}

/// Applies `claim` to each candidate and stores the claimed ones that are still unchanged.
async fn claim_each<C: ConnectionTrait>(
    db: &C,
    candidates: sea_orm::Select<Deliveries>,
    claim: &Claim,
) -> Result<Vec<Delivery>, RepoError> {
    let rows = candidates.all(db).await.map_err(repo_error)?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let current = delivery_of(row)?;
        let Some(mine) = current.claim(claim) else { continue };
        if store_over(db, current.version(), &mine).await? {
            claimed.push(mine);
        }
    }
    Ok(claimed)
}

/// Writes `next` over the stored row if that is still at `previous_version`; says whether it did.
async fn store_over<C: ConnectionTrait>(db: &C, previous_version: u32, next: &Delivery) -> Result<bool, RepoError> {
    let mut row = delivery_row(next);
    // Identity, what it carries, and creation never change.
    row.id = ActiveValue::NotSet;
    row.endpoint_id = ActiveValue::NotSet;
    row.event_id = ActiveValue::NotSet;
    row.event_type = ActiveValue::NotSet;
    row.created_at = ActiveValue::NotSet;
    let result = Deliveries::update_many()
        .set(row)
        .filter(DeliveryColumn::Id.eq(next.id().as_uuid()))
        .filter(DeliveryColumn::Version.eq(stored_version(previous_version)))
        .exec(db)
        .await
        .map_err(repo_error)?;
    Ok(result.rows_affected == 1)
}

//! [`NotificationRepository`] on sea-orm: the SMS outbox. It stores what the domain's
//! transitions decided, each write guarded by the version it was decided from.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderdesk_domain::Currency;
use orderdesk_domain::notification::{
    Attempt, AttemptOutcome, AttemptRecord, Claim, CostTotal, DeliveryReport, Lease, NotificationParts,
    NotificationSummary, SkipReason, SmsCost, SmsEvent,
};
use orderdesk_domain::ports::NotificationRepository;
use orderdesk_domain::{
    Language, NewEvent, Notification, NotificationId, NotificationStatus, OrderId, PhoneNumber, PhoneRegion, RepoError,
};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveValue, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::notifications::{self, Column, Entity};
use super::entity::{delivery_reports, notification_attempts};
use super::error::{corrupt, domain_version, repo_error, stored_version};
use super::events::insert_events;
use super::raw_sql::statement;
use super::store::Store;

/// The outbox in the `notifications` table.
#[derive(Debug, Clone)]
pub struct SeaOrmNotificationRepository {
    db: Store,
}

impl SeaOrmNotificationRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

pub(crate) fn to_row(n: &Notification) -> notifications::ActiveModel {
    let n = n.parts();
    notifications::ActiveModel {
        id: Set(n.id.as_uuid()),
        order_id: Set(n.order_id.as_uuid()),
        event: Set(n.event.as_str().to_owned()),
        language: Set(n.language.as_str().to_owned()),
        skip_reason: Set(n.skip_reason.map(|r| r.as_str().to_owned())),
        recipient: Set(n.recipient.as_str().to_owned()),
        message: Set(n.message.clone()),
        status: Set(n.status.as_str().to_owned()),
        attempts: Set(i32::try_from(n.attempts).unwrap_or(i32::MAX)),
        timed_out: Set(n.timed_out),
        next_attempt_at: Set(n.next_attempt_at),
        retry_since: Set(Some(n.retry_since)),
        lease_owner: Set(n.lease.as_ref().map(|l| l.owner.clone())),
        lease_until: Set(n.lease.as_ref().map(|l| l.until)),
        provider_message_id: Set(n.provider_message_id.clone()),
        provider_status: Set(n.provider_status.clone()),
        delivery_status: Set(n.delivery_status.clone()),
        delivery_failure_reason: Set(n.delivery_failure_reason.clone()),
        last_error: Set(n.last_error.clone()),
        created_at: Set(n.created_at),
        updated_at: Set(n.updated_at),
        sent_at: Set(n.sent_at),
        version: Set(stored_version(n.version)),
    }
}

pub(crate) fn to_domain(row: notifications::Model) -> Result<Notification, RepoError> {
    let status = NotificationStatus::parse(&row.status).ok_or_else(|| corrupt("notification status", &row.status))?;
    let recipient = PhoneNumber::parse(&row.recipient, PhoneRegion::default()).map_err(|e| corrupt("recipient", e))?;
    let event = SmsEvent::parse(&row.event).map_err(|_| corrupt("notification event", &row.event))?;
    let language = Language::parse(&row.language).map_err(|_| corrupt("notification language", &row.language))?;
    let skip_reason = match row.skip_reason.as_deref() {
        Some(reason) => Some(SkipReason::parse(reason).ok_or_else(|| corrupt("skip reason", reason))?),
        None => None,
    };
    Ok(Notification::restore(NotificationParts {
        id: NotificationId::from_uuid(row.id),
        order_id: OrderId::from_uuid(row.order_id),
        event,
        language,
        skip_reason,
        recipient,
        message: row.message,
        status,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        retry_since: row.retry_since.unwrap_or(row.created_at),
        lease: row.lease_owner.zip(row.lease_until).map(|(owner, until)| Lease { owner, until }),
        provider_message_id: row.provider_message_id,
        provider_status: row.provider_status,
        delivery_status: row.delivery_status,
        delivery_failure_reason: row.delivery_failure_reason,
        last_error: row.last_error,
        timed_out: row.timed_out,
        created_at: row.created_at,
        updated_at: row.updated_at,
        sent_at: row.sent_at,
        version: domain_version(row.version),
    }))
}

#[async_trait]
impl NotificationRepository for SeaOrmNotificationRepository {
    async fn claim_due(&self, claim: &Claim, limit: u64) -> Result<Vec<Notification>, RepoError> {
        // The query mirrors `Notification::is_due`, which decides; it only narrows the candidates.
        let now = claim.now;
        let pending = Condition::all()
            .add(Column::Status.eq(NotificationStatus::Pending.as_str()))
            .add(Column::NextAttemptAt.lte(now));
        let abandoned = Condition::all()
            .add(Column::Status.eq(NotificationStatus::Sending.as_str()))
            .add(Condition::any().add(Column::LeaseUntil.lt(now)).add(Column::LeaseUntil.is_null()));
        let candidates = Entity::find()
            .filter(Condition::any().add(pending).add(abandoned))
            .order_by_asc(Column::NextAttemptAt)
            .limit(limit);
        if self.db.backend() != DatabaseBackend::Postgres {
            // SQLite: read the candidates, then claim them in one statement on the writer; the
            // version guard decides races with other processes.
            let rows = candidates.all(self.db.read()).await.map_err(repo_error)?;
            return claim_rows(self.db.write(), rows, claim).await;
        }
        // PostgreSQL: lock the candidates and skip rows another dispatcher holds, so concurrent
        // dispatchers take different rows.
        let txn = self.db.begin().await.map_err(repo_error)?;
        let candidates = candidates.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        let rows = candidates.all(&txn).await.map_err(repo_error)?;
        let claimed = claim_rows(&txn, rows, claim).await?;
        txn.commit().await.map_err(repo_error)?;
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(notification_id = %next.id(), version = next.version()))]
    async fn store(
        &self,
        previous_version: u32,
        next: &Notification,
        attempt: Option<Attempt>,
        events: &[NewEvent],
    ) -> Result<bool, RepoError> {
        let Some(attempt) = attempt else {
            if next.status() != NotificationStatus::Pending && events.is_empty() {
                return store_over(self.db.write(), previous_version, next).await;
            }
            let txn = self.db.begin().await.map_err(repo_error)?;
            let stored = store_over(&txn, previous_version, next).await?;
            if stored {
                if next.status() == NotificationStatus::Pending {
                    // Re-queued by hand or released by a stopping dispatcher: due now, so wake the others.
                    notify_dispatchers(&txn).await?;
                }
                insert_events(&txn, events).await?;
            }
            txn.commit().await.map_err(repo_error)?;
            return Ok(stored);
        };
        // One send's outcome: a batch of one.
        let record = AttemptRecord { previous_version, next: next.clone(), attempt, events: events.to_vec() };
        Ok(self.store_attempts(std::slice::from_ref(&record)).await?.first() == Some(&true))
    }

    async fn store_attempts(&self, records: &[AttemptRecord]) -> Result<Vec<bool>, RepoError> {
        let txn = self.db.begin().await.map_err(repo_error)?;
        let (mut stored, mut attempts, mut events) = (Vec::with_capacity(records.len()), Vec::new(), Vec::new());
        for record in records {
            let kept = store_over(&txn, record.previous_version, &record.next).await?;
            if kept {
                attempts.push(attempt_row(record.next.id(), &record.attempt));
                events.extend(record.events.iter().cloned());
            }
            stored.push(kept);
        }
        if !attempts.is_empty() {
            notification_attempts::Entity::insert_many(attempts)
                .exec_without_returning(&txn)
                .await
                .map_err(repo_error)?;
        }
        insert_events(&txn, &events).await?;
        txn.commit().await.map_err(repo_error)?;
        Ok(stored)
    }

    async fn find(&self, id: NotificationId) -> Result<Option<Notification>, RepoError> {
        Entity::find_by_id(id.as_uuid()).one(self.db.read()).await.map_err(repo_error)?.map(to_domain).transpose()
    }

    async fn find_by_provider_message_id(&self, message_id: &str) -> Result<Option<Notification>, RepoError> {
        let row = Entity::find()
            .filter(Column::ProviderMessageId.eq(message_id))
            .one(self.db.read())
            .await
            .map_err(repo_error)?;
        row.map(to_domain).transpose()
    }

    async fn list_for_order(&self, order_id: OrderId) -> Result<Vec<Notification>, RepoError> {
        let rows = Entity::find()
            .filter(Column::OrderId.eq(order_id.as_uuid()))
            .order_by_asc(Column::Id)
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn attempts(&self, id: NotificationId) -> Result<Vec<Attempt>, RepoError> {
        let rows = notification_attempts::Entity::find()
            .filter(notification_attempts::Column::NotificationId.eq(id.as_uuid()))
            // In the order made: numbers start again at 1 after a retry by hand.
            .order_by_asc(notification_attempts::Column::AttemptedAt)
            .order_by_asc(notification_attempts::Column::Id)
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        // Attempts from before the column existed were filled in by the migration.
        rows.into_iter()
            .map(|r| {
                let recipient = r.recipient.as_deref().ok_or_else(|| corrupt("attempt recipient", "missing"))?;
                Ok(Attempt {
                    number: u32::try_from(r.number).unwrap_or(0),
                    attempted_at: r.attempted_at,
                    outcome: AttemptOutcome::parse(&r.outcome).ok_or_else(|| corrupt("attempt outcome", &r.outcome))?,
                    recipient: PhoneNumber::parse(recipient, PhoneRegion::default())
                        .map_err(|e| corrupt("attempt recipient", e))?,
                    error: r.error,
                    cost: attempt_cost(r.cost_micros, r.cost_currency.as_deref())?,
                    parts: r.parts.and_then(|p| u32::try_from(p).ok()),
                })
            })
            .collect()
    }

    async fn count_by_status(&self) -> Result<Vec<(NotificationStatus, u64)>, RepoError> {
        let rows: Vec<(String, i64)> = Entity::find()
            .select_only()
            .column(Column::Status)
            .column_as(Column::Id.count(), "count")
            .group_by(Column::Status)
            .into_tuple()
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(status, count)| {
                Some((NotificationStatus::parse(&status)?, u64::try_from(count).unwrap_or(0)))
            })
            .collect())
    }

    async fn summary(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<NotificationSummary, RepoError> {
        let backend = self.db.backend();
        let counts =
            StatusCountRow::find_by_statement(statement(backend, SUMMARY_COUNTS, vec![from.into(), to.into()]))
                .all(self.db.read())
                .await
                .map_err(repo_error)?;
        let costs = CostRow::find_by_statement(statement(backend, SUMMARY_COSTS, vec![from.into(), to.into()]))
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        let counts = counts
            .into_iter()
            .map(|row| {
                let status = NotificationStatus::parse(&row.status)
                    .ok_or_else(|| corrupt("notification status", &row.status))?;
                Ok((status, u64::try_from(row.count).unwrap_or(0)))
            })
            .collect::<Result<_, RepoError>>()?;
        let costs = costs
            .into_iter()
            .map(|row| {
                Ok(CostTotal {
                    currency: Currency::from_stored(&row.currency).map_err(|e| corrupt("cost currency", e))?,
                    micros: i128::from(row.high) * COST_SPLIT + i128::from(row.low),
                    attempts: u64::try_from(row.attempts).unwrap_or(0),
                    parts: u64::try_from(row.parts).unwrap_or(0),
                })
            })
            .collect::<Result<_, RepoError>>()?;
        Ok(NotificationSummary { from, to, counts, costs })
    }

    async fn oldest_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, RepoError> {
        let oldest: Option<Option<DateTime<Utc>>> = Entity::find()
            .select_only()
            .column_as(Column::NextAttemptAt.min(), "oldest")
            .filter(Column::Status.eq(NotificationStatus::Pending.as_str()))
            .filter(Column::NextAttemptAt.lte(now))
            .into_tuple()
            .one(self.db.read())
            .await
            .map_err(repo_error)?;
        Ok(oldest.flatten())
    }

    async fn log_delivery_report(&self, report: &DeliveryReport, received_at: DateTime<Utc>) -> Result<(), RepoError> {
        let audit = delivery_reports::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider_message_id: Set(report.provider_message_id.chars().take(64).collect()),
            status: Set(report.status.chars().take(32).collect()),
            payload: Set(report.raw.clone()),
            received_at: Set(received_at),
            phone_number: Set(report.phone_number.as_ref().map(|p| p.chars().take(64).collect())),
            network_code: Set(report.network_code.as_ref().map(|c| c.chars().take(32).collect())),
            failure_reason: Set(report.failure_reason.clone()),
        };
        delivery_reports::Entity::insert(audit).exec_without_returning(self.db.write()).await.map_err(repo_error)?;
        Ok(())
    }

    async fn delivery_reports_for(&self, message_ids: &[String]) -> Result<Vec<DeliveryReport>, RepoError> {
        let rows = delivery_reports::Entity::find()
            .filter(delivery_reports::Column::ProviderMessageId.is_in(message_ids.iter().map(String::as_str)))
            .order_by_asc(delivery_reports::Column::ReceivedAt)
            .order_by_asc(delivery_reports::Column::Id)
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        Ok(rows
            .into_iter()
            .map(|r| DeliveryReport {
                provider_message_id: r.provider_message_id,
                status: r.status,
                phone_number: r.phone_number,
                network_code: r.network_code,
                failure_reason: r.failure_reason,
                raw: r.payload,
            })
            .collect())
    }
}

/// An attempt's stored cost: both columns or neither.
fn attempt_cost(micros: Option<i64>, currency: Option<&str>) -> Result<Option<SmsCost>, RepoError> {
    let (Some(micros), Some(code)) = (micros, currency) else { return Ok(None) };
    let currency = Currency::from_stored(code).map_err(|e| corrupt("cost currency", e))?;
    SmsCost::new(currency, micros).map(Some).map_err(|e| corrupt("cost", e))
}

#[derive(FromQueryResult)]
struct StatusCountRow {
    status: String,
    count: i64,
}

#[derive(FromQueryResult)]
struct CostRow {
    currency: String,
    attempts: i64,
    parts: i64,
    /// The sum of `cost_micros / 10^9`, and of the remainders: each fits a BIGINT for any
    /// realistic number of attempts, and together they give the exact total in an i128.
    high: i64,
    low: i64,
}

const COST_SPLIT: i128 = 1_000_000_000;

/// Notifications created in `[$1, $2)` by current status.
const SUMMARY_COUNTS: &str = "SELECT status, COUNT(*) AS count FROM notifications \
     WHERE created_at >= $1 AND created_at < $2 GROUP BY status";

/// Costs of attempts made in `[$1, $2)` per currency, summed exactly as two BIGINT halves.
const SUMMARY_COSTS: &str = "SELECT cost_currency AS currency, COUNT(*) AS attempts, \
     CAST(COALESCE(SUM(parts), 0) AS BIGINT) AS parts, \
     CAST(SUM(cost_micros / 1000000000) AS BIGINT) AS high, \
     CAST(SUM(cost_micros % 1000000000) AS BIGINT) AS low \
     FROM notification_attempts \
     WHERE attempted_at >= $1 AND attempted_at < $2 AND cost_micros IS NOT NULL AND cost_currency IS NOT NULL \
     GROUP BY cost_currency ORDER BY cost_currency";

/// Applies `claim` to each candidate row and stores the claimed ones that are still unchanged:
/// in one statement when each claimed state is the stored row with only the claim's columns
/// changed (status, lease, `updated_at`, version + 1), else row by row.
async fn claim_rows<C: ConnectionTrait>(
    db: &C,
    rows: Vec<notifications::Model>,
    claim: &Claim,
) -> Result<Vec<Notification>, RepoError> {
    let mut decided = Vec::with_capacity(rows.len());
    for row in rows {
        let current = to_domain(row)?;
        if let Some(mine) = claim.apply(&current) {
            decided.push((current, mine));
        }
    }
    if decided.is_empty() {
        return Ok(Vec::new());
    }
    if !decided.iter().all(|(current, mine)| only_claimed(current, mine, claim)) {
        let mut claimed = Vec::with_capacity(decided.len());
        for (current, mine) in decided {
            if store_over(db, current.version(), &mine).await? {
                claimed.push(mine);
            }
        }
        return Ok(claimed);
    }
    let unchanged = decided.iter().fold(Condition::any(), |any, (current, _)| {
        any.add(
            Condition::all()
                .add(Column::Id.eq(current.id().as_uuid()))
                .add(Column::Version.eq(stored_version(current.version()))),
        )
    });
    let stored: Vec<Uuid> = Entity::update_many()
        .col_expr(Column::Status, Expr::value(NotificationStatus::Sending.as_str()))
        .col_expr(Column::LeaseOwner, Expr::value(claim.worker.clone()))
        .col_expr(Column::LeaseUntil, Expr::value(claim.lease_until))
        .col_expr(Column::UpdatedAt, Expr::value(claim.now))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(unchanged)
        .exec_with_returning(db)
        .await
        .map_err(repo_error)?
        .into_iter()
        .map(|row| row.id)
        .collect();
    Ok(decided.into_iter().map(|(_, mine)| mine).filter(|mine| stored.contains(&mine.id().as_uuid())).collect())
}

/// Whether `mine` is `current` with only what the batch claim writes changed.
fn only_claimed(current: &Notification, mine: &Notification, claim: &Claim) -> bool {
    let mut expected = to_row(current);
    expected.status = Set(NotificationStatus::Sending.as_str().to_owned());
    expected.lease_owner = Set(Some(claim.worker.clone()));
    expected.lease_until = Set(Some(claim.lease_until));
    expected.updated_at = Set(claim.now);
    expected.version = Set(stored_version(current.version() + 1));
    expected == to_row(mine)
}

/// The log row of `attempt` at notification `id`.
fn attempt_row(id: NotificationId, attempt: &Attempt) -> notification_attempts::ActiveModel {
    notification_attempts::ActiveModel {
        id: Set(Uuid::now_v7()),
        notification_id: Set(id.as_uuid()),
        number: Set(i32::try_from(attempt.number).unwrap_or(i32::MAX)),
        attempted_at: Set(attempt.attempted_at),
        outcome: Set(attempt.outcome.as_str().to_owned()),
        error: Set(attempt.error.clone()),
        recipient: Set(Some(attempt.recipient.as_str().to_owned())),
        cost_micros: Set(attempt.cost.map(|c| c.micros())),
        cost_currency: Set(attempt.cost.map(|c| c.currency().code().to_owned())),
        parts: Set(attempt.parts.map(|p| i32::try_from(p).unwrap_or(i32::MAX))),
    }
}

/// Writes `next` over the stored row if that is still at `previous_version`; says whether it did.
async fn store_over<C: ConnectionTrait>(db: &C, previous_version: u32, next: &Notification) -> Result<bool, RepoError> {
    let mut row = to_row(next);
    // Identity and creation never change.
    row.id = ActiveValue::NotSet;
    row.order_id = ActiveValue::NotSet;
    row.created_at = ActiveValue::NotSet;
    let result = Entity::update_many()
        .set(row)
        .filter(Column::Id.eq(next.id().as_uuid()))
        .filter(Column::Version.eq(stored_version(previous_version)))
        .exec(db)
        .await
        .map_err(repo_error)?;
    Ok(result.rows_affected == 1)
}

/// The channel's name, spelled once for both constants below.
macro_rules! outbox_channel {
    () => {
        "orderdesk_outbox"
    };
}

/// The PostgreSQL channel that wakes dispatchers in other processes (see [`super::listener`]).
pub const OUTBOX_CHANNEL: &str = outbox_channel!();

/// The statement that notifies [`OUTBOX_CHANNEL`]; delivered when its transaction commits.
pub(crate) const NOTIFY_DISPATCHERS: &str = concat!("SELECT pg_notify('", outbox_channel!(), "', '')");

/// On PostgreSQL, wakes every listening dispatcher when the surrounding transaction commits
/// (a rolled-back one notifies nobody). SQLite has no listeners: dispatchers poll.
pub(crate) async fn notify_dispatchers<C: ConnectionTrait>(db: &C) -> Result<(), RepoError> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(NOTIFY_DISPATCHERS).await.map_err(repo_error)?;
    }
    Ok(())
}

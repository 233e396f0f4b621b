//! [`NotificationRepository`] on sea-orm: the SMS outbox with leases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderdesk_domain::notification::{
    Attempt, AttemptOutcome, DeliveryReport, FINAL_DELIVERY_STATUSES, ReportEffect, is_final_delivery_status,
};
use orderdesk_domain::ports::NotificationRepository;
use orderdesk_domain::{
    Notification, NotificationId, NotificationStatus, OrderId, PhoneNumber, PhoneRegion, RepoError,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::entity::notifications::{self, Column, Entity};
use super::entity::{delivery_reports, notification_attempts};
use super::error::{corrupt, repo_error};

/// The outbox in the `notifications` table.
#[derive(Debug, Clone)]
pub struct SeaOrmNotificationRepository {
    db: DatabaseConnection,
}

impl SeaOrmNotificationRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

pub(crate) fn to_row(n: &Notification) -> notifications::ActiveModel {
    notifications::ActiveModel {
        id: Set(n.id.as_uuid()),
        order_id: Set(n.order_id.as_uuid()),
        recipient: Set(n.recipient.as_str().to_owned()),
        message: Set(n.message.clone()),
        status: Set(n.status.as_str().to_owned()),
        attempts: Set(i32::try_from(n.attempts).unwrap_or(i32::MAX)),
        timed_out: Set(n.timed_out),
        next_attempt_at: Set(n.next_attempt_at),
        lease_owner: Set(None),
        lease_until: Set(None),
        provider_message_id: Set(n.provider_message_id.clone()),
        provider_status: Set(n.provider_status.clone()),
        cost: Set(n.cost.clone()),
        delivery_status: Set(n.delivery_status.clone()),
        delivery_failure_reason: Set(n.delivery_failure_reason.clone()),
        last_error: Set(n.last_error.clone()),
        created_at: Set(n.created_at),
        updated_at: Set(n.updated_at),
        sent_at: Set(n.sent_at),
    }
}

fn to_domain(row: notifications::Model) -> Result<Notification, RepoError> {
    let status = NotificationStatus::parse(&row.status).ok_or_else(|| corrupt("notification status", &row.status))?;
    let recipient = PhoneNumber::parse(&row.recipient, PhoneRegion::default()).map_err(|e| corrupt("recipient", e))?;
    Ok(Notification {
        id: NotificationId::from_uuid(row.id),
        order_id: OrderId::from_uuid(row.order_id),
        recipient,
        message: row.message,
        status,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        provider_message_id: row.provider_message_id,
        provider_status: row.provider_status,
        cost: row.cost,
        delivery_status: row.delivery_status,
        delivery_failure_reason: row.delivery_failure_reason,
        last_error: row.last_error,
        timed_out: row.timed_out,
        created_at: row.created_at,
        updated_at: row.updated_at,
        sent_at: row.sent_at,
    })
}

/// One statement, so a row is claimed by exactly one worker: PostgreSQL skips rows another
/// transaction holds; SQLite runs one writer at a time.
fn claim_statement(
    backend: DatabaseBackend,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE notifications SET status = 'sending', lease_owner = $1, lease_until = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM notifications \
               WHERE (status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until < $3) \
               ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING *"
        }
        _ => {
            "UPDATE notifications SET status = 'sending', lease_owner = ?1, lease_until = ?2, updated_at = ?3 \
             WHERE id IN (SELECT id FROM notifications \
               WHERE (status = 'pending' AND next_attempt_at <= ?3) OR (status = 'sending' AND lease_until < ?3) \
               ORDER BY next_attempt_at LIMIT ?4) \
             RETURNING *"
        }
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Statement::from_sql_and_values(backend, sql, [worker.into(), lease_until.into(), now.into(), limit.into()])
}

#[async_trait]
impl NotificationRepository for SeaOrmNotificationRepository {
    async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Notification>, RepoError> {
        let statement = claim_statement(self.db.get_database_backend(), worker, now, lease_until, limit);
        let rows = Entity::find().from_raw_sql(statement).all(&self.db).await.map_err(repo_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    #[tracing::instrument(skip(self, outcome, at))]
    async fn record_attempt(
        &self,
        id: NotificationId,
        worker: &str,
        attempt: u32,
        at: DateTime<Utc>,
        outcome: &AttemptOutcome,
        timed_out: bool,
    ) -> Result<bool, RepoError> {
        let txn = self.db.begin().await.map_err(repo_error)?;
        let mut update = Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(i32::try_from(attempt).unwrap_or(i32::MAX)))
            .col_expr(Column::TimedOut, Expr::value(timed_out))
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::UpdatedAt, Expr::value(at));
        let (label, error) = match outcome {
            AttemptOutcome::Sent(receipt) => {
                update = update
                    .col_expr(Column::Status, Expr::value(NotificationStatus::Sent.as_str()))
                    .col_expr(Column::ProviderMessageId, Expr::value(receipt.message_id.clone()))
                    .col_expr(Column::ProviderStatus, Expr::value(receipt.status.clone()))
                    .col_expr(Column::Cost, Expr::value(receipt.cost.clone()))
                    .col_expr(Column::SentAt, Expr::value(at))
                    .col_expr(Column::LastError, Expr::value(Option::<String>::None));
                ("sent", None)
            }
            AttemptOutcome::RetryAt { at: next, error } => {
                update = update
                    .col_expr(Column::Status, Expr::value(NotificationStatus::Pending.as_str()))
                    .col_expr(Column::NextAttemptAt, Expr::value(*next))
                    .col_expr(Column::LastError, Expr::value(error.clone()));
                ("retry", Some(error.clone()))
            }
            AttemptOutcome::GiveUp { error } => {
                update = update
                    .col_expr(Column::Status, Expr::value(NotificationStatus::Failed.as_str()))
                    .col_expr(Column::LastError, Expr::value(error.clone()));
                ("failed", Some(error.clone()))
            }
        };
        let result = update
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::LeaseOwner.eq(worker))
            .filter(Column::Status.eq(NotificationStatus::Sending.as_str()))
            .exec(&txn)
            .await
            .map_err(repo_error)?;
        if result.rows_affected == 0 {
            return Ok(false);
        }
        let row = notification_attempts::ActiveModel {
            id: Set(Uuid::now_v7()),
            notification_id: Set(id.as_uuid()),
            number: Set(i32::try_from(attempt).unwrap_or(i32::MAX)),
            attempted_at: Set(at),
            outcome: Set(label.to_owned()),
            error: Set(error),
        };
        notification_attempts::Entity::insert(row).exec_without_returning(&txn).await.map_err(repo_error)?;
        txn.commit().await.map_err(repo_error)?;
        Ok(true)
    }

    async fn find(&self, id: NotificationId) -> Result<Option<Notification>, RepoError> {
        Entity::find_by_id(id.as_uuid()).one(&self.db).await.map_err(repo_error)?.map(to_domain).transpose()
    }

    async fn list_for_order(&self, order_id: OrderId) -> Result<Vec<Notification>, RepoError> {
        let rows = Entity::find()
            .filter(Column::OrderId.eq(order_id.as_uuid()))
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(repo_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn attempts(&self, id: NotificationId) -> Result<Vec<Attempt>, RepoError> {
        let rows = notification_attempts::Entity::find()
            .filter(notification_attempts::Column::NotificationId.eq(id.as_uuid()))
            .order_by_asc(notification_attempts::Column::Number)
            .order_by_asc(notification_attempts::Column::Id)
            .all(&self.db)
            .await
            .map_err(repo_error)?;
        Ok(rows
            .into_iter()
            .map(|r| Attempt {
                number: u32::try_from(r.number).unwrap_or(0),
                attempted_at: r.attempted_at,
                outcome: r.outcome,
                error: r.error,
            })
            .collect())
    }

    async fn requeue(&self, id: NotificationId, now: DateTime<Utc>) -> Result<Option<Notification>, RepoError> {
        let retryable = [NotificationStatus::Failed.as_str(), NotificationStatus::Undelivered.as_str()];
        let result = Entity::update_many()
            .col_expr(Column::Status, Expr::value(NotificationStatus::Pending.as_str()))
            .col_expr(Column::Attempts, Expr::value(0))
            .col_expr(Column::TimedOut, Expr::value(false))
            .col_expr(Column::NextAttemptAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.is_in(retryable))
            .exec(&self.db)
            .await
            .map_err(repo_error)?;
        let current = self.find(id).await?.ok_or(RepoError::NotFound)?;
        Ok((result.rows_affected > 0).then_some(current))
    }

    async fn count_by_status(&self) -> Result<Vec<(NotificationStatus, u64)>, RepoError> {
        let rows: Vec<(String, i64)> = Entity::find()
            .select_only()
            .column(Column::Status)
            .column_as(Column::Id.count(), "count")
            .group_by(Column::Status)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(repo_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(status, count)| {
                Some((NotificationStatus::parse(&status)?, u64::try_from(count).unwrap_or(0)))
            })
            .collect())
    }

    #[tracing::instrument(skip_all, fields(provider_message_id = %report.provider_message_id, status = %report.status))]
    async fn apply_delivery_report(
        &self,
        report: &DeliveryReport,
        now: DateTime<Utc>,
    ) -> Result<ReportEffect, RepoError> {
        let audit = delivery_reports::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider_message_id: Set(report.provider_message_id.chars().take(64).collect()),
            status: Set(report.status.chars().take(32).collect()),
            payload: Set(report.raw.clone()),
            received_at: Set(now),
        };
        delivery_reports::Entity::insert(audit).exec_without_returning(&self.db).await.map_err(repo_error)?;

        let Some(row) = Entity::find()
            .filter(Column::ProviderMessageId.eq(report.provider_message_id.as_str()))
            .one(&self.db)
            .await
            .map_err(repo_error)?
        else {
            return Ok(ReportEffect::UnknownMessage);
        };
        if report.phone_number.as_deref().is_some_and(|phone| phone != row.recipient) {
            tracing::warn!("delivery report names another phone number than the one texted; ignored");
            return Ok(ReportEffect::Ignored);
        }
        let mut update = Entity::update_many()
            .col_expr(Column::DeliveryStatus, Expr::value(report.status.clone()))
            .col_expr(Column::DeliveryFailureReason, Expr::value(report.failure_reason.clone()))
            .col_expr(Column::UpdatedAt, Expr::value(now));
        if is_final_delivery_status(&report.status) {
            let status = if report.status == "Success" {
                NotificationStatus::Delivered
            } else {
                NotificationStatus::Undelivered
            };
            update = update.col_expr(Column::Status, Expr::value(status.as_str()));
        }
        // Monotonic in one statement: a final status, or the same status again, is never rewritten.
        let changeable = Condition::any().add(Column::DeliveryStatus.is_null()).add(
            Condition::all()
                .add(Column::DeliveryStatus.is_not_in(FINAL_DELIVERY_STATUSES))
                .add(Column::DeliveryStatus.ne(report.status.as_str())),
        );
        let result =
            update.filter(Column::Id.eq(row.id)).filter(changeable).exec(&self.db).await.map_err(repo_error)?;
        Ok(if result.rows_affected > 0 { ReportEffect::Applied } else { ReportEffect::Ignored })
    }
}

/// Inserts notifications inside an open transaction (used by the order repository).
pub(crate) async fn insert_all<C: ConnectionTrait>(db: &C, notifications: &[Notification]) -> Result<(), RepoError> {
    for notification in notifications {
        Entity::insert(to_row(notification)).exec_without_returning(db).await.map_err(repo_error)?;
    }
    Ok(())
}

//! The order lifecycle in storage: where numbers come from, status changes with their history
//! rows, and the rule for deleting an order. The domain decides every transition; this only
//! stores it, over the version it was decided from.

use orderdesk_domain::idempotency::IdempotencyRecord;
use orderdesk_domain::{
    CancelReason, NewEvent, Notification, NotificationStatus, Order, OrderId, OrderNumber, OrderStatus, RepoError,
    StatusChange, StatusNote,
};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};

use super::entity::notifications::{Column as SmsColumn, Entity as Sms};
use super::entity::order_status_changes::{self, Column as HistoryColumn, Entity as History};
use super::entity::orders::{Column, Entity};
use super::error::{corrupt, domain_version, repo_error, stored_version, why_unchanged};
use super::events::insert_events;
use super::idempotency::insert_record;
use super::store::Store;

/// Applies `orders.first_number` at start-up: raises the number source so the next order gets
/// at least `first`; never lowers it, so no number is given twice. Run it before serving (a
/// process drawing numbers at the same moment could otherwise be handed one below).
///
/// # Errors
/// A storage failure (also when the migrations have not run).
pub async fn raise_first_order_number(db: &DatabaseConnection, first: OrderNumber) -> Result<(), RepoError> {
    let last = i64::from(first.get()) - 1;
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        format!(
            "SELECT setval('order_number_seq', {last}) FROM order_number_seq \
             WHERE (CASE WHEN is_called THEN last_value ELSE last_value - 1 END) < {last}"
        )
    } else {
        format!("UPDATE order_number_counter SET last_number = {last} WHERE id = 1 AND last_number < {last}")
    };
    db.execute_raw(Statement::from_string(backend, sql)).await.map_err(repo_error)?;
    Ok(())
}

/// The insert of one history row.
pub(crate) fn history_insert(
    order_id: OrderId,
    change: &StatusChange,
) -> sea_orm::Insert<order_status_changes::ActiveModel> {
    History::insert(order_status_changes::ActiveModel {
        order_id: Set(order_id.as_uuid()),
        version: Set(stored_version(change.version)),
        status: Set(change.status.as_str().to_owned()),
        changed_at: Set(change.at),
        changed_by: Set(change.by.clone()),
        note: Set(change.note.as_ref().map(|n| n.as_str().to_owned())),
        cancel_reason: Set(change.cancel_reason.map(|r| r.as_str().to_owned())),
    })
}

/// The idempotency record, the order's new status over the version before `change`, and the
/// history row, its SMS and its events: one transaction.
pub(crate) async fn change_status(
    db: &Store,
    order: &Order,
    change: &StatusChange,
    notifications: &[Notification],
    record: Option<IdempotencyRecord>,
    events: &[NewEvent],
) -> Result<(), RepoError> {
    let txn = db.begin().await.map_err(repo_error)?;
    if let Some(record) = &record {
        insert_record(&txn, record).await?;
    }
    let cancellation = order.lifecycle().cancellation.as_ref();
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(order.status().as_str()))
        .col_expr(Column::StatusChangedAt, Expr::value(Some(order.lifecycle().changed_at)))
        .col_expr(Column::CancelReason, Expr::value(cancellation.map(|c| c.reason.as_str().to_owned())))
        .col_expr(
            Column::CancelNote,
            Expr::value(cancellation.and_then(|c| c.note.as_ref()).map(|n| n.as_str().to_owned())),
        )
        .col_expr(Column::UpdatedAt, Expr::value(order.updated_at()))
        .col_expr(Column::UpdatedBy, Expr::value(order.audit().updated_by.clone()))
        .col_expr(Column::Version, Expr::value(stored_version(order.audit().version)))
        .filter(Column::Id.eq(order.id().as_uuid()))
        .filter(Column::Version.eq(stored_version(change.version.wrapping_sub(1))))
        .exec(&txn)
        .await
        .map_err(repo_error)?;
    if result.rows_affected == 0 {
        txn.rollback().await.map_err(repo_error)?;
        return Err(why_unchanged::<Entity>(db.read(), order.id().as_uuid()).await);
    }
    history_insert(order.id(), change).exec_without_returning(&txn).await.map_err(repo_error)?;
    if !notifications.is_empty() {
        let rows = notifications.iter().map(super::notifications::to_row);
        Sms::insert_many(rows).exec_without_returning(&txn).await.map_err(repo_error)?;
    }
    insert_events(&txn, events).await?;
    txn.commit().await.map_err(repo_error)?;
    if notifications.iter().any(|n| n.status() == NotificationStatus::Pending) {
        super::notifications::notify_dispatchers(db.write()).await?;
    }
    Ok(())
}

/// An order's history rows, oldest first.
pub(crate) async fn history(db: &DatabaseConnection, id: OrderId) -> Result<Vec<StatusChange>, RepoError> {
    let rows = History::find()
        .filter(HistoryColumn::OrderId.eq(id.as_uuid()))
        .order_by_asc(HistoryColumn::Version)
        .all(db)
        .await
        .map_err(repo_error)?;
    rows.into_iter()
        .map(|row| {
            Ok(StatusChange {
                status: OrderStatus::parse(&row.status).map_err(|e| corrupt("history status", e))?,
                at: row.changed_at,
                by: row.changed_by,
                note: row.note.map(StatusNote::restore),
                cancel_reason: row
                    .cancel_reason
                    .map(|r| CancelReason::parse(&r).map_err(|e| corrupt("history cancel reason", e)))
                    .transpose()?,
                version: domain_version(row.version),
            })
        })
        .collect()
}

/// Deletes an order still `received` with no SMS attempted, in one transaction: first its SMS
/// not yet attempted or skipped (a dispatcher that claimed one meanwhile keeps it: the claim changed the
/// row), then the order only if no SMS of it is left (its history goes with it, `ON DELETE
/// CASCADE`). SMS that were attempted, and their costs, are never deleted.
pub(crate) async fn delete(
    db: &Store,
    id: OrderId,
    expected: Option<u32>,
    events: &[NewEvent],
) -> Result<(), RepoError> {
    let txn = db.begin().await.map_err(repo_error)?;
    let never_attempted = Condition::all()
        .add(SmsColumn::Status.eq(NotificationStatus::Pending.as_str()))
        .add(SmsColumn::Attempts.eq(0))
        .add(SmsColumn::LeaseOwner.is_null())
        .add(SmsColumn::ProviderMessageId.is_null());
    let skipped = SmsColumn::Status.eq(NotificationStatus::Skipped.as_str());
    Sms::delete_many()
        .filter(SmsColumn::OrderId.eq(id.as_uuid()))
        .filter(Condition::any().add(never_attempted).add(skipped))
        .exec(&txn)
        .await
        .map_err(repo_error)?;
    let sms_left =
        Query::select().column(SmsColumn::OrderId).from(Sms).and_where(SmsColumn::OrderId.eq(id.as_uuid())).to_owned();
    let mut delete = Entity::delete_many()
        .filter(Column::Id.eq(id.as_uuid()))
        .filter(Column::Status.eq(OrderStatus::Received.as_str()))
        .filter(Column::Id.not_in_subquery(sms_left));
    if let Some(expected) = expected {
        delete = delete.filter(Column::Version.eq(stored_version(expected)));
    }
    let result = delete.exec(&txn).await.map_err(repo_error)?;
    if result.rows_affected == 1 {
        insert_events(&txn, events).await?;
        return txn.commit().await.map_err(repo_error);
    }
    txn.rollback().await.map_err(repo_error)?;
    match Entity::find_by_id(id.as_uuid()).one(db.read()).await.map_err(repo_error)? {
        None => Err(RepoError::NotFound),
        Some(row) if expected.is_some_and(|v| stored_version(v) != row.version) => Err(RepoError::VersionMismatch),
        Some(_) => Err(RepoError::ForeignKey),
    }
}

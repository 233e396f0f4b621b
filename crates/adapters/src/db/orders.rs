//! [`OrderRepository`] on sea-orm. Numbers, status changes, history and the delete rule
//! are in [`super::lifecycle`].

use async_trait::async_trait;
use orderdesk_domain::idempotency::IdempotencyRecord;
use orderdesk_domain::order::Lifecycle;
use orderdesk_domain::ports::{OrderFilter, OrderRepository};
use orderdesk_domain::{
    CancelReason, Cancellation, Currency, CustomerId, ItemName, Money, NewEvent, Notification, Order, OrderId,
    OrderNumber, OrderReference, OrderStatus, Page, PageRequest, RepoError, StatusChange, StatusNote,
};
use sea_orm::sea_query::{CommonTableExpression, Expr, InsertStatement, SqliteQueryBuilder, Values, WithClause};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};

use super::cached_sql::{CachedSql, find_by_id, read_rows};
use super::entity::orders::{self, Column, Entity};
use super::error::{audit, corrupt, repo_error, stored_version, why_unchanged};
use super::events::{events_insert, insert_events};
use super::group_commit::GroupCommit;
use super::lifecycle;
use super::postgres_create;
use super::store::Store;

/// Orders in the `orders` table; amounts as integer minor units plus currency code.
#[derive(Debug, Clone)]
pub struct SeaOrmOrderRepository {
    db: Store,
    /// SQLite only: creates and their numbers go through one writer task ([`GroupCommit`]).
    group: Option<GroupCommit>,
}

impl SeaOrmOrderRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        let db = db.into();
        let group = (db.backend() == DbBackend::Sqlite).then(|| GroupCommit::new(db.clone()));
        Self { db, group }
    }
}

pub(crate) fn to_row(order: &Order) -> orders::ActiveModel {
    orders::ActiveModel {
        id: Set(order.id().as_uuid()),
        customer_id: Set(order.customer_id().as_uuid()),
        item: Set(order.item().as_str().to_owned()),
        amount_minor: Set(order.amount().minor_units()),
        currency: Set(order.amount().currency().code().to_owned()),
        ordered_at: Set(order.ordered_at()),
        created_at: Set(order.created_at()),
        updated_at: Set(order.updated_at()),
        created_by: Set(order.audit().created_by.clone()),
        updated_by: Set(order.audit().updated_by.clone()),
        version: Set(stored_version(order.audit().version)),
        number: Set(i64::from(order.number().get())),
        reference: Set(order.reference().as_str().to_owned()),
        status: Set(order.status().as_str().to_owned()),
        status_changed_at: Set(Some(order.lifecycle().changed_at)),
        cancel_reason: Set(order.lifecycle().cancellation.as_ref().map(|c| c.reason.as_str().to_owned())),
        cancel_note: Set(order
            .lifecycle()
            .cancellation
            .as_ref()
            .and_then(|c| c.note.as_ref())
            .map(|n| n.as_str().to_owned())),
    }
}

pub(crate) fn to_domain(row: orders::Model) -> Result<Order, RepoError> {
    let item = ItemName::parse(&row.item).map_err(|e| corrupt("order item", e))?;
    let currency = Currency::from_stored(&row.currency).map_err(|e| corrupt("order currency", e))?;
    let amount = Money::from_minor_units(row.amount_minor, currency).map_err(|e| corrupt("order amount", e))?;
    let number = OrderNumber::new(row.number).map_err(|e| corrupt("order number", e))?;
    let status = OrderStatus::parse(&row.status).map_err(|e| corrupt("order status", e))?;
    let cancellation = match row.cancel_reason.as_deref() {
        Some(reason) => Some(Cancellation {
            reason: CancelReason::parse(reason).map_err(|e| corrupt("cancel reason", e))?,
            note: row.cancel_note.map(StatusNote::restore),
        }),
        None => None,
    };
    let lifecycle = Lifecycle { status, changed_at: row.status_changed_at.unwrap_or(row.created_at), cancellation };
    let order = Order::restore(
        OrderId::from_uuid(row.id),
        CustomerId::from_uuid(row.customer_id),
        OrderReference::restore(number, row.reference),
        item,
        amount,
        row.ordered_at,
        audit(row.created_at, row.created_by, row.updated_at, row.updated_by, row.version),
    );
    Ok(order.with_lifecycle(lifecycle))
}

/// PostgreSQL: the order row, its first history row and its outbox rows as one statement (the
/// order and outbox inserts as data-modifying CTEs; foreign keys are checked at its end), one
/// round trip for all of them ([`super::postgres_create::insert`]). SQLite allows no DML in a
/// CTE: [`sqlite_rows`].
pub(crate) fn outbox_cte_insert(order: &Order, notifications: &[Notification]) -> InsertStatement {
    let order_insert = Entity::insert(to_row(order));
    let creation = lifecycle::history_insert(order.id(), &order.creation());
    let mut ctes = WithClause::new();
    ctes.cte(CommonTableExpression::new().query(order_insert.into_query()).table_name("new_order").to_owned());
    if !notifications.is_empty() {
        let rows = notifications.iter().map(super::notifications::to_row);
        let outbox = super::entity::notifications::Entity::insert_many(rows).into_query();
        ctes.cte(CommonTableExpression::new().query(outbox).table_name("new_outbox").to_owned());
    }
    let mut statement = creation.into_query();
    statement.with_cte(ctes);
    statement
}

/// SQLite: the order row, its first history row, its outbox rows and its events as one
/// multi-statement text, which sqlx runs in order on the connection's worker thread, binding
/// each statement's `?` from the next values: one hand-off to that thread for all the rows
/// instead of one a statement (under load each hand-off waits its turn in the run queue while
/// the writer holds SQLite's write lock). [`GroupCommit`] runs it inside a savepoint of a
/// `BEGIN IMMEDIATE` transaction, so a failing statement rolls back every row of the create.
/// Every statement ends with `;\n`.
fn sqlite_rows(order: &Order, notifications: &[Notification], events: &[NewEvent]) -> Result<Statement, RepoError> {
    let mut inserts = vec![
        Entity::insert(to_row(order)).into_query(),
        lifecycle::history_insert(order.id(), &order.creation()).into_query(),
    ];
    if !notifications.is_empty() {
        let rows = notifications.iter().map(super::notifications::to_row);
        inserts.push(super::entity::notifications::Entity::insert_many(rows).into_query());
    }
    inserts.extend(events_insert(events)?);
    let mut sql = String::new();
    let mut values = Vec::new();
    for insert in inserts {
        let (text, Values(bound)) = insert.build(SqliteQueryBuilder);
        sql.push_str(&text);
        sql.push_str(";\n");
        values.extend(bound);
    }
    Ok(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
}

/// A unique violation on a new order can only be its number: one drawn below a number given
/// while `orders.first_number` was raised by another process's start-up. Retrying draws anew.
pub(crate) fn number_taken(error: sea_orm::DbErr) -> RepoError {
    match repo_error(error) {
        RepoError::Duplicate => RepoError::Unavailable("order number already taken; retry".into()),
        other => other,
    }
}

impl SeaOrmOrderRepository {
    /// A page of every order, newest first: the list's one hot shape, its text built once.
    async fn list_all(&self, page: PageRequest) -> Result<Page<Order>, RepoError> {
        static FIRST_PAGE: CachedSql = CachedSql::new();
        static LATER_PAGE: CachedSql = CachedSql::new();
        let db = self.db.read();
        let backend = db.get_database_backend();
        let query = Entity::find().order_by_desc(Column::Id).limit(page.limit + 1);
        let statement = match page.before {
            None => FIRST_PAGE.statement(backend, vec![(page.limit + 1).into()], || query.build(backend)),
            Some(before) => LATER_PAGE.statement(backend, vec![before.into(), (page.limit + 1).into()], || {
                query.filter(Column::Id.lt(before)).build(backend)
            }),
        };
        let rows = read_rows::<orders::Model>(db, statement).await.map_err(repo_error)?;
        let orders = rows.into_iter().map(to_domain).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.id().as_uuid()))
    }
}

#[async_trait]
impl OrderRepository for SeaOrmOrderRepository {
    async fn next_number(&self) -> Result<OrderNumber, RepoError> {
        match &self.group {
            Some(group) => group.next_number().await,
            None => postgres_create::next_number(self.db.write().get_postgres_connection_pool()).await,
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order_id = %order.id()))]
    async fn insert(
        &self,
        order: &Order,
        notifications: &[Notification],
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        // One transaction (on SQLite one savepoint): an order is never stored without its SMS,
        // nor an SMS without its order, nor either without the idempotency record of the
        // request that created them.
        match &self.group {
            Some(group) => group.insert(record, sqlite_rows(order, notifications, events)?).await,
            None => {
                let pool = self.db.write().get_postgres_connection_pool();
                postgres_create::insert(pool, order, notifications, record.as_ref(), events).await
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order_id = %order.id()))]
    async fn update(&self, order: &Order, expected_version: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        let mut update = Entity::update_many()
            .col_expr(Column::Item, Expr::value(order.item().as_str()))
            .col_expr(Column::AmountMinor, Expr::value(order.amount().minor_units()))
            .col_expr(Column::Currency, Expr::value(order.amount().currency().code()))
            .col_expr(Column::OrderedAt, Expr::value(order.ordered_at()))
            .col_expr(Column::UpdatedAt, Expr::value(order.updated_at()))
            .col_expr(Column::UpdatedBy, Expr::value(order.audit().updated_by.clone()))
            .col_expr(Column::Version, Expr::value(stored_version(order.audit().version)))
            .filter(Column::Id.eq(order.id().as_uuid()));
        if let Some(expected) = expected_version {
            update = update.filter(Column::Version.eq(stored_version(expected)));
        }
        let txn = self.db.begin().await.map_err(repo_error)?;
        let result = update.exec(&txn).await.map_err(repo_error)?;
        if result.rows_affected == 0 {
            return Err(why_unchanged::<Entity>(&txn, order.id().as_uuid()).await);
        }
        insert_events(&txn, events).await?;
        txn.commit().await.map_err(repo_error)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(order_id = %order.id(), status = order.status().as_str()))]
    async fn change_status(
        &self,
        order: &Order,
        change: &StatusChange,
        notifications: &[Notification],
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        lifecycle::change_status(&self.db, order, change, notifications, record, events).await
    }

    async fn history(&self, id: OrderId) -> Result<Vec<StatusChange>, RepoError> {
        lifecycle::history(self.db.read(), id).await
    }

    #[tracing::instrument(level = "debug", skip(self, events))]
    async fn delete(&self, id: OrderId, expected_version: Option<u32>, events: &[NewEvent]) -> Result<(), RepoError> {
        lifecycle::delete(&self.db, id, expected_version, events).await
    }

    async fn find(&self, id: OrderId) -> Result<Option<Order>, RepoError> {
        static FIND: CachedSql = CachedSql::new();
        let row = find_by_id::<Entity>(&FIND, self.db.read(), id.as_uuid()).await.map_err(repo_error)?;
        row.map(to_domain).transpose()
    }

    async fn list(&self, filter: OrderFilter, page: PageRequest) -> Result<Page<Order>, RepoError> {
        if filter == OrderFilter::default() {
            return self.list_all(page).await;
        }
        let mut query = Entity::find().order_by_desc(Column::Id).limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(Column::Id.lt(before));
        }
        if let Some(customer_id) = filter.customer_id {
            query = query.filter(Column::CustomerId.eq(customer_id.as_uuid()));
        }
        if !filter.statuses.is_empty() {
            query = query.filter(Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
        }
        if let Some(number) = filter.number {
            query = query.filter(Column::Number.eq(i64::from(number.get())));
        }
        if let Some(from) = filter.ordered_from {
            query = query.filter(Column::OrderedAt.gte(from));
        }
        if let Some(to) = filter.ordered_to {
            query = query.filter(Column::OrderedAt.lt(to));
        }
        if let Some(since) = filter.updated_since {
            query = query.filter(Column::UpdatedAt.gte(since));
        }
        let rows = query.all(self.db.read()).await.map_err(repo_error)?;
        let orders = rows.into_iter().map(to_domain).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.id().as_uuid()))
    }
}

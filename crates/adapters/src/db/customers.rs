//! [`CustomerRepository`] on sea-orm.

use async_trait::async_trait;
use orderdesk_domain::idempotency::IdempotencyRecord;
use orderdesk_domain::ports::{CustomerFilter, CustomerRepository};
use orderdesk_domain::{
    Customer, CustomerCode, CustomerId, CustomerName, Language, NewEvent, Page, PageRequest, PhoneNumber, PhoneRegion,
    RepoError, SmsPreferences,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::cached_sql::{CachedSql, find_by_id};
use super::entity::customers::{self, Column, Entity};
use super::error::{audit, corrupt, repo_error, stored_version, why_unchanged};
use super::events::insert_events;
use super::idempotency::insert_record;
use super::store::Store;

/// Customers in the `customers` table.
#[derive(Debug, Clone)]
pub struct SeaOrmCustomerRepository {
    db: Store,
}

impl SeaOrmCustomerRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

pub(crate) fn to_row(customer: &Customer) -> customers::ActiveModel {
    customers::ActiveModel {
        id: Set(customer.id().as_uuid()),
        name: Set(customer.name().as_str().to_owned()),
        code: Set(customer.code().as_str().to_owned()),
        code_key: Set(customer.code().key()),
        phone: Set(customer.phone().as_str().to_owned()),
        created_at: Set(customer.created_at()),
        updated_at: Set(customer.updated_at()),
        created_by: Set(customer.audit().created_by.clone()),
        updated_by: Set(customer.audit().updated_by.clone()),
        version: Set(stored_version(customer.audit().version)),
        language: Set(customer.language().as_str().to_owned()),
        sms_opt_out: Set(customer.sms_opt_out()),
    }
}

pub(crate) fn to_domain(row: customers::Model) -> Result<Customer, RepoError> {
    let name = CustomerName::parse(&row.name).map_err(|e| corrupt("customer name", e))?;
    let code = CustomerCode::parse(&row.code).map_err(|e| corrupt("customer code", e))?;
    // Stored numbers are E.164, so the region is never consulted.
    let phone = PhoneNumber::parse(&row.phone, PhoneRegion::default()).map_err(|e| corrupt("customer phone", e))?;
    let language = Language::parse(&row.language).map_err(|e| corrupt("customer language", e))?;
    let sms = SmsPreferences { language, opted_out: row.sms_opt_out };
    Ok(Customer::restore(
        CustomerId::from_uuid(row.id),
        name,
        code,
        phone,
        audit(row.created_at, row.created_by, row.updated_at, row.updated_by, row.version),
    )
    .with_sms_preferences(sms))
}

/// The lower-cased name or the code key contains `lowered`, taken literally: `%`, `_` and
/// `\` are escaped, so they match only themselves.
fn name_or_code_contains(lowered: &str) -> Condition {
    let escaped = lowered.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let name = Expr::expr(Func::lower(Expr::col(Column::Name))).like(LikeExpr::new(pattern.clone()).escape('\\'));
    let code = Expr::col(Column::CodeKey).like(LikeExpr::new(pattern).escape('\\'));
    Condition::any().add(name).add(code)
}

/// The `UPDATE` of one customer's fields, only at `expected_version` when given.
fn update_statement(customer: &Customer, expected_version: Option<u32>) -> sea_orm::UpdateMany<Entity> {
    let mut update = Entity::update_many()
        .col_expr(Column::Name, Expr::value(customer.name().as_str()))
        .col_expr(Column::Code, Expr::value(customer.code().as_str()))
        .col_expr(Column::CodeKey, Expr::value(customer.code().key()))
        .col_expr(Column::Phone, Expr::value(customer.phone().as_str()))
        .col_expr(Column::Language, Expr::value(customer.language().as_str()))
        .col_expr(Column::SmsOptOut, Expr::value(customer.sms_opt_out()))
        .col_expr(Column::UpdatedAt, Expr::value(customer.updated_at()))
        .col_expr(Column::UpdatedBy, Expr::value(customer.audit().updated_by.clone()))
        .col_expr(Column::Version, Expr::value(stored_version(customer.audit().version)))
        .filter(Column::Id.eq(customer.id().as_uuid()));
    if let Some(expected) = expected_version {
        update = update.filter(Column::Version.eq(stored_version(expected)));
    }
    update
}

/// Code keys per `IN (...)` list: well under SQLite's and PostgreSQL's bound-parameter limits.
const KEYS_PER_QUERY: usize = 500;

#[async_trait]
impl CustomerRepository for SeaOrmCustomerRepository {
    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer.id()))]
    async fn insert(
        &self,
        customer: &Customer,
        record: Option<IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let txn = self.db.begin().await.map_err(repo_error)?;
        if let Some(record) = record {
            insert_record(&txn, &record).await?;
        }
        Entity::insert(to_row(customer)).exec_without_returning(&txn).await.map_err(repo_error)?;
        insert_events(&txn, events).await?;
        txn.commit().await.map_err(repo_error)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(customer_id = %customer.id()))]
    async fn update(
        &self,
        customer: &Customer,
        expected_version: Option<u32>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let txn = self.db.begin().await.map_err(repo_error)?;
        let result = update_statement(customer, expected_version).exec(&txn).await.map_err(repo_error)?;
        if result.rows_affected == 0 {
            return Err(why_unchanged::<Entity>(&txn, customer.id().as_uuid()).await);
        }
        insert_events(&txn, events).await?;
        txn.commit().await.map_err(repo_error)
    }

    #[tracing::instrument(level = "debug", skip(self, events))]
    async fn delete(
        &self,
        id: CustomerId,
        expected_version: Option<u32>,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let mut delete = Entity::delete_many().filter(Column::Id.eq(id.as_uuid()));
        if let Some(expected) = expected_version {
            delete = delete.filter(Column::Version.eq(stored_version(expected)));
        }
        let txn = self.db.begin().await.map_err(repo_error)?;
        let result = delete.exec(&txn).await.map_err(repo_error)?;
        if result.rows_affected == 0 {
            return Err(why_unchanged::<Entity>(&txn, id.as_uuid()).await);
        }
        insert_events(&txn, events).await?;
        txn.commit().await.map_err(repo_error)
    }

    async fn find(&self, id: CustomerId) -> Result<Option<Customer>, RepoError> {
        static FIND: CachedSql = CachedSql::new();
        let row = find_by_id::<Entity>(&FIND, self.db.read(), id.as_uuid()).await.map_err(repo_error)?;
        row.map(to_domain).transpose()
    }

    async fn list(&self, page: PageRequest) -> Result<Page<Customer>, RepoError> {
        self.list_matching(&CustomerFilter::default(), page).await
    }

    async fn list_matching(&self, filter: &CustomerFilter, page: PageRequest) -> Result<Page<Customer>, RepoError> {
        let mut query = Entity::find().order_by_desc(Column::Id).limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(Column::Id.lt(before));
        }
        if let Some(phone) = &filter.phone {
            query = query.filter(Column::Phone.eq(phone.as_str()));
        }
        if let Some(key) = &filter.code_key {
            query = query.filter(Column::CodeKey.eq(key.as_str()));
        }
        if let Some(text) = &filter.text {
            query = query.filter(name_or_code_contains(text));
        }
        if let Some(since) = filter.updated_since {
            query = query.filter(Column::UpdatedAt.gte(since));
        }
        let rows = query.all(self.db.read()).await.map_err(repo_error)?;
        let customers = rows.into_iter().map(to_domain).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(customers, page.limit, |c| c.id().as_uuid()))
    }

    async fn find_many(&self, ids: &[CustomerId]) -> Result<Vec<Customer>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn search(&self, text: &str, limit: u64) -> Result<Vec<Customer>, RepoError> {
        let rows = Entity::find()
            .filter(name_or_code_contains(&text.to_ascii_lowercase()))
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Vec<Customer>, RepoError> {
        let rows = Entity::find()
            .filter(Column::Phone.eq(phone.as_str()))
            .order_by_asc(Column::Id)
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn find_by_code_keys(&self, keys: &[String]) -> Result<Vec<Customer>, RepoError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let rows = Entity::find()
                .filter(Column::CodeKey.is_in(chunk.iter().cloned()))
                .all(self.db.read())
                .await
                .map_err(repo_error)?;
            for row in rows {
                found.push(to_domain(row)?);
            }
        }
        Ok(found)
    }

    /// One transaction: every insert and update, or none.
    #[tracing::instrument(level = "debug", skip_all, fields(new = new.len(), changed = changed.len()))]
    async fn store_import(
        &self,
        new: &[Customer],
        changed: &[(Customer, u32)],
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        let txn = self.db.begin().await.map_err(repo_error)?;
        for (customer, version) in changed {
            let result = update_statement(customer, Some(*version)).exec(&txn).await.map_err(repo_error)?;
            if result.rows_affected == 0 {
                // Changed or deleted since it was read; dropping the transaction rolls it back.
                return Err(RepoError::VersionMismatch);
            }
        }
        for rows in new.chunks(KEYS_PER_QUERY / 20) {
            Entity::insert_many(rows.iter().map(to_row)).exec_without_returning(&txn).await.map_err(repo_error)?;
        }
        insert_events(&txn, events).await?;
        txn.commit().await.map_err(repo_error)
    }
}

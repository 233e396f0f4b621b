//! [`OrderReports`] on SQL: each read is one query, whatever the page or period.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use orderdesk_domain::ports::{BoardCursor, BoardPage, DailyTotal, OrderFilter, OrderOverview, OrderReports};
use orderdesk_domain::{Currency, NotificationStatus, Page, PageRequest, RepoError};
use sea_orm::{DatabaseBackend, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::entity::orders;
use super::error::{corrupt, repo_error};
use super::raw_sql;
use super::store::Store;

/// Reports over the `orders`, `customers` and `notifications` tables.
#[derive(Debug, Clone)]
pub struct SqlOrderReports {
    db: Store,
}

impl SqlOrderReports {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }

    /// `sql` written with `$n` placeholders, for this connection's backend.
    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        raw_sql::statement(self.db.backend(), sql, values)
    }
}

#[derive(FromQueryResult)]
struct OverviewRow {
    id: Uuid,
    customer_id: Uuid,
    item: String,
    amount_minor: i64,
    currency: String,
    ordered_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<String>,
    updated_by: Option<String>,
    version: i32,
    number: i64,
    reference: String,
    status: String,
    status_changed_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
    cancel_note: Option<String>,
    customer_name: String,
    customer_code: String,
    customer_phone: String,
    sms_status: Option<String>,
}

#[derive(FromQueryResult)]
struct DayRow {
    /// PostgreSQL: the local date (`YYYY-MM-DD`); SQLite: the start of a 15-minute UTC slot
    /// (`YYYY-MM-DDTHH:MM`), turned into a local date in Rust.
    slot: String,
    currency: String,
    orders: i64,
    /// The sum of `amount_minor / 10^9`, and of the remainders: each fits a BIGINT for any
    /// realistic number of orders, and together they give the exact total in an i128.
    high: i64,
    low: i64,
}

const SPLIT: i128 = 1_000_000_000;

const OVERVIEW: &str = "SELECT o.id, o.customer_id, o.item, o.amount_minor, o.currency, o.ordered_at, o.created_at, \
     o.updated_at, o.created_by, o.updated_by, o.version, o.number, o.reference, o.status, o.status_changed_at, \
     o.cancel_reason, o.cancel_note, c.name AS customer_name, c.code AS customer_code, c.phone AS customer_phone, \
     (SELECT n.status FROM notifications n WHERE n.order_id = o.id ORDER BY n.id DESC LIMIT 1) AS sms_status \
     FROM orders o JOIN customers c ON c.id = o.customer_id";

fn to_overview(row: OverviewRow) -> Result<OrderOverview, RepoError> {
    let sms_status = match row.sms_status.as_deref() {
        Some(name) => Some(NotificationStatus::parse(name).ok_or_else(|| corrupt("notification status", name))?),
        None => None,
    };
    let order = super::orders::to_domain(orders::Model {
        id: row.id,
        customer_id: row.customer_id,
        item: row.item,
        amount_minor: row.amount_minor,
        currency: row.currency,
        ordered_at: row.ordered_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        created_by: row.created_by,
        updated_by: row.updated_by,
        version: row.version,
        number: row.number,
        reference: row.reference,
        status: row.status,
        status_changed_at: row.status_changed_at,
        cancel_reason: row.cancel_reason,
        cancel_note: row.cancel_note,
    })?;
    Ok(OrderOverview {
        order,
        customer_name: row.customer_name,
        customer_code: row.customer_code,
        customer_phone: row.customer_phone,
        sms_status,
    })
}

/// The local date in `zone` of a [`DayRow::slot`].
fn local_day(slot: &str, backend: DatabaseBackend, zone: Tz) -> Result<NaiveDate, RepoError> {
    if backend == DatabaseBackend::Postgres {
        return NaiveDate::parse_from_str(slot, "%Y-%m-%d").map_err(|e| corrupt("order date", e));
    }
    // RFC 3339 may separate date and time with a space instead of `T`.
    let start = NaiveDateTime::parse_from_str(&slot.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M")
        .map_err(|e| corrupt("order time slot", e))?;
    Ok(start.and_utc().with_timezone(&zone).date_naive())
}

/// Every real zone's offset from UTC is a whole number of quarter hours, so all of a
/// 15-minute UTC slot falls on one local day.
const SQLITE_SLOT: &str =
    "substr(ordered_at, 1, 14) || printf('%02d', (CAST(substr(ordered_at, 15, 2) AS INTEGER) / 15) * 15)";

#[async_trait]
impl OrderReports for SqlOrderReports {
    async fn overview(&self, page: PageRequest) -> Result<Page<OrderOverview>, RepoError> {
        let limit = i64::try_from(page.limit + 1).unwrap_or(i64::MAX);
        let statement = match page.before {
            Some(before) => self.statement(
                &format!("{OVERVIEW} WHERE o.id < $1 ORDER BY o.id DESC LIMIT $2"),
                vec![before.into(), limit.into()],
            ),
            None => self.statement(&format!("{OVERVIEW} ORDER BY o.id DESC LIMIT $1"), vec![limit.into()]),
        };
        let rows = OverviewRow::find_by_statement(statement).all(self.db.read()).await.map_err(repo_error)?;
        let items = rows.into_iter().map(to_overview).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |row| row.order.id().as_uuid()))
    }

    async fn board(
        &self,
        filter: &OrderFilter,
        after: Option<BoardCursor>,
        limit: u64,
    ) -> Result<BoardPage, RepoError> {
        let mut values: Vec<Value> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        let mut bind = |value: Value| {
            values.push(value);
            format!("${}", values.len())
        };
        if let Some(customer_id) = filter.customer_id {
            conditions.push(format!("o.customer_id = {}", bind(customer_id.as_uuid().into())));
        }
        if !filter.statuses.is_empty() {
            let names: Vec<String> = filter.statuses.iter().map(|s| bind(s.as_str().into())).collect();
            conditions.push(format!("o.status IN ({})", names.join(", ")));
        }
        if let Some(number) = filter.number {
            conditions.push(format!("o.number = {}", bind(i64::from(number.get()).into())));
        }
        if let Some(from) = filter.ordered_from {
            conditions.push(format!("o.ordered_at >= {}", bind(from.into())));
        }
        if let Some(to) = filter.ordered_to {
            conditions.push(format!("o.ordered_at < {}", bind(to.into())));
        }
        if let Some(since) = filter.updated_since {
            conditions.push(format!("o.updated_at >= {}", bind(since.into())));
        }
        if let Some(after) = after {
            // Portable keyset condition (no row values). On SQLite the bound time is written as
            // the stored ones are (RFC 3339 UTC text), so text order is time order.
            let (before, same) = (bind(after.ordered_at.into()), bind(after.ordered_at.into()));
            let id = bind(after.id.as_uuid().into());
            conditions.push(format!("(o.ordered_at < {before} OR (o.ordered_at = {same} AND o.id < {id}))"));
        }
        let take = bind(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX).into());
        let conditions =
            if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let sql = format!("{OVERVIEW}{conditions} ORDER BY o.ordered_at DESC, o.id DESC LIMIT {take}");
        let rows = OverviewRow::find_by_statement(self.statement(&sql, values))
            .all(self.db.read())
            .await
            .map_err(repo_error)?;
        let items = rows.into_iter().map(to_overview).collect::<Result<Vec<_>, _>>()?;
        Ok(BoardPage::from_overfetch(items, limit))
    }

    async fn daily_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: Tz,
    ) -> Result<Vec<DailyTotal>, RepoError> {
        let backend = self.db.backend();
        let (slot, values): (&str, Vec<Value>) = match backend {
            DatabaseBackend::Postgres => {
                ("to_char(ordered_at AT TIME ZONE $3, 'YYYY-MM-DD')", vec![from.into(), to.into(), zone.name().into()])
            }
            // No time zones in SQLite: 15-minute UTC slots, each turned into a local date below.
            _ => (SQLITE_SLOT, vec![from.into(), to.into()]),
        };
        let sql = format!(
            "SELECT slot, currency, COUNT(*) AS orders, \
             CAST(SUM(amount_minor / 1000000000) AS BIGINT) AS high, \
             CAST(SUM(amount_minor % 1000000000) AS BIGINT) AS low \
             FROM (SELECT {slot} AS slot, currency, amount_minor FROM orders \
             WHERE ordered_at >= $1 AND ordered_at < $2) placed \
             GROUP BY slot, currency ORDER BY slot, currency"
        );
        let rows =
            DayRow::find_by_statement(self.statement(&sql, values)).all(self.db.read()).await.map_err(repo_error)?;
        let mut days: BTreeMap<(NaiveDate, String), DailyTotal> = BTreeMap::new();
        for row in rows {
            let day = local_day(&row.slot, backend, zone)?;
            let currency = Currency::from_stored(&row.currency).map_err(|e| corrupt("order currency", e))?;
            let total =
                days.entry((day, row.currency)).or_insert(DailyTotal { day, currency, orders: 0, revenue_minor: 0 });
            total.orders += u64::try_from(row.orders).unwrap_or(0);
            total.revenue_minor += i128::from(row.high) * SPLIT + i128::from(row.low);
        }
        Ok(days.into_values().collect())
    }
}

//! [`OrderReports`] on SQL: each read is one query, whatever the page or period.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use orderdesk_domain::ports::{DailyTotal, OrderOverview, OrderReports};
use orderdesk_domain::{Currency, NotificationStatus, Page, PageRequest, RepoError};
use sea_orm::{DatabaseBackend, DatabaseConnection, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::entity::orders;
use super::error::{corrupt, repo_error};

/// Reports over the `orders`, `customers` and `notifications` tables.
#[derive(Debug, Clone)]
pub struct SqlOrderReports {
    db: DatabaseConnection,
}

impl SqlOrderReports {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `sql` written with `$n` placeholders, which SQLite also accepts as `?n`.
    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        let backend = self.db.get_database_backend();
        let sql = if backend == DatabaseBackend::Sqlite { sql.replace('$', "?") } else { sql.to_owned() };
        Statement::from_sql_and_values(backend, sql, values)
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
    sms_status: Option<String>,
}

#[derive(FromQueryResult)]
struct DayRow {
    day: String,
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
     o.cancel_reason, o.cancel_note, c.name AS customer_name, \
     (SELECT n.status FROM notifications n WHERE n.order_id = o.id ORDER BY n.id DESC LIMIT 1) AS sms_status \
     FROM orders o JOIN customers c ON c.id = o.customer_id";

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
        let rows = OverviewRow::find_by_statement(statement).all(&self.db).await.map_err(repo_error)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let sms_status = match row.sms_status.as_deref() {
                Some(name) => {
                    Some(NotificationStatus::parse(name).ok_or_else(|| corrupt("notification status", name))?)
                }
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
            items.push(OrderOverview { order, customer_name: row.customer_name, sms_status });
        }
        Ok(Page::from_overfetch(items, page.limit, |row| row.order.id().as_uuid()))
    }

    async fn daily_totals(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DailyTotal>, RepoError> {
        let day = match self.db.get_database_backend() {
            DatabaseBackend::Postgres => "to_char(ordered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            // Stored as RFC 3339 text in UTC: the date is its first ten characters.
            _ => "substr(ordered_at, 1, 10)",
        };
        let sql = format!(
            "SELECT {day} AS day, currency, COUNT(*) AS orders, \
             CAST(SUM(amount_minor / 1000000000) AS BIGINT) AS high, \
             CAST(SUM(amount_minor % 1000000000) AS BIGINT) AS low \
             FROM orders WHERE ordered_at >= $1 AND ordered_at < $2 \
             GROUP BY {day}, currency ORDER BY day, currency"
        );
        let rows = DayRow::find_by_statement(self.statement(&sql, vec![from.into(), to.into()]))
            .all(&self.db)
            .await
            .map_err(repo_error)?;
        rows.into_iter()
            .map(|row| {
                Ok(DailyTotal {
                    day: NaiveDate::parse_from_str(&row.day, "%Y-%m-%d").map_err(|e| corrupt("order date", e))?,
                    currency: Currency::from_stored(&row.currency).map_err(|e| corrupt("order currency", e))?,
                    orders: u64::try_from(row.orders).unwrap_or(0),
                    revenue_minor: i128::from(row.high) * SPLIT + i128::from(row.low),
                })
            })
            .collect()
    }
}

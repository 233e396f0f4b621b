//! What each SMS attempt cost, as exact money a shop can add up:
//! - `notification_attempts.cost_micros` (BIGINT): the provider's price of a sent attempt in
//!   millionths of the currency's major unit (`KES 0.8000` is 800000), so sums are exact
//!   integers on SQLite and PostgreSQL alike; `cost_currency` its ISO 4217 code; `parts` the
//!   parts it was billed as (Africa's Talking's `messageParts`). All null when unknown.
//! - Indexes on `notification_attempts.attempted_at` and `notifications.created_at` for the
//!   summary of a period.
//! - Existing costs move from `notifications.cost` (the provider's text of the latest send,
//!   e.g. `KES 0.8000`) to that notification's latest sent attempt, where the text is exactly
//!   `"<ISO 4217 code> <decimal>"` with at most six non-zero decimals; any other text stays
//!   where it is and no attempt gets a cost from it.
//!
//! `notifications.cost` is left in place, unused by this binary: binaries from before this
//! migration still write it during a rolling upgrade (`docs/deployment.md`: the old processes
//! keep working on the migrated schema; migrations only add), and `down` keeps them whole. A
//! later migration may drop it once no such binary runs.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NotificationAttempts {
    Table,
    AttemptedAt,
    CostMicros,
    CostCurrency,
    Parts,
}

/// The largest cost kept, in micros (the domain's `SmsCost::MAX_MICROS`).
const MAX_MICROS: i64 = 999_999_999_999_999;

/// Reads `"KES 0.8000"` into (`KES`, 800000): an ISO 4217 code with a minor unit, one space,
/// a non-negative plain decimal with at most six non-zero decimals. `None` for anything else.
fn parse_cost(text: &str) -> Option<(&'static str, i64)> {
    let (code, amount) = text.split_once(' ')?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let currency = iso_currency::Currency::from_code(code).filter(|c| c.exponent().is_some())?;
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !plain(whole) || !plain(fraction) || (amount.contains('.') && fraction.is_empty()) {
        return None;
    }
    let (whole, fraction) = (whole.trim_start_matches('0'), fraction.trim_end_matches('0'));
    if whole.len() > 9 || fraction.len() > 6 {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let micros = whole * 1_000_000 + format!("{fraction:0<6}").parse::<i64>().ok()?;
    (micros <= MAX_MICROS).then_some((currency.code(), micros))
}

/// `sql` with `$n` placeholders, which SQLite also reads as `?n`.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_owned() };
    Statement::from_sql_and_values(backend, sql, values)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            big_integer_null(NotificationAttempts::CostMicros),
            string_len_null(NotificationAttempts::CostCurrency, 3),
            integer_null(NotificationAttempts::Parts),
        ];
        for mut column in columns {
            manager
                .alter_table(Table::alter().table(NotificationAttempts::Table).add_column(&mut column).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_attempts_attempted_at")
                    .table(NotificationAttempts::Table)
                    .col(NotificationAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_created_at")
                    .table(Notifications::Table)
                    .col(Notifications::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // One UPDATE per distinct cost text (a handful: one per price), each for every
        // notification with that text: its latest sent attempt gets the cost.
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let texts = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT DISTINCT cost FROM notifications WHERE cost IS NOT NULL".to_owned(),
            ))
            .await?;
        for row in texts {
            let text: String = row.try_get("", "cost")?;
            let Some((currency, micros)) = parse_cost(&text) else { continue };
            let sql = "UPDATE notification_attempts SET cost_micros = $1, cost_currency = $2 WHERE id IN (\
                 SELECT (SELECT a.id FROM notification_attempts a WHERE a.notification_id = n.id \
                 AND a.outcome = 'sent' ORDER BY a.attempted_at DESC, a.id DESC LIMIT 1) \
                 FROM notifications n WHERE n.cost = $3)";
            db.execute_raw(statement(backend, sql, vec![micros.into(), currency.into(), text.into()])).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_notifications_created_at").table(Notifications::Table).to_owned())
            .await?;
        manager
            .drop_index(Index::drop().name("ix_attempts_attempted_at").table(NotificationAttempts::Table).to_owned())
            .await?;
        let columns: [DynIden; 3] = [
            NotificationAttempts::Parts.into_iden(),
            NotificationAttempts::CostCurrency.into_iden(),
            NotificationAttempts::CostMicros.into_iden(),
        ];
        for column in columns {
            manager
                .alter_table(Table::alter().table(NotificationAttempts::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cost;

    #[test]
    fn provider_costs_are_read_exactly_or_left() {
        assert_eq!(parse_cost("KES 0.8000"), Some(("KES", 800_000)));
        assert_eq!(parse_cost("USD 0.0100"), Some(("USD", 10_000)));
        assert_eq!(parse_cost("KES 12"), Some(("KES", 12_000_000)));
        for refused in ["0", "", "kes 0.80", "ZZZ 1", "KES -1", "KES 0.1234567", "KES 1e3", "KES .5", "KES 1000000000"]
        {
            assert_eq!(parse_cost(refused), None, "{refused:?}");
        }
    }
}

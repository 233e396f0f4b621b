//! orderdesk's schema migrations. Every migration uses only portable builders, so the
//! schema is identical on SQLite and PostgreSQL (except where order numbers come from: a
//! sequence on PostgreSQL, a counter table on SQLite; see migration 9); later migrations stay
//! additive because SQLite cannot alter constraints.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

mod m20261126_000001_create_customers;
mod m20261126_000002_create_orders;
mod m20261126_000003_add_audit_actors;
mod m20261126_000004_create_notifications;
mod m20261126_000005_create_sessions;
mod m20261128_000006_add_notification_version;
mod m20261129_000007_versions_and_idempotency_keys;
mod m20261130_000008_sms_retry_window_and_early_reports;
mod m20261130_000009_order_numbers_and_lifecycle;
mod m20261130_000010_sms_costs;
mod m20261130_000011_customer_sms_preferences_and_inbox;
mod m20261130_000012_notification_events;
mod m20261130_000013_events;
mod m20261130_000014_webhooks;

/// Applies orderdesk's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_customers::Migration),
            Box::new(m20261126_000002_create_orders::Migration),
            Box::new(m20261126_000003_add_audit_actors::Migration),
            Box::new(m20261126_000004_create_notifications::Migration),
            Box::new(m20261126_000005_create_sessions::Migration),
            Box::new(m20261128_000006_add_notification_version::Migration),
            Box::new(m20261129_000007_versions_and_idempotency_keys::Migration),
            Box::new(m20261130_000008_sms_retry_window_and_early_reports::Migration),
            Box::new(m20261130_000009_order_numbers_and_lifecycle::Migration),
            Box::new(m20261130_000010_sms_costs::Migration),
            Box::new(m20261130_000011_customer_sms_preferences_and_inbox::Migration),
            Box::new(m20261130_000012_notification_events::Migration),
            Box::new(m20261130_000013_events::Migration),
            Box::new(m20261130_000014_webhooks::Migration),
        ]
    }
}

/// How a database's schema compares with this binary's migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaStatus {
    /// This binary's migrations the database has not applied, oldest first (all of them for an
    /// empty database).
    pub pending: Vec<String>,
    /// Migrations the database has applied that this binary does not know: a newer binary
    /// migrated it (a rolling upgrade in progress).
    pub unknown: Vec<String>,
}

/// Compares the database's applied migrations with this binary's, without writing anything
/// (no `seaql_migrations` table is created when it is missing).
///
/// # Errors
/// The database cannot be read.
pub async fn schema_status(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<SchemaStatus, DbErr> {
    use sea_orm_migration::sea_orm::EntityTrait;
    use sea_orm_migration::seaql_migrations;

    let applied: std::collections::BTreeSet<String> =
        if SchemaManager::new(db).has_table(Migrator::migration_table_name().to_string()).await? {
            seaql_migrations::Entity::find().all(db).await?.into_iter().map(|m| m.version).collect()
        } else {
            Default::default()
        };
    let known: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    Ok(SchemaStatus {
        pending: known.iter().filter(|name| !applied.contains(*name)).cloned().collect(),
        unknown: applied.iter().filter(|name| !known.contains(name)).cloned().collect(),
    })
}

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
        ]
    }
}

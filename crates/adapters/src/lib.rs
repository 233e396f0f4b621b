//! Adapters: implementations of the domain's ports on real technology.
//!
//! Dependency rule: depends on `orderdesk-domain` (inward) and on infrastructure crates;
//! never on the API crate. Only the server binary picks and wires these.

pub mod auth;
pub mod counters;
pub mod db;
pub mod http;
#[cfg(feature = "memory")]
pub mod memory;
pub mod secret;
pub mod setup;
pub mod sms;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod trace_context;
pub mod webhook;

pub use counters::OutboxCounters;
pub use db::{
    DatabaseSettings, SeaOrmCustomerRepository, SeaOrmHealthCheck, SeaOrmIdempotencyRepository,
    SeaOrmNotificationRepository, SeaOrmOrderRepository, SeaOrmSessionRepository, SqlOrderReports, Store, connect,
    migrate, raise_first_order_number,
};
pub use db::{PoolStats, SchemaStatus, pool_stats, schema_status};
pub use db::{
    SeaOrmEventRepository, SeaOrmInboxRepository, SeaOrmWebhookDeliveryRepository, SeaOrmWebhookEndpointRepository,
};
/// One pool's handle ([`Store::read`], [`Store::write`]).
pub use sea_orm::DatabaseConnection;

//! sea-orm entities: the storage shape, private to the adapters.

pub(crate) mod customers;
pub(crate) mod delivery_reports;
pub(crate) mod events;
pub(crate) mod idempotency_keys;
pub(crate) mod incoming_messages;
pub(crate) mod notification_attempts;
pub(crate) mod notifications;
pub(crate) mod order_status_changes;
pub(crate) mod orders;
pub(crate) mod sessions;
pub(crate) mod webhook_attempts;
pub(crate) mod webhook_deliveries;
pub(crate) mod webhook_endpoints;

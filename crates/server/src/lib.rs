//! The orderdesk server: configuration, telemetry and the composition root.
//! No business logic lives here.

pub mod allocator;
pub mod cli;
pub mod dispatch;
pub mod listener;
pub mod settings;
pub mod startup;
pub mod telemetry;

//! The real server on a random TCP port, on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used)]

mod access_log;
mod api;
mod auth;
mod browser;
mod clients;
mod connections;
mod csv;
mod descriptors;
mod dispatch;
mod events;
mod hardening;
mod helpers;
mod hoarding;
mod http2;
mod inbox;
mod lifecycle;
mod lookup;
mod ops;
mod otlp;
mod pages;
mod pages_customers;
mod pages_orders;
mod process;
mod sms;
mod texts;
mod webhooks_out;

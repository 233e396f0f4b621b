//! Adapter tests: repositories on SQLite (and PostgreSQL when `ORDERDESK_TEST_POSTGRES_URL` is set),
//! and the JWKS verifier against a fake Auth0 tenant.
#![allow(clippy::unwrap_used)]

mod auth;
mod costs;
mod customers;
mod events;
mod idempotency;
mod inbox;
mod lifecycle;
mod migrations;
mod orders;
mod outbox;
mod reports;
mod sessions;
mod sms;
mod wakeups;
mod webhooks;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

use orderdesk_domain::{
    Actor, Currency, Customer, CustomerCode, CustomerName, ItemName, Money, NumberPrefix, Order, OrderNumber,
    PhoneNumber, PhoneRegion,
};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn customer(code: &str) -> Customer {
    Customer::new(
        CustomerName::parse("Alice Wanjiru").unwrap(),
        CustomerCode::parse(code).unwrap(),
        PhoneNumber::parse("0712345678", PhoneRegion::default()).unwrap(),
        now(),
        &actor(),
    )
}

pub fn actor() -> Actor {
    Actor::new("auth0|repo-test")
}

/// An order with a number no other test order has (far above what the counters hand out).
pub fn order(customer: &Customer, amount: &str, ordered_at: DateTime<Utc>) -> Order {
    static NEXT: AtomicI64 = AtomicI64::new(50_000_000);
    let number = OrderNumber::new(NEXT.fetch_add(1, Ordering::Relaxed)).unwrap();
    numbered(customer, amount, ordered_at, number)
}

pub fn numbered(customer: &Customer, amount: &str, ordered_at: DateTime<Utc>, number: OrderNumber) -> Order {
    let money = Money::parse(amount, Currency::parse("KES").unwrap()).unwrap();
    let reference = NumberPrefix::default().reference(number);
    Order::new(
        customer.id(),
        reference,
        ItemName::parse("Maize flour 2kg").unwrap(),
        money,
        ordered_at,
        now(),
        &actor(),
    )
}

pub fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
}

/// The server's span for a request that came with a caller's `traceparent`, and the
/// `traceparent` an outgoing call made for it must send.
pub fn request_span() -> (opentelemetry::trace::SpanContext, String) {
    let mut incoming = reqwest::header::HeaderMap::new();
    incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
    let span = orderdesk_adapters::trace_context::continue_or_start(&incoming);
    let sent = orderdesk_adapters::trace_context::traceparent(&span).unwrap();
    (span, sent.to_str().unwrap().to_owned())
}

//! Repository tests on SQLite, and on PostgreSQL when `ORDERDESK_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used)]

mod customers;
mod migrations;
mod orders;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use orderdesk_domain::{
    Currency, Customer, CustomerCode, CustomerName, ItemName, Money, Order, PhoneNumber,
    PhoneRegion,
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
    )
}

pub fn order(customer: &Customer, amount: &str, ordered_at: DateTime<Utc>) -> Order {
    let money = Money::parse(amount, Currency::parse("KES").unwrap()).unwrap();
    Order::new(
        customer.id(),
        ItemName::parse("Maize flour 2kg").unwrap(),
        money,
        ordered_at,
        now(),
    )
}

pub fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
}

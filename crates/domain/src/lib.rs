//! The pure core of orderdesk: customers, orders, their value objects, the ports the
//! outside world implements, and the services that hold the use cases.
//!
//! Dependency rule: this crate does no I/O and depends on no web, database or HTTP crate.
//! Adapters implement [`ports`]; the API calls [`service`]. Other services embed it.
//!
//! # Example: wiring the services to in-memory ports
//! ```
//! use std::sync::Arc;
//! use orderdesk_domain::memory::InMemoryStore;
//! use orderdesk_domain::ports::SystemClock;
//! use orderdesk_domain::service::{CustomerDraft, CustomerService, OrderDraft, OrderService};
//! use orderdesk_domain::{Actor, Currency, PhoneRegion};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = Arc::new(InMemoryStore::default());
//! let clock = Arc::new(SystemClock);
//! let region = PhoneRegion::parse("KE").unwrap();
//! let customers = CustomerService::new(store.clone(), clock.clone(), region);
//! let orders = OrderService::new(store.clone(), store.clone(), clock, Currency::parse("KES").unwrap());
//!
//! let clerk = Actor::new("auth0|clerk-1");
//! let alice = customers
//!     .create(CustomerDraft { name: "Alice".into(), code: "ALICE-1".into(), phone: "0712 345 678".into() }, &clerk)
//!     .await
//!     .unwrap();
//! assert_eq!(alice.phone().as_str(), "+254712345678");
//!
//! let order = orders
//!     .create(OrderDraft { customer_id: alice.id(), item: "Maize flour".into(), amount: "250.50".into(), currency: None, ordered_at: None }, &clerk)
//!     .await
//!     .unwrap();
//! assert_eq!(order.amount().to_string(), "250.50 KES");
//! assert_eq!(order.audit().created_by.as_deref(), Some("auth0|clerk-1"));
//! # });
//! ```

#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod customer;
pub mod error;
pub mod memory;
pub mod money;
pub mod notification;
pub mod order;
pub mod page;
pub mod ports;
pub mod service;
mod text;
pub mod web;

pub use audit::AuditTrail;
pub use auth::{Actor, Permission, Principal, TokenRejection};
pub use customer::{Customer, CustomerCode, CustomerId, CustomerName, PhoneNumber, PhoneRegion};
pub use error::{CustomerError, FieldError, InvalidValue, OrderError, RepoError, ValidationErrors};
pub use money::{Currency, Money};
pub use notification::{Notification, NotificationId, NotificationStatus};
pub use order::{ItemName, Order, OrderId};
pub use page::{Page, PageRequest};

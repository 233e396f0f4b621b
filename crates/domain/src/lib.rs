//! The pure core of orderdesk: customers, orders, their value objects, the ports the
//! outside world implements, and the services that hold the use cases.
//!
//! Dependency rule: this crate does no I/O and depends on no web, database or HTTP crate.
//! Adapters implement [`ports`]; the API calls [`service`]. Other services embed it.
//!
//! # Example: values that can only be valid
//! ```
//! use orderdesk_domain::{Currency, CustomerCode, Money, PhoneNumber, PhoneRegion};
//!
//! let phone = PhoneNumber::parse("0712 345 678", PhoneRegion::parse("KE").unwrap()).unwrap();
//! assert_eq!(phone.as_str(), "+254712345678");
//! let amount = Money::parse("250.50", Currency::parse("KES").unwrap()).unwrap();
//! assert_eq!(amount.minor_units(), 25050);
//! assert!(CustomerCode::parse("no spaces allowed").is_err());
//! ```
//!
//! `examples/embed.rs` wires [`service::OrderService`] to repositories of its own, as another
//! service embedding this crate would (`cargo run -p orderdesk-domain --example embed`).

#![deny(missing_docs)]

pub mod audit;
pub mod auth;
pub mod customer;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod inbox;
pub mod language;
pub mod money;
pub mod notification;
pub mod numbering;
pub mod order;
pub mod page;
pub mod phone;
pub mod ports;
pub mod service;
pub mod status;
mod text;
pub mod timestamp;
pub mod webhook;

pub use audit::AuditTrail;
pub use auth::{Actor, Permission, Principal, TokenRejection};
pub use customer::{
    Customer, CustomerCode, CustomerEdit, CustomerId, CustomerName, PhoneNumber, PhoneRegion, SmsPreferences,
};
pub use error::{CustomerError, FieldError, InvalidValue, OrderError, RepoError, ValidationErrors};
pub use event::{Event, EventId, EventObject, EventSelector, EventType, NewEvent};
pub use language::Language;
pub use money::{Currency, Money};
pub use notification::{Notification, NotificationId, NotificationStatus};
pub use numbering::{NumberPrefix, OrderNumber, OrderReference};
pub use order::{ItemName, Order, OrderId};
pub use page::{Page, PageRequest};
pub use phone::{PHONE_METADATA_VERSION, PhoneLineType};
pub use status::{CancelReason, Cancellation, OrderStatus, StatusChange, StatusNote};
pub use webhook::{WebhookEndpoint, WebhookEndpointId};

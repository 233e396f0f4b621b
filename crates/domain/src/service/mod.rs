//! Use cases. Services depend only on ports, held as `Arc<dyn Port>`.

mod customers;
mod orders;

pub use customers::{CustomerChanges, CustomerDraft, CustomerService};
pub use orders::{OrderChanges, OrderDraft, OrderListQuery, OrderService};

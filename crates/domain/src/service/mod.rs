//! Use cases. Services depend only on ports, held as `Arc<dyn Port>`.

mod customers;
mod dispatcher;
mod events;
mod idempotency;
mod import;
mod inbox;
mod lifecycle;
mod notifications;
mod orders;
mod preview;
mod webhooks;

pub use customers::{CustomerChanges, CustomerDraft, CustomerListQuery, CustomerService};
pub use dispatcher::NotificationDispatcher;
pub use events::{EventListError, EventPage, EventService};
pub use idempotency::{IdempotencyError, IdempotencyService};
pub use import::{ImportAction, ImportError, ImportReport, ImportRow, ImportedRow, MAX_IMPORT_ROWS, RowError};
pub use inbox::{Delivery, InboxError, InboxService, Received};
pub use lifecycle::StatusRequest;
pub use notifications::MAX_SUMMARY_DAYS;
pub use notifications::{NotificationError, NotificationService, NotificationView, is_in_flight};
pub use orders::{OrderChanges, OrderDraft, OrderListQuery, OrderService, SmsOutbox};
pub use preview::{PreviewRequest, SmsPreview};
pub use webhooks::{
    MAX_EVENT_PATTERNS, TestDelivery, WebhookDispatcher, WebhookEndpointDraft, WebhookError, WebhookService,
};

//! Previewing an order's SMS: the exact text an event would send, without sending it.

use crate::error::{Collector, InvalidValue, OrderError, ValidationErrors};
use crate::notification::{RenderedSms, SmsEvent};
use crate::service::orders::OrderService;
use crate::{CancelReason, Language, OrderId};

/// Raw input for a preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRequest {
    /// The order the text is about.
    pub order_id: OrderId,
    /// The event, e.g. `"order.ready"`.
    pub event: String,
    /// The language, `"en"` or `"sw"`; the customer's when `None`.
    pub language: Option<String>,
    /// For `order.cancelled`: the reason to write; the order's own when `None`.
    pub cancel_reason: Option<String>,
}

/// What an event would text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsPreview {
    /// The event.
    pub event: SmsEvent,
    /// The language of the text: the one asked for, or the default language when that has no
    /// template for the event.
    pub language: Language,
    /// The text, its encoding and segments.
    pub sms: RenderedSms,
}

impl OrderService {
    /// The text `request.event` sends (or would send, were it enabled) about the order, in the
    /// same words, encoding and segments as the notification the event writes: the same
    /// catalog renders both. An order's texts are rendered from its stored fields only, so a
    /// preview matches what is then sent as long as the order and the settings do not change.
    ///
    /// # Errors
    /// [`OrderError::Validation`] for an unknown `event`, `language` or `cancel_reason`, a
    /// `cancel_reason` with another event, `order.cancelled` for an order that is not
    /// cancelled without a `cancel_reason`, or an event with no text configured (or SMS
    /// disabled); [`OrderError::NotFound`]; storage.
    pub async fn preview_sms(&self, request: PreviewRequest) -> Result<SmsPreview, OrderError> {
        let mut errors = Collector::default();
        let event = errors.check("event", SmsEvent::parse(&request.event));
        let language = request.language.as_deref().map(|l| errors.check("language", Language::parse(l)));
        let reason = request.cancel_reason.as_deref().map(|r| errors.check("cancel_reason", CancelReason::parse(r)));
        if reason.is_some() && event.is_some_and(|e| e != SmsEvent::OrderCancelled) {
            errors.check::<()>("cancel_reason", Err(InvalidValue::OnlyWhenCancelling));
        }
        let event = errors.finish(event)?;
        let order = self.get(request.order_id).await?;
        let reason = reason.flatten().or_else(|| order.lifecycle().cancellation.as_ref().map(|c| c.reason));
        if event == SmsEvent::OrderCancelled && reason.is_none() {
            return Err(ValidationErrors::single("cancel_reason", InvalidValue::RequiredToCancel).into());
        }
        let language = match language.flatten() {
            Some(language) => language,
            None => match self.customers.find(order.customer_id()).await.map_err(OrderError::Storage)? {
                Some(customer) => customer.language(),
                None => Language::default(),
            },
        };
        let rendered = self.sms.as_ref().and_then(|outbox| outbox.catalog.render(event, language, &order, reason));
        let (language, sms) = rendered.ok_or_else(|| ValidationErrors::single("event", InvalidValue::NoTemplate))?;
        Ok(SmsPreview { event, language, sms })
    }
}

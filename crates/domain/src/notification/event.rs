//! What an SMS announces: an order's creation or its move to a status.

use std::fmt;

use crate::error::InvalidValue;
use crate::status::OrderStatus;

/// The order event an SMS announces. Each has its own templates and `enabled` setting
/// (`sms.events."<name>"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SmsEvent {
    /// The order was taken (`order.created`).
    OrderCreated,
    /// The order moved to `confirmed` (`order.confirmed`).
    OrderConfirmed,
    /// The order moved to `ready` (`order.ready`).
    OrderReady,
    /// The order moved to `out_for_delivery` (`order.out_for_delivery`).
    OrderOutForDelivery,
    /// The order moved to `completed` (`order.completed`).
    OrderCompleted,
    /// The order moved to `cancelled` (`order.cancelled`).
    OrderCancelled,
}

impl SmsEvent {
    /// Every event, in life-cycle order.
    pub const ALL: [Self; 6] = [
        Self::OrderCreated,
        Self::OrderConfirmed,
        Self::OrderReady,
        Self::OrderOutForDelivery,
        Self::OrderCompleted,
        Self::OrderCancelled,
    ];

    /// The stored, wire and settings name, e.g. `order.ready`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreated => "order.created",
            Self::OrderConfirmed => "order.confirmed",
            Self::OrderReady => "order.ready",
            Self::OrderOutForDelivery => "order.out_for_delivery",
            Self::OrderCompleted => "order.completed",
            Self::OrderCancelled => "order.cancelled",
        }
    }

    /// Parses a name given by [`SmsEvent::as_str`].
    ///
    /// # Errors
    /// [`InvalidValue::UnknownEvent`] for any other name.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL.into_iter().find(|e| e.as_str() == name).ok_or(InvalidValue::UnknownEvent)
    }

    /// The event announcing a move to `status`; `None` for `received`, which only creation reaches.
    pub fn for_status(status: OrderStatus) -> Option<Self> {
        match status {
            OrderStatus::Received => None,
            OrderStatus::Confirmed => Some(Self::OrderConfirmed),
            OrderStatus::Ready => Some(Self::OrderReady),
            OrderStatus::OutForDelivery => Some(Self::OrderOutForDelivery),
            OrderStatus::Completed => Some(Self::OrderCompleted),
            OrderStatus::Cancelled => Some(Self::OrderCancelled),
        }
    }
}

impl fmt::Display for SmsEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a notification was stored as [`NotificationStatus::Skipped`](super::NotificationStatus::Skipped)
/// instead of being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The customer opted out of texts (`sms_opt_out`, or an opt-out from the provider).
    OptedOut,
    /// The number cannot receive SMS by libphonenumber's type (fixed line, toll free, premium
    /// rate, ...; see [`PhoneLineType::receives_sms`](crate::phone::PhoneLineType::receives_sms)).
    NotMobile,
}

impl SkipReason {
    /// Every reason.
    pub const ALL: [Self; 2] = [Self::OptedOut, Self::NotMobile];

    /// The stored and wire name: `opted_out` or `not_mobile`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptedOut => "opted_out",
            Self::NotMobile => "not_mobile",
        }
    }

    /// Parses a name given by [`SkipReason::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for event in SmsEvent::ALL {
            assert_eq!(SmsEvent::parse(event.as_str()), Ok(event));
        }
        assert_eq!(SmsEvent::parse("order.received"), Err(InvalidValue::UnknownEvent));
        for reason in SkipReason::ALL {
            assert_eq!(SkipReason::parse(reason.as_str()), Some(reason));
        }
    }

    #[test]
    fn every_status_but_received_has_its_event() {
        for status in OrderStatus::ALL {
            let event = SmsEvent::for_status(status);
            assert_eq!(event.is_none(), status == OrderStatus::Received, "{status:?}");
            if let Some(event) = event {
                assert_eq!(event.as_str(), format!("order.{}", status.as_str()));
            }
        }
    }
}

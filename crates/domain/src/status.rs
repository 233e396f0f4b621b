//! The order lifecycle: its statuses, the transition table, cancel reasons and the history
//! entry each change leaves.
//!
//! | From \ to          | forward along `received → confirmed → ready → out_for_delivery → completed` | `cancelled` |
//! |--------------------|------------------------------------------------|-------------|
//! | `received` … `out_for_delivery` | any later status (steps may be skipped) | yes |
//! | `completed`, `cancelled` | none (final) | no |
//!
//! Moving to the status an order already has changes nothing (a retry is safe).

use chrono::{DateTime, Utc};

use crate::error::InvalidValue;
use crate::text::bounded_text;

/// Where an order is in its life. New orders are [`OrderStatus::Received`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    /// Taken, not yet looked at.
    Received,
    /// Accepted by the shop.
    Confirmed,
    /// Packed, waiting for pick-up or delivery.
    Ready,
    /// On its way to the customer.
    OutForDelivery,
    /// Handed over. Final.
    Completed,
    /// Called off; see its [`CancelReason`]. Final.
    Cancelled,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 6] =
        [Self::Received, Self::Confirmed, Self::Ready, Self::OutForDelivery, Self::Completed, Self::Cancelled];

    /// The wire and storage name, e.g. `"out_for_delivery"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Confirmed => "confirmed",
            Self::Ready => "ready",
            Self::OutForDelivery => "out_for_delivery",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// # Errors
    /// [`InvalidValue::UnknownStatus`] for any other text.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or(InvalidValue::UnknownStatus)
    }

    /// Parses a comma-separated list (`"ready,out_for_delivery"`), without repeats.
    ///
    /// # Errors
    /// [`InvalidValue::UnknownStatus`] when an item is empty or unknown.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, InvalidValue> {
        let mut statuses = Vec::new();
        for item in text.split(',') {
            let status = Self::parse(item.trim())?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
        Ok(statuses)
    }

    /// `completed` and `cancelled`: nothing moves an order out of them.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }

    /// The transition table: forward along the lifecycle (skipping steps is allowed), or to
    /// `cancelled` from anything but a final status. Staying put is not a move.
    pub fn can_move_to(self, to: Self) -> bool {
        match (self.is_final(), to) {
            (true, _) => false,
            (false, Self::Cancelled) => true,
            (false, to) => to > self,
        }
    }
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The customer asked.
    CustomerRequest,
    /// The shop cannot supply it.
    OutOfStock,
    /// The order was taken twice.
    Duplicate,
    /// The payment did not go through.
    PaymentFailed,
    /// Anything else; say what in the note.
    Other,
}

impl CancelReason {
    /// Every reason.
    pub const ALL: [Self; 5] =
        [Self::CustomerRequest, Self::OutOfStock, Self::Duplicate, Self::PaymentFailed, Self::Other];

    /// The wire and storage name, e.g. `"out_of_stock"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerRequest => "customer_request",
            Self::OutOfStock => "out_of_stock",
            Self::Duplicate => "duplicate",
            Self::PaymentFailed => "payment_failed",
            Self::Other => "other",
        }
    }

    /// # Errors
    /// [`InvalidValue::UnknownCancelReason`] for any other text.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Self::ALL.into_iter().find(|r| r.as_str() == text).ok_or(InvalidValue::UnknownCancelReason)
    }
}

/// A note on a status change: trimmed, 1 to 500 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusNote(String);

impl StatusNote {
    /// The longest note, in characters.
    pub const MAX_CHARS: usize = 500;

    /// # Errors
    /// As [`crate::ItemName::parse`], with at most 500 characters.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        bounded_text(input, Self::MAX_CHARS).map(Self)
    }
    /// Rebuilds a stored note.
    pub fn restore(text: String) -> Self {
        Self(text)
    }
    /// The note.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How and why an order was cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// Why.
    pub reason: CancelReason,
    /// What the person who cancelled it added, if anything.
    pub note: Option<StatusNote>,
}

/// One entry of an order's history: its creation (`received`) or a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The status the order moved to.
    pub status: OrderStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// The token subject who made the change; `None` for orders older than authentication.
    pub by: Option<String>,
    /// The note given with the change.
    pub note: Option<StatusNote>,
    /// Why, when the change cancelled the order.
    pub cancel_reason: Option<CancelReason>,
    /// The order's version after the change (0 for its creation): orders the history.
    pub version: u32,
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};

    /// The whole table, written out: every pair not listed is forbidden.
    const ALLOWED: &[(OrderStatus, OrderStatus)] = &[
        (Received, Confirmed),
        (Received, Ready),
        (Received, OutForDelivery),
        (Received, Completed),
        (Received, Cancelled),
        (Confirmed, Ready),
        (Confirmed, OutForDelivery),
        (Confirmed, Completed),
        (Confirmed, Cancelled),
        (Ready, OutForDelivery),
        (Ready, Completed),
        (Ready, Cancelled),
        (OutForDelivery, Completed),
        (OutForDelivery, Cancelled),
    ];

    #[test]
    fn every_pair_of_statuses_follows_the_table() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(from.can_move_to(to), ALLOWED.contains(&(from, to)), "{} -> {}", from.as_str(), to.as_str());
            }
        }
    }

    #[test]
    fn names_round_trip_and_lists_are_comma_separated() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Ok(status));
        }
        assert_eq!(OrderStatus::parse_list("ready, completed,ready"), Ok(vec![Ready, Completed]));
        assert!(OrderStatus::parse_list("ready,").is_err());
        assert!(OrderStatus::parse("Ready").is_err());
        for reason in super::CancelReason::ALL {
            assert_eq!(super::CancelReason::parse(reason.as_str()), Ok(reason));
        }
    }
}

//! Delivery reports: what the provider later says about a message it accepted, and how one
//! moves a notification (monotonically: a final status is never replaced).

use std::fmt;

use chrono::{DateTime, Utc};

use super::{Notification, NotificationStatus};
use crate::customer::PhoneNumber;

/// A delivery report as the provider sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The provider's message id from the send.
    pub provider_message_id: String,
    /// The delivery status (`Success`, `Failed`, `Buffered`, ...); see [`FINAL_DELIVERY_STATUSES`].
    pub status: String,
    /// The recipient's number as the provider wrote it.
    pub phone_number: Option<String>,
    /// The mobile network's code, as the provider sent it.
    pub network_code: Option<String>,
    /// Why delivery failed, for failed statuses.
    pub failure_reason: Option<String>,
    /// The raw form, kept for audit.
    pub raw: String,
}

impl DeliveryReport {
    /// The status as a metric label: one of [`DELIVERY_STATUSES`], or `other` for anything
    /// else, so no value from a request becomes a label as it is.
    pub fn status_label(&self) -> &'static str {
        DELIVERY_STATUSES.into_iter().find(|s| *s == self.status).unwrap_or("other")
    }
}

/// Every delivery-report status Africa's Talking documents (contract §2.3).
pub const DELIVERY_STATUSES: [&str; 8] =
    ["Sent", "Submitted", "Buffered", "Rejected", "Success", "Failed", "AbsentSubscriber", "Expired"];

/// Delivery-report statuses after which nothing changes any more.
pub const FINAL_DELIVERY_STATUSES: [&str; 5] = ["Success", "Failed", "Rejected", "AbsentSubscriber", "Expired"];

/// Whether a report with `status` is final.
pub fn is_final_delivery_status(status: &str) -> bool {
    FINAL_DELIVERY_STATUSES.contains(&status)
}

/// Why a delivery report changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredReport {
    /// No notification's current message has its provider id (yet: a report can arrive before
    /// the send's answer is stored, and is applied then).
    UnknownMessage,
    /// It is about an earlier message of this notification (before a re-send).
    OtherMessage,
    /// It names another phone number than the one texted.
    WrongRecipient,
    /// The current message already has a final delivery status.
    AlreadyFinal,
    /// The same status again.
    Duplicate,
}

impl fmt::Display for IgnoredReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownMessage => "no notification's current message has this id",
            Self::OtherMessage => "about an earlier message",
            Self::WrongRecipient => "names another phone number than the one texted",
            Self::AlreadyFinal => "the message already has a final status",
            Self::Duplicate => "duplicate",
        })
    }
}

/// What a delivery report does to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportDecision {
    /// Store this new state.
    Apply(Box<Notification>),
    /// Nothing changes.
    Ignore(IgnoredReport),
}

impl Notification {
    /// Applies a provider delivery report about the current message, monotonically: a final
    /// status (delivered or not) is never replaced, and a report naming another phone number
    /// than the one texted is ignored. Numbers are compared as numbers: `254733111222` and
    /// `+254733111222` are one recipient (Africa's Talking writes either).
    pub fn apply_delivery_report(&self, report: &DeliveryReport, now: DateTime<Utc>) -> ReportDecision {
        if self.0.provider_message_id.as_deref() != Some(report.provider_message_id.as_str()) {
            return ReportDecision::Ignore(IgnoredReport::OtherMessage);
        }
        if report.phone_number.as_deref().is_some_and(|phone| !same_number(&self.0.recipient, phone)) {
            return ReportDecision::Ignore(IgnoredReport::WrongRecipient);
        }
        if let Some(current) = self.0.delivery_status.as_deref() {
            if is_final_delivery_status(current) {
                return ReportDecision::Ignore(IgnoredReport::AlreadyFinal);
            }
            if current == report.status {
                return ReportDecision::Ignore(IgnoredReport::Duplicate);
            }
        }
        let mut next = self.changed(now);
        next.0.delivery_status = Some(report.status.clone());
        next.0.delivery_failure_reason = report.failure_reason.clone();
        if is_final_delivery_status(&report.status) {
            next.0.status = if report.status == "Success" {
                NotificationStatus::Delivered
            } else {
                NotificationStatus::Undelivered
            };
        }
        ReportDecision::Apply(Box::new(next))
    }
}

/// Whether `written` (E.164 with or without its `+`) is `recipient`'s number.
fn same_number(recipient: &PhoneNumber, written: &str) -> bool {
    let digits = written.trim().strip_prefix('+').unwrap_or(written.trim());
    digits.bytes().all(|b| b.is_ascii_digit()) && recipient.as_str().strip_prefix('+') == Some(digits)
}

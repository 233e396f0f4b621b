//! [`OutboxMetrics`] on the `metrics` facade: the business counters go to whatever recorder
//! the process installed (the server's Prometheus one), under the names and labels the
//! operations docs and alert rules use.

use orderdesk_domain::notification::{AttemptOutcome, DeliveryReport};
use orderdesk_domain::ports::OutboxMetrics;
use orderdesk_domain::webhook;

/// SMS send attempts stored, by `result` (`sent`, `retry`, `failed`).
pub const SMS_ATTEMPTS: &str = "orderdesk_sms_attempts_total";
/// Delivery reports received, by `status` (Africa's Talking's names, or `other`).
pub const SMS_DELIVERY_REPORTS: &str = "orderdesk_sms_delivery_reports_total";
/// Webhook delivery POSTs stored, by `outcome` (`delivered`, `retry`, `failed`).
pub const WEBHOOK_ATTEMPTS: &str = "orderdesk_webhook_attempts_total";

/// Counts on the process's `metrics` recorder; without one installed, counting does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxCounters;

impl OutboxMetrics for OutboxCounters {
    fn sms_attempt(&self, outcome: AttemptOutcome) {
        metrics::counter!(SMS_ATTEMPTS, "result" => outcome.as_str()).increment(1);
    }

    fn delivery_report(&self, report: &DeliveryReport) {
        metrics::counter!(SMS_DELIVERY_REPORTS, "status" => report.status_label()).increment(1);
    }

    fn webhook_attempt(&self, outcome: webhook::AttemptOutcome) {
        metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome.as_str()).increment(1);
    }
}

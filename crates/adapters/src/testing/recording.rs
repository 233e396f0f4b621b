//! [`RecordingMetrics`]: an [`OutboxMetrics`] that keeps its counts, for tests to read.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use orderdesk_domain::notification::{AttemptOutcome, DeliveryReport};
use orderdesk_domain::ports::OutboxMetrics;
use orderdesk_domain::webhook;

use crate::counters::{SMS_ATTEMPTS, SMS_DELIVERY_REPORTS, WEBHOOK_ATTEMPTS};

/// Counts by (metric name, label value), with the names and labels [`crate::OutboxCounters`]
/// gives the process's recorder.
#[derive(Debug, Default)]
pub struct RecordingMetrics(Mutex<BTreeMap<(&'static str, &'static str), u64>>);

impl RecordingMetrics {
    /// Every count so far, e.g. `(("orderdesk_sms_attempts_total", "sent"), 1)`.
    pub fn counts(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The count of `metric` with label value `label` (0 when never counted).
    pub fn count(&self, metric: &str, label: &str) -> u64 {
        self.counts().into_iter().find(|((m, l), _)| *m == metric && *l == label).map_or(0, |(_, n)| n)
    }

    fn add(&self, metric: &'static str, label: &'static str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner).entry((metric, label)).or_default() += 1;
    }
}

impl OutboxMetrics for RecordingMetrics {
    fn sms_attempt(&self, outcome: AttemptOutcome) {
        self.add(SMS_ATTEMPTS, outcome.as_str());
    }

    fn delivery_report(&self, report: &DeliveryReport) {
        self.add(SMS_DELIVERY_REPORTS, report.status_label());
    }

    fn webhook_attempt(&self, outcome: webhook::AttemptOutcome) {
        self.add(WEBHOOK_ATTEMPTS, outcome.as_str());
    }
}

//! After a create-order run with the in-process dispatcher: how many SMS were still due when
//! wrk stopped, and how long the dispatcher took to send them. The bench waits for it, so the
//! next scenario is not measured beside a dispatcher still draining the run's outbox, and the
//! table shows whether the dispatcher kept up during the run.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::api::{self, block_on};

/// How long the bench waits for the outbox to empty before it goes on regardless.
const DRAIN_LIMIT: Duration = Duration::from_secs(180);

/// The outbox after one create-order run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Drain {
    /// SMS pending or sending when the run ended.
    pub backlog: u64,
    /// Until none was left (or [`DRAIN_LIMIT`], with `left` above zero).
    pub seconds: f64,
    /// Still due when the bench stopped waiting.
    pub left: u64,
}

impl Drain {
    /// SMS sent a second while draining.
    pub fn rate(&self) -> f64 {
        self.backlog.saturating_sub(self.left) as f64 / self.seconds.max(1e-9)
    }
}

/// Polls `GET {base_url}/metrics` (`orderdesk_sms_outbox`, sampled from the database at each
/// scrape) every 250 ms until nothing is pending or sending.
pub(super) fn wait(base_url: &str) -> anyhow::Result<Drain> {
    let http = api::plain_http()?;
    let due = || -> anyhow::Result<u64> {
        let text =
            block_on(async { http.get(format!("{base_url}/metrics")).send().await?.error_for_status()?.text().await })?;
        due_in(&text).context("no orderdesk_sms_outbox gauge in /metrics (metrics.enabled must be on)")
    };
    let started = Instant::now();
    let backlog = due()?;
    let mut left = backlog;
    while left > 0 && started.elapsed() < DRAIN_LIMIT {
        std::thread::sleep(Duration::from_millis(250));
        left = due()?;
    }
    let seconds = if backlog == 0 { 0.0 } else { started.elapsed().as_secs_f64() };
    Ok(Drain { backlog, seconds, left })
}

/// The sum of `orderdesk_sms_outbox{status="pending"}` and `{status="sending"}`.
fn due_in(metrics: &str) -> Option<u64> {
    let value = |status: &str| {
        let name = format!("orderdesk_sms_outbox{{status=\"{status}\"}} ");
        metrics.lines().find_map(|line| line.strip_prefix(name.as_str())?.trim().parse::<f64>().ok())
    };
    Some((value("pending")? + value("sending")?) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_count_is_pending_plus_sending() {
        let text = "# TYPE orderdesk_sms_outbox gauge\norderdesk_sms_outbox{status=\"failed\"} 3\n\
                    orderdesk_sms_outbox{status=\"sending\"} 24\norderdesk_sms_outbox{status=\"pending\"} 31227\n";
        assert_eq!(due_in(text), Some(31251));
        assert_eq!(due_in("orderdesk_sms_outbox{status=\"pending\"} 5\n"), None, "sending missing");
        let drain = Drain { backlog: 1000, seconds: 2.0, left: 100 };
        assert_eq!(drain.rate(), 450.0);
    }
}

//! A server's CPU time per request: its user + system time (`/proc/PID/stat`) before and after
//! a wrk run, over the requests wrk counted.

use std::process::Command;
use std::sync::OnceLock;

use anyhow::Context;

/// A process's CPU time so far, in clock ticks.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuTicks(u64);

impl CpuTicks {
    /// `utime + stime` of process `pid` now.
    pub(super) fn of(pid: u32) -> anyhow::Result<Self> {
        let path = format!("/proc/{pid}/stat");
        let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        parse_stat(&stat).map(Self).with_context(|| format!("unexpected {path}: {stat}"))
    }

    /// Microseconds of CPU per request from `self` to `after`, over `requests`.
    pub(super) fn per_request_us(self, after: Self, requests: f64) -> f64 {
        let seconds = after.0.saturating_sub(self.0) as f64 / ticks_per_second();
        seconds * 1e6 / requests.max(1.0)
    }
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line. The process name (field 2)
/// is in parentheses and may hold spaces and parentheses itself, so fields are counted from
/// the last `)`: field 3 (the state) is the first after it.
fn parse_stat(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks a second (`getconf CLK_TCK`; 100, Linux's value, if it cannot say).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .filter(|&ticks: &f64| ticks > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_time_are_read_after_the_name() {
        // Fields 14 and 15 are 250 and 50; the name holds spaces and parentheses.
        let stat = "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 1000 \
                    10000000 2000 18446744073709551615";
        assert_eq!(parse_stat(stat), Some(300));
        assert_eq!(parse_stat("4242 (cut) S 1 2"), None);
        assert_eq!(parse_stat("no parentheses"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time_and_it_grows() {
        let before = CpuTicks::of(std::process::id()).unwrap();
        let after = CpuTicks(before.0 + 3);
        // 3 ticks over 300 requests: 0.01 tick each, 100 µs at 100 ticks/s.
        let expected = 3.0 / ticks_per_second() * 1e6 / 300.0;
        assert!((before.per_request_us(after, 300.0) - expected).abs() < 1e-9);
        assert_eq!(after.per_request_us(before, 10.0), 0.0);
    }
}

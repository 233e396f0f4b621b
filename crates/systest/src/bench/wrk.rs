//! One wrk scenario against one server, with the server's CPU time over the run.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::cpu::CpuTicks;

/// wrk's threads (the machine has 2 cores).
pub(super) const WRK_THREADS: &str = "2";

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Measured {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Non-2xx/3xx answers and socket errors.
    pub errors: u64,
    /// The server's CPU time (user + system) per request, in µs.
    pub cpu_us_per_request: f64,
}

/// How the scenarios are driven: the scripts and what they read from the environment.
#[derive(Debug)]
pub(super) struct Wrk {
    /// xtask/bench (the Lua scripts).
    pub scripts: PathBuf,
    pub token: String,
    /// Comma-separated customer ids (create order).
    pub customers: String,
    /// One order id a line (get order by id).
    pub orders_file: PathBuf,
    pub duration: Duration,
}

impl Wrk {
    /// Runs `script` with `connections` against `base_url`, the server being process
    /// `server_pid`; `run` makes the bodies unique (a number, distinct per run).
    pub(super) fn run(
        &self,
        base_url: &str,
        server_pid: u32,
        connections: u32,
        script: &str,
        run: u64,
    ) -> anyhow::Result<Measured> {
        self.run_for(self.duration, base_url, server_pid, connections, script, run)
    }

    /// [`Wrk::run`] for `duration` (whole seconds, at least one) instead of the run's own.
    pub(super) fn run_for(
        &self,
        duration: Duration,
        base_url: &str,
        server_pid: u32,
        connections: u32,
        script: &str,
        run: u64,
    ) -> anyhow::Result<Measured> {
        let mut wrk = Command::new("wrk");
        wrk.current_dir(&self.scripts)
            .args(["--threads", WRK_THREADS, "--timeout", "5s", "--latency"])
            .arg(format!("--connections={connections}"))
            .arg(format!("--duration={}s", duration.as_secs().max(1)))
            .args(["--script", script, base_url])
            .env("ORDERDESK_BENCH_TOKEN", &self.token)
            .env("ORDERDESK_BENCH_CUSTOMERS", &self.customers)
            .env("ORDERDESK_BENCH_ORDERS", &self.orders_file)
            .env("ORDERDESK_BENCH_RUN", format!("{}{run}", std::process::id()));
        let before = CpuTicks::of(server_pid)?;
        let output = wrk.output().context("cannot run wrk")?;
        let after = CpuTicks::of(server_pid)?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        ensure!(output.status.success(), "wrk {script} failed: {}", String::from_utf8_lossy(&output.stderr));
        let summary = parse_wrk(&stdout).with_context(|| format!("unexpected wrk output:\n{stdout}"))?;
        Ok(summary.with_cpu(before.per_request_us(after, summary.requests)))
    }
}

/// The `ORDERDESK_BENCH` line that xtask/bench/common.lua prints.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    requests: f64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

impl Summary {
    fn with_cpu(self, cpu_us_per_request: f64) -> Measured {
        let Self { requests_per_second, p50_ms, p99_ms, errors, .. } = self;
        Measured { requests_per_second, p50_ms, p99_ms, errors, cpu_us_per_request }
    }
}

fn parse_wrk(stdout: &str) -> Option<Summary> {
    let line = stdout.lines().find_map(|l| l.strip_prefix("ORDERDESK_BENCH "))?;
    let field = |name: &str| -> Option<f64> {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    let requests = field("requests")?;
    let seconds = field("duration_us")? / 1e6;
    Some(Summary {
        requests,
        requests_per_second: requests / seconds.max(1e-9),
        p50_ms: field("p50_us")? / 1e3,
        p99_ms: field("p99_us")? / 1e3,
        errors: (field("status_errors")? + field("socket_errors")?) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrk_summary_line_is_read() {
        let out = "Running 1s test\nORDERDESK_BENCH requests=2500 duration_us=1000000 p50_us=1500 p99_us=9000 \
                   status_errors=2 socket_errors=1\n";
        let summary = parse_wrk(out).unwrap();
        assert_eq!((summary.requests, summary.requests_per_second), (2500.0, 2500.0));
        assert_eq!((summary.p50_ms, summary.p99_ms, summary.errors), (1.5, 9.0, 3));
        assert_eq!(summary.with_cpu(120.0).cpu_us_per_request, 120.0);
        assert!(parse_wrk("no summary").is_none());
    }
}

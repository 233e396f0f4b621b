//! orderdesk against the bare reference, interleaved: [`ROUNDS`] rounds at each connection
//! count, each round a short wrk run of every scenario on every server in turn, the servers not
//! being measured stopped (SIGSTOP) meanwhile. The shared box's speed changes by half within
//! minutes (docs/benchmarks.md, "Seventh pass"); run after run, such a change falls on every
//! server alike, and a stopped server neither takes CPU nor reacts to the other's rows.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::wrk::{Measured, Wrk};
use super::{API_ONLY, Options};

/// Rounds at each connection count; each run is `--duration` / `ROUNDS` (at least 1 s).
pub(super) const ROUNDS: usize = 5;

/// orderdesk; the reference's variants are named by their `--framework`.
pub(super) const ORDERDESK: &str = "orderdesk";

/// (wrk script, scenario row, servers it runs on). Get by id also runs on the reference's
/// poem and poem-openapi variants (the design card's framework, bare); its creates stand
/// beside the API-only ones (it has no dispatcher either).
pub(super) const SCENARIOS: [(&str, &str, &[&str]); 3] = [
    ("get_order.lua", "get order by id", &[ORDERDESK, "axum", "poem", "poem-openapi"]),
    ("list_orders.lua", "list 50 orders", &[ORDERDESK, "axum"]),
    ("create_order.lua", API_ONLY, &[ORDERDESK, "axum"]),
];

/// A running server to measure.
#[derive(Debug, Clone)]
pub(super) struct Server {
    pub name: &'static str,
    pub base_url: String,
    pub pid: u32,
}

/// One wrk run of one scenario on one server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    pub connections: u32,
    pub round: usize,
    pub scenario: &'static str,
    pub server: &'static str,
    pub measured: Measured,
}

/// Every round of every scenario on the servers it runs on.
pub(super) fn run(wrk: &Wrk, servers: &[Server], options: &Options) -> anyhow::Result<Vec<Sample>> {
    let slice = (options.duration / ROUNDS as u32).max(Duration::from_secs(1));
    let mut samples = Vec::new();
    let mut run = 2_000;
    for &connections in &options.connections {
        for round in 1..=ROUNDS {
            for (script, scenario, on) in SCENARIOS {
                let mut line = format!("interleaved c={connections:<3} round {round} {scenario:<16}");
                // Each round starts with another server, so a steady drift of the box's speed,
                // or a checkpoint after one server's creates, does not always fall on the same one.
                for name in on.iter().cycle().skip(round).take(on.len()) {
                    let server =
                        servers.iter().find(|s| s.name == *name).with_context(|| format!("no server {name}"))?;
                    let _others = Paused::all_but(servers, server.pid)?;
                    run += 1;
                    let measured = wrk.run_for(slice, &server.base_url, server.pid, connections, script, run)?;
                    if measured.errors > 0 {
                        println!("warning: {name} had {} errors ({scenario}, round {round})", measured.errors);
                    }
                    line.push_str(&format!("  {name} {:.0}", measured.requests_per_second));
                    samples.push(Sample { connections, round, scenario, server: name, measured });
                }
                println!("{line} req/s");
            }
        }
    }
    Ok(samples)
}

/// One round of orderdesk's API-only creates against pgbench running the same statements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct LimitRound {
    pub connections: u32,
    pub pgbench_tps: f64,
    pub creates: f64,
}

/// pgbench (`limit`, run for the given slice with orderdesk stopped) and orderdesk's API-only
/// creates, in turn, [`ROUNDS`] times at each connection count.
pub(super) fn against_limit(
    wrk: &Wrk,
    orderdesk: &Server,
    options: &Options,
    limit: impl Fn(u32, Duration) -> anyhow::Result<f64>,
) -> anyhow::Result<Vec<LimitRound>> {
    let slice = (options.duration / ROUNDS as u32).max(Duration::from_secs(1));
    let mut rounds = Vec::new();
    let mut run = 3_000;
    for &connections in &options.connections {
        for round in 1..=ROUNDS {
            let pgbench_tps = {
                let _stopped = Paused::each([orderdesk.pid])?;
                limit(connections, slice)?
            };
            run += 1;
            let creates =
                wrk.run_for(slice, &orderdesk.base_url, orderdesk.pid, connections, "create_order.lua", run)?;
            println!(
                "interleaved c={connections:<3} round {round} pgbench {pgbench_tps:.0} tx/s  orderdesk {:.0} creates/s",
                creates.requests_per_second
            );
            rounds.push(LimitRound { connections, pgbench_tps, creates: creates.requests_per_second });
        }
    }
    Ok(rounds)
}

/// The servers other than `running`, stopped until dropped (then continued).
struct Paused(Vec<u32>);

impl Paused {
    fn all_but(servers: &[Server], running: u32) -> anyhow::Result<Self> {
        Self::each(servers.iter().map(|s| s.pid).filter(|&pid| pid != running))
    }

    fn each(pids: impl IntoIterator<Item = u32>) -> anyhow::Result<Self> {
        let mut paused = Self(Vec::new());
        for pid in pids {
            signal("-STOP", pid)?;
            paused.0.push(pid);
        }
        Ok(paused)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = signal("-CONT", pid);
        }
    }
}

fn signal(which: &str, pid: u32) -> anyhow::Result<()> {
    let status = Command::new("kill").args([which, &pid.to_string()]).status().context("cannot run kill")?;
    ensure!(status.success(), "kill {which} {pid} failed");
    Ok(())
}

/// The median (the mean of the middle two for an even count); 0 for none.
pub(super) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Over the rounds of one scenario at one connection count: the median of `server`'s figure
/// `f`, or of each round's ratio of `server`'s throughput to `base`'s.
pub(super) struct Medians<'a> {
    pub samples: Vec<&'a Sample>,
}

impl<'a> Medians<'a> {
    pub fn of(samples: &'a [Sample], connections: u32, scenario: &str) -> Self {
        Self { samples: samples.iter().filter(|s| s.connections == connections && s.scenario == scenario).collect() }
    }

    fn on(&self, server: &str) -> impl Iterator<Item = &&'a Sample> {
        self.samples.iter().filter(move |s| s.server == server)
    }

    /// `None` when `server` did not run this scenario.
    pub fn figure(&self, server: &str, f: fn(&Measured) -> f64) -> Option<f64> {
        let values: Vec<f64> = self.on(server).map(|s| f(&s.measured)).collect();
        (!values.is_empty()).then(|| median(values))
    }

    /// The median over rounds of `server` req/s over `base` req/s in the same round.
    pub fn ratio(&self, server: &str, base: &str) -> Option<f64> {
        let ratios: Vec<f64> = self
            .on(server)
            .filter_map(|s| {
                let b = self.on(base).find(|b| b.round == s.round)?;
                Some(s.measured.requests_per_second / b.measured.requests_per_second.max(1e-9))
            })
            .collect();
        (!ratios.is_empty()).then(|| median(ratios))
    }

    pub fn rounds(&self) -> usize {
        self.on(ORDERDESK).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_rounds_and_of_each_rounds_ratio() {
        let m = |rps| Measured {
            requests_per_second: rps,
            p50_ms: 1.0,
            p99_ms: 2.0,
            errors: 0,
            cpu_us_per_request: rps / 100.0,
        };
        let sample = |round, server, rps| Sample {
            connections: 32,
            round,
            scenario: "get order by id",
            server,
            measured: m(rps),
        };
        // The box halves its speed in round 2: every figure halves, the ratio holds.
        let samples = [
            sample(1, ORDERDESK, 800.0),
            sample(1, "axum", 1000.0),
            sample(2, ORDERDESK, 400.0),
            sample(2, "axum", 500.0),
            sample(3, ORDERDESK, 700.0),
            sample(3, "axum", 1000.0),
        ];
        let medians = Medians::of(&samples, 32, "get order by id");
        assert_eq!(medians.rounds(), 3);
        assert_eq!(medians.figure(ORDERDESK, |m| m.requests_per_second), Some(700.0));
        assert_eq!(medians.ratio(ORDERDESK, "axum"), Some(0.8));
        assert_eq!(medians.ratio(ORDERDESK, "poem"), None);
        assert_eq!(Medians::of(&samples, 64, "get order by id").rounds(), 0);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn every_scenario_runs_on_orderdesk_and_the_axum_reference() {
        assert!(SCENARIOS.iter().all(|(_, _, on)| on.starts_with(&[ORDERDESK, "axum"])));
    }
}

//! The Markdown tables `cargo xtask bench` prints and writes to target/systest/bench.md.

use super::interleave::{self, Medians, ORDERDESK};
use super::wrk::WRK_THREADS;
use super::{Options, Report, Row};
use crate::figures;

/// Every table of a run: orderdesk's scenarios, orderdesk against the bare reference
/// (interleaved), the outbox after each create-order run, the database's own limit, and
/// SQLite's start times.
pub(super) fn markdown(report: &Report, options: &Options) -> String {
    let mut out = format!(
        "Run: `cargo xtask bench --duration {}s --connections {}` on {} ({} cores), wrk {} threads.\n\n",
        options.duration.as_secs(),
        options.connections.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        machine(),
        std::thread::available_parallelism().map_or(0, usize::from),
        WRK_THREADS,
    );
    out.push_str(&scenarios(&report.rows));
    if !report.interleaved.is_empty() {
        out.push_str("\norderdesk against the bare reference (PostgreSQL; interleaved rounds, medians):\n\n");
        out.push_str(&interleaved(&report.interleaved));
    }
    if !report.drains.is_empty() {
        out.push_str("\nThe outbox after create order (with the in-process dispatcher):\n\n");
        out.push_str(&drains(report, options));
    }
    if !report.limits.is_empty() {
        out.push('\n');
        out.push_str(&limits(report));
    }
    if !report.ready.is_empty() {
        out.push('\n');
        let rows = report.ready.iter().map(|(what, ms)| [(*what).to_owned(), format!("{ms:.0}")]);
        out.push_str(&figures::table(["SQLite start", "Ready after (ms)"], rows));
    }
    out
}

const SCENARIO_HEADER: [&str; 9] = [
    "Database",
    "Connections",
    "Scenario",
    "Requests/s",
    "p50 (ms)",
    "p99 (ms)",
    "Errors",
    "Server peak RSS (MB)",
    "Server CPU µs/request",
];

fn scenarios(rows: &[Row]) -> String {
    figures::table(SCENARIO_HEADER, rows.iter().map(scenario_row))
}

fn scenario_row(r: &Row) -> [String; 9] {
    let m = &r.measured;
    [
        r.db.to_owned(),
        r.connections.to_string(),
        r.scenario.to_owned(),
        format!("{:.0}", m.requests_per_second),
        format!("{:.2}", m.p50_ms),
        format!("{:.2}", m.p99_ms),
        m.errors.to_string(),
        format!("{:.1}", r.peak_rss_mb),
        format!("{:.0}", m.cpu_us_per_request),
    ]
}

/// orderdesk against the bare reference, interleaved ([`interleave`]): per connection count and
/// scenario, the median over rounds of each server's throughput and CPU per request, and the
/// median of each round's ratios (runs seconds apart, on the box as it was then). Get by id
/// also on the reference's poem and poem-openapi variants.
fn interleaved(samples: &[interleave::Sample]) -> String {
    let header = [
        "Connections",
        "Scenario",
        "Rounds",
        "orderdesk req/s",
        "bare (axum) req/s",
        "orderdesk / bare",
        "CPU µs/request: orderdesk / bare",
        "bare poem, poem-openapi req/s",
        "bare poem-openapi / bare axum",
        "orderdesk / bare poem-openapi",
        "Errors (all servers)",
    ];
    let mut keys: Vec<(u32, &str)> = Vec::new();
    for s in samples {
        if !keys.contains(&(s.connections, s.scenario)) {
            keys.push((s.connections, s.scenario));
        }
    }
    let rows = keys.into_iter().map(|(connections, scenario)| {
        let m = Medians::of(samples, connections, scenario);
        let num = |v: Option<f64>, digits: usize| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"));
        let rps = |server| m.figure(server, |x| x.requests_per_second);
        let cpu = |server| m.figure(server, |x| x.cpu_us_per_request);
        let variants = match (rps("poem"), rps("poem-openapi")) {
            (Some(poem), Some(openapi)) => format!("{poem:.0}, {openapi:.0}"),
            _ => "–".to_owned(),
        };
        [
            connections.to_string(),
            scenario.to_owned(),
            m.rounds().to_string(),
            num(rps(ORDERDESK), 0),
            num(rps("axum"), 0),
            num(m.ratio(ORDERDESK, "axum"), 2),
            format!("{} / {}", num(cpu(ORDERDESK), 0), num(cpu("axum"), 0)),
            variants,
            num(m.ratio("poem-openapi", "axum"), 2),
            num(m.ratio(ORDERDESK, "poem-openapi"), 2),
            m.samples.iter().map(|s| s.measured.errors).sum::<u64>().to_string(),
        ]
    });
    figures::table(header, rows)
}

/// The outbox after each create-order run with the in-process dispatcher: what was still due
/// when wrk stopped and how fast the dispatcher sent it afterwards.
fn drains(report: &Report, options: &Options) -> String {
    let header = [
        "Database",
        "Connections",
        "Creates/s (with dispatcher)",
        "SMS sent/s during the run",
        "SMS due when the run ended",
        "Sent after it in (s)",
        "SMS/s after the run",
    ];
    let seconds = options.duration.as_secs_f64();
    let rows = report.drains.iter().map(|(db, connections, creates, drain)| {
        let during = (creates * seconds - drain.backlog as f64).max(0.0) / seconds;
        let after = match drain.left {
            0 => format!("{:.1}", drain.seconds),
            left => format!("{:.1} ({left} still due)", drain.seconds),
        };
        [
            (*db).to_owned(),
            connections.to_string(),
            format!("{creates:.0}"),
            format!("{during:.0}"),
            drain.backlog.to_string(),
            after,
            format!("{:.0}", drain.rate()),
        ]
    });
    figures::table(header, rows)
}

/// Each database's own limit beside orderdesk's creates. On PostgreSQL pgbench and the API-only
/// creates ran in interleaved rounds: their medians, and the median of each round's ratio.
fn limits(report: &Report) -> String {
    let header = [
        "Database",
        "Connections",
        "Database limit for create order",
        "tx/s",
        "Creates/s (API only)",
        "Ratio (PostgreSQL: median of each round's)",
        "Creates/s (with in-process dispatcher)",
        "Ratio (its own run against the limit)",
    ];
    let rows = report.limits.iter().map(|(db, connections, what, tps)| {
        let creates = |wanted: fn(&str) -> bool| {
            report
                .rows
                .iter()
                .find(|r| r.db == *db && r.connections == *connections && wanted(r.scenario))
                .map_or(0.0, |r| r.measured.requests_per_second)
        };
        let rounds: Vec<_> = report.limit_rounds.iter().filter(|r| r.connections == *connections).collect();
        let (api_only, api_ratio) = if *db == "PostgreSQL" && !rounds.is_empty() {
            let creates = interleave::median(rounds.iter().map(|r| r.creates).collect());
            let ratio = interleave::median(rounds.iter().map(|r| r.creates / r.pgbench_tps.max(1e-9)).collect());
            (creates, ratio)
        } else {
            let creates = creates(|s| s.starts_with("create order, API only"));
            (creates, creates / tps.max(1e-9))
        };
        let full = creates(|s| s == "create order");
        let percent = |ratio: f64| format!("{:.0}%", 100.0 * ratio);
        [
            (*db).to_owned(),
            connections.to_string(),
            what.clone(),
            format!("{tps:.0}"),
            format!("{api_only:.0}"),
            percent(api_ratio),
            format!("{full:.0}"),
            percent(full / tps.max(1e-9)),
        ]
    });
    figures::table(header, rows)
}

/// The CPU model, from /proc/cpuinfo.
fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| Some(l.strip_prefix("model name")?.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "an unknown CPU".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::wrk::Measured;

    fn measured(requests_per_second: f64, cpu_us_per_request: f64) -> Measured {
        Measured { requests_per_second, p50_ms: 1.5, p99_ms: 9.0, errors: 0, cpu_us_per_request }
    }

    #[test]
    fn the_interleaved_table_has_a_row_per_scenario_with_variants_for_get() {
        let sample = |scenario, round, server, rps, cpu| interleave::Sample {
            connections: 32,
            round,
            scenario,
            server,
            measured: measured(rps, cpu),
        };
        let get = "get order by id";
        let samples = [
            sample(get, 1, ORDERDESK, 800.0, 50.0),
            sample(get, 1, "axum", 1000.0, 30.0),
            sample(get, 1, "poem", 950.0, 32.0),
            sample(get, 1, "poem-openapi", 900.0, 36.0),
            sample("list 50 orders", 1, ORDERDESK, 90.0, 200.0),
            sample("list 50 orders", 1, "axum", 100.0, 180.0),
        ];
        let table = interleaved(&samples);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert_eq!(lines[2], "| 32 | get order by id | 1 | 800 | 1000 | 0.80 | 50 / 30 | 950, 900 | 0.90 | 0.89 | 0 |");
        assert_eq!(lines[3], "| 32 | list 50 orders | 1 | 90 | 100 | 0.90 | 200 / 180 | – | – | – | 0 |");
    }

    #[test]
    fn the_drain_table_splits_sms_sent_during_and_after_the_run() {
        let drain = |backlog, seconds, left| super::super::drain::Drain { backlog, seconds, left };
        let report = Report {
            drains: vec![
                ("PostgreSQL", 32, 3000.0, drain(20_000, 20.0, 0)),
                ("SQLite", 64, 1000.0, drain(9_000, 180.0, 3_600)),
            ],
            ..Report::default()
        };
        let options =
            Options { db: None, duration: std::time::Duration::from_secs(10), connections: vec![32], criterion: false };
        let table = drains(&report, &options);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[2], "| PostgreSQL | 32 | 3000 | 1000 | 20000 | 20.0 | 1000 |", "{table}");
        assert_eq!(lines[3], "| SQLite | 64 | 1000 | 100 | 9000 | 180.0 (3600 still due) | 30 |", "{table}");
    }

    #[test]
    fn postgresql_limits_come_from_the_interleaved_rounds() {
        use crate::bench::interleave::LimitRound;
        let round = |pgbench_tps, creates| LimitRound { connections: 32, pgbench_tps, creates };
        let full = Row {
            db: "PostgreSQL",
            connections: 32,
            scenario: "create order",
            measured: measured(1500.0, 300.0),
            peak_rss_mb: 40.0,
        };
        let report = Report {
            rows: vec![full],
            // The box slows in round 2; each round's ratio is 0.8, 0.8 and 0.5.
            limit_rounds: vec![round(2000.0, 1600.0), round(1000.0, 800.0), round(2000.0, 1000.0)],
            limits: vec![("PostgreSQL", 32, "pgbench".to_owned(), 2000.0)],
            ..Report::default()
        };
        let table = limits(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[2], "| PostgreSQL | 32 | pgbench | 2000 | 1000 | 80% | 1500 | 75% |", "{table}");
    }

    #[test]
    fn scenario_rows_carry_throughput_latency_memory_and_cpu() {
        let row = Row {
            db: "PostgreSQL",
            connections: 32,
            scenario: "get order by id",
            measured: measured(900.0, 210.4),
            peak_rss_mb: 40.0,
        };
        let table = scenarios(&[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].ends_with("| Server peak RSS (MB) | Server CPU µs/request |"), "{}", lines[0]);
        assert_eq!(lines[2], "| PostgreSQL | 32 | get order by id | 900 | 1.50 | 9.00 | 0 | 40.0 | 210 |");
    }
}

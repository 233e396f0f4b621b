//! The Markdown tables `cargo xtask bench` prints and writes to target/systest/bench.md.

use super::wrk::{Measured, WRK_THREADS};
use super::{Options, Report, Round, Row};
use crate::figures;

/// Every table of a run: the scenarios (with the bare reference beside orderdesk where it ran),
/// the database's own limit, and SQLite's start times.
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
        out.push('\n');
        out.push_str(&interleaved(&report.interleaved));
    }
    if !report.drains.is_empty() {
        out.push('\n');
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

const SCENARIO_HEADER: [&str; 12] = [
    "Database",
    "Connections",
    "Scenario",
    "Requests/s",
    "p50 (ms)",
    "p99 (ms)",
    "Errors",
    "Server peak RSS (MB)",
    "Bare reference req/s",
    "orderdesk / bare",
    "Server CPU µs/request (orderdesk)",
    "(bare)",
];

fn scenarios(rows: &[Row]) -> String {
    figures::table(SCENARIO_HEADER, rows.iter().map(scenario_row))
}

fn scenario_row(r: &Row) -> [String; 12] {
    let m = &r.measured;
    let dash = || "–".to_owned();
    let (bare_rps, ratio, bare_cpu) = match &r.bare {
        Some(Measured { requests_per_second, cpu_us_per_request, .. }) => (
            format!("{requests_per_second:.0}"),
            format!("{:.2}", m.requests_per_second / requests_per_second.max(1e-9)),
            format!("{cpu_us_per_request:.0}"),
        ),
        None => (dash(), dash(), dash()),
    };
    [
        r.db.to_owned(),
        r.connections.to_string(),
        r.scenario.to_owned(),
        format!("{:.0}", m.requests_per_second),
        format!("{:.2}", m.p50_ms),
        format!("{:.2}", m.p99_ms),
        m.errors.to_string(),
        format!("{:.1}", r.peak_rss_mb),
        bare_rps,
        ratio,
        format!("{:.0}", m.cpu_us_per_request),
        bare_cpu,
    ]
}

/// Get by id, interleaved rounds: per connection count, the median over rounds of each
/// server's throughput and CPU per request, and the median of each round's ratios (a ratio
/// within one round is of runs seconds apart, on the box as it was then).
fn interleaved(rounds: &[Round]) -> String {
    let header = [
        "Connections",
        "Rounds",
        "Get by id req/s: orderdesk",
        "bare axum",
        "bare poem",
        "bare poem-openapi",
        "orderdesk / bare axum",
        "bare poem-openapi / bare axum",
        "orderdesk / bare poem-openapi",
        "CPU µs/request: orderdesk / axum / poem / poem-openapi",
    ];
    let mut connections: Vec<u32> = rounds.iter().map(|r| r.connections).collect();
    connections.dedup();
    let rows = connections.into_iter().map(|c| {
        let of: Vec<&Round> = rounds.iter().filter(|r| r.connections == c).collect();
        let med = |f: &dyn Fn(&Round) -> f64| median(of.iter().map(|r| f(r)).collect());
        let rps = |m: Measured| m.requests_per_second;
        let ratio = |a: Measured, b: Measured| a.requests_per_second / b.requests_per_second.max(1e-9);
        let cpu = |f: &dyn Fn(&Round) -> Measured| format!("{:.0}", med(&|r| f(r).cpu_us_per_request));
        [
            c.to_string(),
            of.len().to_string(),
            format!("{:.0}", med(&|r| rps(r.orderdesk))),
            format!("{:.0}", med(&|r| rps(r.axum))),
            format!("{:.0}", med(&|r| rps(r.poem))),
            format!("{:.0}", med(&|r| rps(r.poem_openapi))),
            format!("{:.2}", med(&|r| ratio(r.orderdesk, r.axum))),
            format!("{:.2}", med(&|r| ratio(r.poem_openapi, r.axum))),
            format!("{:.2}", med(&|r| ratio(r.orderdesk, r.poem_openapi))),
            [cpu(&|r| r.orderdesk), cpu(&|r| r.axum), cpu(&|r| r.poem), cpu(&|r| r.poem_openapi)].join(" / "),
        ]
    });
    figures::table(header, rows)
}

/// The median (the mean of the middle two for an even count); 0 for none.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
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

fn limits(report: &Report) -> String {
    let header = [
        "Database",
        "Connections",
        "Database limit for create order",
        "tx/s",
        "Creates/s (API only)",
        "Ratio",
        "Creates/s (with in-process dispatcher)",
        "Ratio",
    ];
    let rows = report.limits.iter().map(|(db, connections, what, tps)| {
        let creates = |wanted: fn(&str) -> bool| {
            report
                .rows
                .iter()
                .find(|r| r.db == *db && r.connections == *connections && wanted(r.scenario))
                .map_or(0.0, |r| r.measured.requests_per_second)
        };
        let api_only = creates(|s| s.starts_with("create order, API only"));
        let full = creates(|s| s == "create order");
        let ratio = |creates: f64| format!("{:.0}%", 100.0 * creates / tps.max(1e-9));
        [
            (*db).to_owned(),
            connections.to_string(),
            what.clone(),
            format!("{tps:.0}"),
            format!("{api_only:.0}"),
            ratio(api_only),
            format!("{full:.0}"),
            ratio(full),
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

    fn measured(requests_per_second: f64, cpu_us_per_request: f64) -> Measured {
        Measured { requests_per_second, p50_ms: 1.5, p99_ms: 9.0, errors: 0, cpu_us_per_request }
    }

    #[test]
    fn interleaved_rounds_give_medians_of_each_rounds_ratios() {
        let round = |c, ours: f64, axum: f64, openapi: f64| Round {
            connections: c,
            orderdesk: measured(ours, 50.0),
            axum: measured(axum, 30.0),
            poem: measured(axum * 0.9, 32.0),
            poem_openapi: measured(openapi, 40.0),
        };
        // The box slows down in round 2: every server's figure halves, the ratios hold.
        let rounds = [round(32, 800.0, 1000.0, 900.0), round(32, 400.0, 500.0, 450.0), round(32, 700.0, 1000.0, 850.0)];
        let table = interleaved(&rounds);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert_eq!(lines[2], "| 32 | 3 | 700 | 1000 | 900 | 850 | 0.80 | 0.90 | 0.89 | 50 / 30 / 32 / 40 |");
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
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
    fn rows_with_a_reference_show_the_ratio_and_both_cpu_figures() {
        let row = |bare| Row {
            db: "PostgreSQL",
            connections: 32,
            scenario: "get order by id",
            measured: measured(900.0, 210.4),
            peak_rss_mb: 40.0,
            bare,
        };
        let table = scenarios(&[row(Some(measured(1000.0, 150.0))), row(None)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].ends_with("| Server CPU µs/request (orderdesk) | (bare) |"), "{}", lines[0]);
        assert!(lines[2].ends_with("| 900 | 1.50 | 9.00 | 0 | 40.0 | 1000 | 0.90 | 210 | 150 |"), "{}", lines[2]);
        assert!(lines[3].ends_with("| 40.0 | – | – | 210 | – |"), "{}", lines[3]);
    }
}

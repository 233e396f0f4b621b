//! The Markdown tables `cargo xtask bench` prints and writes to target/systest/bench.md.

use super::wrk::{Measured, WRK_THREADS};
use super::{Options, Report, Row};
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
    if !report.frameworks.is_empty() {
        out.push('\n');
        out.push_str(&frameworks(report));
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

/// Get by id on PostgreSQL: the bare reference on axum, on poem and through a poem-openapi
/// operation, and orderdesk, with throughput and server CPU per request for each.
fn frameworks(report: &Report) -> String {
    let header = [
        "Connections",
        "Get by id req/s: bare axum",
        "bare poem",
        "bare poem-openapi",
        "orderdesk",
        "bare poem-openapi / bare axum",
        "orderdesk / bare poem-openapi",
        "CPU µs/request: axum / poem / poem-openapi / orderdesk",
    ];
    let mut connections: Vec<u32> = report.frameworks.iter().map(|(c, _, _)| *c).collect();
    connections.dedup();
    let rows = connections.into_iter().filter_map(|c| {
        let get =
            report.rows.iter().find(|r| r.connections == c && r.scenario == "get order by id" && r.bare.is_some())?;
        let on =
            |framework: &str| report.frameworks.iter().find(|(n, f, _)| *n == c && *f == framework).map(|(_, _, m)| *m);
        let (axum, poem, openapi) = (get.bare?, on("poem")?, on("poem-openapi")?);
        let ours = &get.measured;
        let ratio =
            |a: &Measured, b: &Measured| format!("{:.2}", a.requests_per_second / b.requests_per_second.max(1e-9));
        Some([
            c.to_string(),
            format!("{:.0}", axum.requests_per_second),
            format!("{:.0}", poem.requests_per_second),
            format!("{:.0}", openapi.requests_per_second),
            format!("{:.0}", ours.requests_per_second),
            ratio(&openapi, &axum),
            ratio(ours, &openapi),
            format!(
                "{:.0} / {:.0} / {:.0} / {:.0}",
                axum.cpu_us_per_request, poem.cpu_us_per_request, openapi.cpu_us_per_request, ours.cpu_us_per_request
            ),
        ])
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
    fn the_framework_table_sets_each_variant_beside_axum_and_orderdesk() {
        let get = Row {
            db: "PostgreSQL",
            connections: 32,
            scenario: "get order by id",
            measured: measured(600.0, 60.0),
            peak_rss_mb: 40.0,
            bare: Some(measured(1000.0, 30.0)),
        };
        let report = Report {
            rows: vec![get],
            frameworks: vec![(32, "poem", measured(950.0, 32.0)), (32, "poem-openapi", measured(800.0, 38.0))],
            ..Report::default()
        };
        let table = frameworks(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert_eq!(lines[2], "| 32 | 1000 | 950 | 800 | 600 | 0.80 | 0.75 | 30 / 32 / 38 / 60 |");
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

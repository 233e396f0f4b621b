//! The database's own limit for orderdesk's create-order statements, without orderdesk:
//! pgbench on PostgreSQL (xtask/bench/create_order.pgbench), a direct loop on SQLite
//! (xtask/bench/sqlite_limit.py).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::Options;
use super::wrk::WRK_THREADS;

/// pgbench running orderdesk's create-order statements (xtask/bench/create_order.pgbench)
/// with `connections` clients on the server's own (migrated) database.
pub(super) fn pgbench(
    root: &Path,
    url: &str,
    customer: &str,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<f64> {
    let script = root.join("xtask/bench/create_order.pgbench");
    let output = Command::new("pgbench")
        .args(["--no-vacuum", "--protocol=prepared", "--jobs", WRK_THREADS])
        .arg(format!("--client={connections}"))
        .arg(format!("--time={}", duration.as_secs().max(1)))
        .arg(format!("--define=customer_id={customer}"))
        .arg(format!("--file={}", script.display()))
        .arg(url)
        .output()
        .context("cannot run pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(output.status.success(), "pgbench failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    // "tps = 7812.345678 (without initial connection time)"
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no tps in pgbench output:\n{stdout}"))
}

/// The same statements straight on the SQLite file, with the server's settings (WAL,
/// synchronous=NORMAL, foreign keys): xtask/bench/sqlite_limit.py.
pub(super) fn sqlite_loop(root: &Path, dir: &Path, customer: &str, options: &Options) -> anyhow::Result<f64> {
    let output = Command::new("python3")
        .arg(root.join("xtask/bench/sqlite_limit.py"))
        .arg(dir.join("orderdesk.db"))
        .arg(customer)
        .arg(options.duration.as_secs().to_string())
        .output()
        .context("cannot run python3")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(output.status.success(), "sqlite_limit.py failed: {}", String::from_utf8_lossy(&output.stderr));
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = ")?.trim().parse().ok())
        .with_context(|| format!("no tps in sqlite_limit.py output:\n{stdout}"))
}

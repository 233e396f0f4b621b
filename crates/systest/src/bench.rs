//! `cargo xtask bench [--db sqlite|postgres] [--duration 10s] [--connections 32[,64]] [--criterion]`:
//! the release server (SMS to the `log` provider, rate limiting off, a dev-issuer token on every
//! request) under wrk load, beside the database's own limit for the same create-order
//! transaction (`pgbench` on PostgreSQL, a direct loop on SQLite). Prints a Markdown table and
//! writes it to target/systest/bench.md. wrk and pgbench must be installed. Only 127.0.0.1 is
//! contacted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, ensure};
use orderdesk_client::Client;

use crate::api::{self, block_on};
use crate::cargo::{self, cargo};
use crate::server::{Launch, Ready, free_port};
use crate::{Build, figures, postgres};

const SEED_CUSTOMERS: usize = 20;
const SEED_ORDERS: usize = 1_000;
const WRK_THREADS: &str = "2";

/// The database a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// One SQLite file.
    Sqlite,
    /// A throwaway database on `ORDERDESK_TEST_POSTGRES_URL` (or a local server).
    Postgres,
}

impl Db {
    fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// What `cargo xtask bench` was asked for.
#[derive(Debug)]
pub struct Options {
    /// Only this database (both when PostgreSQL is there, else SQLite).
    pub db: Option<Db>,
    /// How long each wrk scenario runs.
    pub duration: Duration,
    /// The wrk connection counts, each a run of every scenario.
    pub connections: Vec<u32>,
    /// Also the criterion benchmark of token verification.
    pub criterion: bool,
}

/// `10s` (or `10`) as a duration of at least a second.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let seconds = text.strip_suffix('s').unwrap_or(text);
    let seconds: u64 = seconds.parse().with_context(|| format!("--duration {text:?}: expected e.g. 10s"))?;
    ensure!(seconds > 0, "--duration must be at least 1s");
    Ok(Duration::from_secs(seconds))
}

/// One wrk scenario's result.
#[derive(Debug, Clone)]
struct Row {
    db: &'static str,
    connections: u32,
    scenario: &'static str,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    peak_rss_mb: f64,
}

/// Everything one database's run measured.
#[derive(Debug, Default)]
struct Report {
    rows: Vec<Row>,
    /// (database, connections, what, tx/s) of the database's own limit.
    limits: Vec<(&'static str, u32, String, f64)>,
    /// (what, milliseconds) on SQLite.
    ready: Vec<(&'static str, f64)>,
}

/// Runs the benchmark and writes its table.
pub fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    ensure!(options.connections.iter().all(|&c| c >= 2), "--connections: at least 2 (wrk runs 2 threads)");
    if options.criterion {
        let status = cargo(root)
            .args(["bench", "--package", "orderdesk-adapters", "--features", "test-support", "--bench", "verify"])
            .status()?;
        ensure!(status.success(), "token benchmark failed");
    }
    require_tool("wrk", "wrk")?;
    let postgres = postgres_admin_url();
    let databases: Vec<Db> = match options.db {
        Some(db) => vec![db],
        None if postgres.is_some() => vec![Db::Sqlite, Db::Postgres],
        None => {
            println!(
                "note: PostgreSQL skipped (ORDERDESK_TEST_POSTGRES_URL is not set and nothing answers at 127.0.0.1:5432)"
            );
            vec![Db::Sqlite]
        }
    };
    if databases.contains(&Db::Postgres) {
        require_tool("pgbench", "postgresql-contrib")?;
    }
    let binary = cargo::server_binary(root, Build::Release)?;
    let scratch = std::env::temp_dir().join(format!("orderdesk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let mut report = Report::default();
    let result = databases.iter().try_for_each(|&db| {
        let dir = scratch.join(db.name());
        std::fs::create_dir_all(&dir)?;
        match db {
            Db::Sqlite => {
                let url = format!("sqlite://{}", dir.join("orderdesk.db").display());
                run_database(root, &Launch::dev(&binary, &dir, &url), db, &url, options, &mut report)
            }
            Db::Postgres => {
                let admin = postgres.as_deref().context("no PostgreSQL: set ORDERDESK_TEST_POSTGRES_URL")?;
                let database = postgres::TempDatabase::create(admin, "bench")?;
                let url = database.url();
                run_database(root, &Launch::dev(&binary, &dir, &url), db, &url, options, &mut report)
            }
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    let table = markdown(&report, options);
    println!("\n{table}");
    figures::write(&cargo::target_dir(root), "bench", &table).map(drop)
}

/// `ORDERDESK_TEST_POSTGRES_URL`, else a local server at 127.0.0.1:5432 if one answers.
fn postgres_admin_url() -> Option<String> {
    if let Some(url) = postgres::admin_url() {
        return Some(url);
    }
    let local = "postgres://postgres@127.0.0.1:5432/postgres";
    let answers = Command::new("psql")
        .args([local, "-qtAc", "SELECT 1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    answers.then(|| local.to_owned())
}

/// Fails, naming the Debian package to install, when `tool` does not run.
fn require_tool(tool: &str, package: &str) -> anyhow::Result<()> {
    let runs = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    ensure!(runs, "{tool} is not installed: install it (`apt-get install {package}`) and run again");
    Ok(())
}

/// Peak resident set (VmHWM) of a process, in MB.
fn peak_rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM in /proc/PID/status")?;
    let kb: f64 = line.split_whitespace().nth(1).context("VmHWM without a value")?.parse()?;
    Ok(kb / 1024.0)
}

fn run_database(
    root: &Path,
    launch: &Launch,
    db: Db,
    database_url: &str,
    options: &Options,
    report: &mut Report,
) -> anyhow::Result<()> {
    println!("== {} ({}s per scenario, connections {:?})", db.name(), options.duration.as_secs(), options.connections);
    let dir = launch.dir().to_owned();
    let port = free_port()?;
    // The same port throughout, so the dev token stays valid.
    let launch = launch.clone().set("sms.provider", "log").bind(port);
    let start = |launch: &Launch, name: &str| launch.spawn(name, &[], Ready::Http(port));
    let server = start(&launch, "server-first")?;
    let first = server.ready_after();
    let server = if db == Db::Sqlite { server.kill().restart("server")? } else { server };
    let again = server.ready_after();
    if db == Db::Sqlite {
        report.ready.push(("first start (creates the database, migrates, makes the dev key)", ms(first)));
        report.ready.push(("restart on the existing database", ms(again)));
    }
    println!("ready after {:.0} ms (first start), {:.0} ms (restart)", ms(first), ms(again));
    let pid = server.pid();
    let token = server.token("bench")?;
    let (customers, orders) = seed(&api::client(&server.base_url(), &token)?)?;
    let base_url = server.base_url();
    let orders_file = dir.join("orders.txt");
    std::fs::write(&orders_file, orders.join("\n"))?;

    let scenarios: [(&'static str, &str); 4] = [
        ("create order", "create_order.lua"),
        ("get order by id", "get_order.lua"),
        ("list 50 orders", "list_orders.lua"),
        ("create customer", "create_customer.lua"),
    ];
    let scripts = root.join("xtask/bench");
    let mut runs: Vec<(u32, &'static str, &str)> = Vec::new();
    for &connections in &options.connections {
        runs.extend(scenarios.iter().map(|&(scenario, script)| (connections, scenario, script)));
    }
    let mut server = server;
    let mut pid = pid;
    let mut restarted_without_dispatcher = false;
    // Last, creates on an API process without the in-process dispatcher (`sms.dispatcher =
    // false`, as API processes run beside `orderdesk dispatch`): the create transaction alone,
    // which is what the database-limit figure measures. Same port, so the dev token stays valid.
    let api_only = "create order, API only (sms.dispatcher = false)";
    runs.extend(options.connections.iter().map(|&c| (c, api_only, "create_order.lua")));
    for (run, (connections, scenario, script)) in runs.into_iter().enumerate() {
        if scenario == api_only && !restarted_without_dispatcher {
            restarted_without_dispatcher = true;
            drop(server);
            server = start(&launch.clone().set("sms.dispatcher", "false"), "server-api-only")?;
            pid = server.pid();
        }
        {
            let mut wrk = Command::new("wrk");
            wrk.current_dir(&scripts)
                .args(["--threads", WRK_THREADS, "--timeout", "5s", "--latency"])
                .arg(format!("--connections={connections}"))
                .arg(format!("--duration={}s", options.duration.as_secs()))
                .args(["--script", script, &base_url])
                .env("ORDERDESK_BENCH_TOKEN", &token)
                .env("ORDERDESK_BENCH_CUSTOMERS", customers.join(","))
                .env("ORDERDESK_BENCH_ORDERS", &orders_file)
                .env("ORDERDESK_BENCH_RUN", format!("{}{run}", std::process::id()));
            let output = wrk.output().context("cannot run wrk")?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            ensure!(output.status.success(), "wrk {script} failed: {}", String::from_utf8_lossy(&output.stderr));
            let row = parse_wrk(&stdout, db.name(), connections, scenario, peak_rss_mb(pid)?)
                .with_context(|| format!("unexpected wrk output:\n{stdout}"))?;
            println!(
                "{scenario:<16} c={connections:<3} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}  peak RSS {:.1} MB",
                row.requests_per_second, row.p50_ms, row.p99_ms, row.errors, row.peak_rss_mb
            );
            report.rows.push(row);
        }
    }
    drop(server);

    for &connections in &options.connections {
        let customer = customers.first().context("no customer seeded")?;
        let (what, tps) = match db {
            Db::Postgres => ("pgbench, same statements", pgbench(root, database_url, customer, connections, options)?),
            Db::Sqlite => ("direct loop, same statements", sqlite_loop(root, &dir, customer, options)?),
        };
        println!("{} limit ({what}, {connections} clients): {tps:.0} tx/s", db.name());
        report.limits.push((db.name(), connections, what.to_owned(), tps));
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Customers and orders for the read scenarios; returns their ids.
fn seed(client: &Client) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let run = std::process::id();
    let mut customers = Vec::new();
    for i in 0..SEED_CUSTOMERS {
        let phone = format!("+2547110{i:05}");
        customers.push(block_on(api::create_customer(client, &format!("SEED-{run}-{i}"), &phone))?.id);
    }
    let mut orders = Vec::new();
    for i in 0..SEED_ORDERS {
        let item = format!("Seed item {i}");
        let answer = block_on(api::create_order(client, customers[i % customers.len()], &item, "99.90", None))?;
        orders.push(api::id_of(&api::created(answer)?));
    }
    Ok((customers.iter().map(ToString::to_string).collect(), orders))
}

/// Reads the `ORDERDESK_BENCH` line that xtask/bench/common.lua prints.
fn parse_wrk(stdout: &str, db: &'static str, connections: u32, scenario: &'static str, rss: f64) -> Option<Row> {
    let line = stdout.lines().find_map(|l| l.strip_prefix("ORDERDESK_BENCH "))?;
    let field = |name: &str| -> Option<f64> {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    let requests = field("requests")?;
    let seconds = field("duration_us")? / 1e6;
    Some(Row {
        db,
        connections,
        scenario,
        requests_per_second: requests / seconds.max(1e-9),
        p50_ms: field("p50_us")? / 1e3,
        p99_ms: field("p99_us")? / 1e3,
        errors: (field("status_errors")? + field("socket_errors")?) as u64,
        peak_rss_mb: rss,
    })
}

/// pgbench running orderdesk's create-order statements (xtask/bench/create_order.pgbench)
/// with `connections` clients on the server's own (migrated) database.
fn pgbench(root: &Path, url: &str, customer: &str, connections: u32, options: &Options) -> anyhow::Result<f64> {
    let script = root.join("xtask/bench/create_order.pgbench");
    let output = Command::new("pgbench")
        .args(["--no-vacuum", "--protocol=prepared", "--jobs", WRK_THREADS])
        .arg(format!("--client={connections}"))
        .arg(format!("--time={}", options.duration.as_secs()))
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
fn sqlite_loop(root: &Path, dir: &Path, customer: &str, options: &Options) -> anyhow::Result<f64> {
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

fn markdown(report: &Report, options: &Options) -> String {
    let mut out = format!(
        "Run: `cargo xtask bench --duration {}s --connections {}` on {} ({} cores), wrk {} threads.\n\n",
        options.duration.as_secs(),
        options.connections.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        machine(),
        std::thread::available_parallelism().map_or(0, usize::from),
        WRK_THREADS,
    );
    out.push_str(
        "| Database | Connections | Scenario | Requests/s | p50 (ms) | p99 (ms) | Errors | Server peak RSS (MB) |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in &report.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.1} |\n",
            r.db, r.connections, r.scenario, r.requests_per_second, r.p50_ms, r.p99_ms, r.errors, r.peak_rss_mb
        ));
    }
    if !report.limits.is_empty() {
        out.push_str(
            "\n| Database | Connections | Database limit for create order | tx/s | Creates/s (API only) | Ratio | Creates/s (with in-process dispatcher) | Ratio |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|---|\n");
        for (db, connections, what, tps) in &report.limits {
            let creates = |wanted: fn(&str) -> bool| {
                report
                    .rows
                    .iter()
                    .find(|r| r.db == *db && r.connections == *connections && wanted(r.scenario))
                    .map_or(0.0, |r| r.requests_per_second)
            };
            let api_only = creates(|s| s.starts_with("create order, API only"));
            let full = creates(|s| s == "create order");
            let ratio = |creates: f64| 100.0 * creates / tps.max(1e-9);
            out.push_str(&format!(
                "| {db} | {connections} | {what} | {tps:.0} | {api_only:.0} | {:.0}% | {full:.0} | {:.0}% |\n",
                ratio(api_only),
                ratio(full)
            ));
        }
    }
    if !report.ready.is_empty() {
        out.push_str("\n| SQLite start | Ready after (ms) |\n|---|---|\n");
        for (what, ms) in &report.ready {
            out.push_str(&format!("| {what} | {ms:.0} |\n"));
        }
    }
    out
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

    #[test]
    fn durations_are_whole_seconds() {
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn the_wrk_summary_line_is_read() {
        let out = "Running 1s test\nORDERDESK_BENCH requests=2500 duration_us=1000000 p50_us=1500 p99_us=9000 \
                   status_errors=2 socket_errors=1\n";
        let row = parse_wrk(out, "SQLite", 32, "create order", 30.0).unwrap();
        assert_eq!(row.requests_per_second, 2500.0);
        assert_eq!((row.p50_ms, row.p99_ms, row.errors), (1.5, 9.0, 3));
        assert!(parse_wrk("no summary", "SQLite", 32, "x", 0.0).is_none());
    }
}

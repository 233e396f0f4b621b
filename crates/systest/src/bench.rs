//! `cargo xtask bench [--db sqlite|postgres] [--duration 10s] [--connections 32[,64]] [--criterion]`:
//! the release server with production settings ([`Launch::production_like`]: rate limiting on, the JSON access log at `info`, metrics; SMS to the `log` provider; a dev-issuer token on every
//! request) under wrk load, beside the database's own limit for the same create-order
//! transaction (`pgbench` on PostgreSQL, a direct loop on SQLite) and, on PostgreSQL, beside the
//! bare reference (xtask/bench/reference: orderdesk's SQL and JSON with nothing else; get by id
//! also on poem and poem-openapi bare) on the same database, interleaved in rounds
//! ([`interleave`]). After each create-order run it waits for the outbox to drain ([`drain`]).
//! Each server's CPU time per request is measured too. Prints Markdown tables and writes them
//! to target/systest/bench.md. wrk and pgbench must be installed. Only 127.0.0.1 is contacted.

mod cpu;
mod drain;
mod interleave;
mod limit;
pub(crate) mod reference;
mod table;
mod wrk;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, ensure};
use orderdesk_client::Client;

use self::interleave::Server;
use self::reference::Reference;
use self::wrk::{Measured, Wrk};
use crate::api::{self, block_on};
use crate::cargo::{self, cargo};
use crate::server::{Launch, Ready, ServerProcess, free_port};
use crate::{Build, figures, postgres};

const SEED_CUSTOMERS: usize = 20;
const SEED_ORDERS: usize = 1_000;

/// orderdesk's scenarios: (name, wrk script).
const SCENARIOS: [(&str, &str); 4] = [
    ("create order", "create_order.lua"),
    ("get order by id", "get_order.lua"),
    ("list 50 orders", "list_orders.lua"),
    ("create customer", "create_customer.lua"),
];

/// Last, creates on an API process without the in-process dispatcher (`sms.dispatcher =
/// false`, as API processes run beside `orderdesk dispatch`): the create transaction alone,
/// which is what the database-limit figure and the bare reference measure.
const API_ONLY: &str = "create order, API only (sms.dispatcher = false)";

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

/// One orderdesk scenario's result.
#[derive(Debug, Clone)]
struct Row {
    db: &'static str,
    connections: u32,
    scenario: &'static str,
    measured: Measured,
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
    /// orderdesk and the bare reference, interleaved ([`interleave`]), on PostgreSQL.
    interleaved: Vec<interleave::Sample>,
    /// (database, connections, creates/s, the outbox after the run) of each create-order run
    /// with the in-process dispatcher.
    drains: Vec<(&'static str, u32, f64, drain::Drain)>,
    /// pgbench and orderdesk's API-only creates in turn, on PostgreSQL.
    limit_rounds: Vec<interleave::LimitRound>,
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
    let bare = if databases.contains(&Db::Postgres) {
        require_tool("pgbench", "postgresql-contrib")?;
        Some(reference::build(root)?)
    } else {
        None
    };
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
                run_database(root, &Launch::dev(&binary, &dir, &url), db, &url, options, None, &mut report)
            }
            Db::Postgres => {
                let admin = postgres.as_deref().context("no PostgreSQL: set ORDERDESK_TEST_POSTGRES_URL")?;
                let database = postgres::TempDatabase::create(admin, "bench")?;
                // Loopback: both servers and pgbench connect without TLS.
                let url = postgres::without_tls(&database.url());
                let launch = Launch::dev(&binary, &dir, &url);
                run_database(root, &launch, db, &url, options, bare.as_deref(), &mut report)
            }
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    let table = table::markdown(&report, options);
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

/// One database: orderdesk's scenarios, then (given its binary) the bare reference's, then the
/// database's own limit.
fn run_database(
    root: &Path,
    launch: &Launch,
    db: Db,
    database_url: &str,
    options: &Options,
    bare: Option<&Path>,
    report: &mut Report,
) -> anyhow::Result<()> {
    println!("== {} ({}s per scenario, connections {:?})", db.name(), options.duration.as_secs(), options.connections);
    let dir = launch.dir().to_owned();
    // The same port throughout, so the dev token stays valid.
    let launch = launch.clone().production_like().bind(free_port()?);
    let server = start_measured(&launch, db, report)?;
    let token = server.token("bench")?;
    let (customers, orders) = seed(&api::client(&server.base_url(), &token)?)?;
    let orders_file = dir.join("orders.txt");
    std::fs::write(&orders_file, orders.join("\n"))?;
    let wrk = Wrk {
        scripts: root.join("xtask/bench"),
        token,
        customers: customers.join(","),
        orders_file,
        duration: options.duration,
    };
    let server = run_orderdesk(&wrk, &launch, server, db, options, report)?;
    let orderdesk = Server { name: interleave::ORDERDESK, base_url: server.base_url(), pid: server.pid() };
    if let Some(bare) = bare {
        let (order, customer) = orders.first().zip(customers.first()).context("nothing seeded")?;
        let reference = Reference::start(bare, &launch, database_url, &wrk.token, "axum")?;
        reference::check_same_json(&orderdesk.base_url, reference.base_url(), &wrk.token, order, customer)?;
        let poem = Reference::start(bare, &launch, database_url, &wrk.token, "poem")?;
        let openapi = Reference::start(bare, &launch, database_url, &wrk.token, "poem-openapi")?;
        for variant in [&poem, &openapi] {
            reference::check_same_get(&orderdesk.base_url, variant.base_url(), &wrk.token, order)?;
        }
        let servers = [
            orderdesk.clone(),
            Server { name: "axum", base_url: reference.base_url().to_owned(), pid: reference.pid() },
            Server { name: "poem", base_url: poem.base_url().to_owned(), pid: poem.pid() },
            Server { name: "poem-openapi", base_url: openapi.base_url().to_owned(), pid: openapi.pid() },
        ];
        report.interleaved.extend(interleave::run(&wrk, &servers, options)?);
        drop((reference, poem, openapi));
    }
    let customer = customers.first().context("no customer seeded")?;
    if db == Db::Postgres {
        // pgbench and orderdesk's API-only creates in turn, as the reference is compared.
        let pgbench = |connections, slice| limit::pgbench(root, database_url, customer, connections, slice);
        report.limit_rounds.extend(interleave::against_limit(&wrk, &orderdesk, options, pgbench)?);
    }
    drop(server);

    for &connections in &options.connections {
        let (what, tps) = match db {
            Db::Postgres => {
                let tps: Vec<f64> = report
                    .limit_rounds
                    .iter()
                    .filter(|r| r.connections == connections)
                    .map(|r| r.pgbench_tps)
                    .collect();
                ("pgbench, same statements (median of the interleaved rounds)", interleave::median(tps))
            }
            Db::Sqlite => ("direct loop, same statements", limit::sqlite_loop(root, &dir, customer, options)?),
        };
        println!("{} limit ({what}, {connections} clients): {tps:.0} tx/s", db.name());
        report.limits.push((db.name(), connections, what.to_owned(), tps));
    }
    Ok(())
}

/// Starts orderdesk (on SQLite twice: a first start and a restart, both timed).
fn start_measured(launch: &Launch, db: Db, report: &mut Report) -> anyhow::Result<ServerProcess> {
    let port = bound_port(launch)?;
    let server = launch.spawn("server-first", &[], Ready::Http(port))?;
    let first = server.ready_after();
    let server = if db == Db::Sqlite { server.kill().restart("server")? } else { server };
    let again = server.ready_after();
    if db == Db::Sqlite {
        report.ready.push(("first start (creates the database, migrates, makes the dev key)", ms(first)));
        report.ready.push(("restart on the existing database", ms(again)));
    }
    println!("ready after {:.0} ms (first start), {:.0} ms (restart)", ms(first), ms(again));
    Ok(server)
}

/// The port `launch` binds.
fn bound_port(launch: &Launch) -> anyhow::Result<u16> {
    let bind = launch.get("server.bind").context("the bench launch binds a port")?;
    Ok(bind.rsplit_once(':').context("server.bind without a port")?.1.parse()?)
}

/// orderdesk's scenarios at each connection count, then the API-only creates (on a restarted
/// server without the dispatcher, which is returned).
fn run_orderdesk(
    wrk: &Wrk,
    launch: &Launch,
    server: ServerProcess,
    db: Db,
    options: &Options,
    report: &mut Report,
) -> anyhow::Result<ServerProcess> {
    let base_url = server.base_url();
    let port = bound_port(launch)?;
    let mut runs: Vec<(u32, &'static str, &str)> = Vec::new();
    for &connections in &options.connections {
        runs.extend(SCENARIOS.iter().map(|&(scenario, script)| (connections, scenario, script)));
    }
    runs.extend(options.connections.iter().map(|&c| (c, API_ONLY, "create_order.lua")));
    let mut server = server;
    let mut restarted_without_dispatcher = false;
    for (run, (connections, scenario, script)) in runs.into_iter().enumerate() {
        if scenario == API_ONLY && !restarted_without_dispatcher {
            restarted_without_dispatcher = true;
            drop(server);
            // Same port, so the dev token stays valid.
            let api_only = launch.clone().set("sms.dispatcher", "false");
            server = api_only.spawn("server-api-only", &[], Ready::Http(port))?;
        }
        let measured = wrk.run(&base_url, server.pid(), connections, script, run as u64)?;
        let row = Row { db: db.name(), connections, scenario, measured, peak_rss_mb: peak_rss_mb(server.pid())? };
        println!(
            "{scenario:<16} c={connections:<3} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}  peak RSS {:.1} MB  CPU {:.0} µs/req",
            measured.requests_per_second,
            measured.p50_ms,
            measured.p99_ms,
            measured.errors,
            row.peak_rss_mb,
            measured.cpu_us_per_request
        );
        report.rows.push(row);
        if scenario == "create order" {
            let drained = drain::wait(&base_url)?;
            println!(
                "outbox after create order c={connections}: {} SMS due, sent in {:.1} s ({:.0} SMS/s){}",
                drained.backlog,
                drained.seconds,
                drained.rate(),
                if drained.left > 0 { format!("; {} still due, going on", drained.left) } else { String::new() }
            );
            report.drains.push((db.name(), connections, measured.requests_per_second, drained));
        }
    }
    Ok(server)
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
    fn every_interleaved_scenario_is_an_orderdesk_row() {
        let rows: Vec<&str> = SCENARIOS.iter().map(|&(name, _)| name).chain([API_ONLY]).collect();
        assert!(interleave::SCENARIOS.iter().all(|(_, scenario, _)| rows.contains(scenario)));
    }

    #[test]
    fn the_port_is_read_from_the_bind() {
        let launch = Launch::dev(Path::new("/bin/orderdesk"), Path::new("/tmp/x"), "sqlite://x.db").bind(9123);
        assert_eq!(bound_port(&launch).unwrap(), 9123);
    }
}

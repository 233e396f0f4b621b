//! `cargo xtask export-memory [--release]`: the CSV export's memory, measured. A database is
//! migrated by `orderdesk migrate` and seeded straight through its own client (`sqlite3`, or
//! `psql` on PostgreSQL when `ORDERDESK_TEST_POSTGRES_URL` is set) with 100,000 orders of 1,000
//! customers, each order with its history entry and a sent SMS, one order every three minutes.
//! The server is started on it, and `GET /api/v1/orders/export.csv` streams the oldest 10,000
//! orders, then all 100,000, then all 100,000 again, while the server's resident memory
//! (`VmRSS` in `/proc/PID/status`) is sampled every few milliseconds. SQLite runs three times:
//! with the default pool, with it and glibc's `MALLOC_ARENA_MAX=1`, and with one pooled
//! connection, which tells the export's own memory from what each connection the pool opens
//! brings (a thread with its allocator arena, SQLite's page cache). Figures go to
//! target/systest/export-memory.md. Only 127.0.0.1 is contacted.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use orderdesk_client::{Client, reqwest};

use crate::api::{self, block_on};
use crate::server::{Launch, Scratch};
use crate::{Build, cargo, figures, postgres};

const CUSTOMERS: u64 = 1_000;
/// The large export: every seeded order.
const ORDERS: u64 = 100_000;
/// The small export: the oldest orders only, from the same database and server.
const FEW_ORDERS: u64 = 10_000;
/// One order every three minutes: 100,000 orders span 208 days, within one export's 366.
const SPACING_SECONDS: u64 = 180;
/// The first seeded order's time (UTC), and its number.
const START: &str = "2025-01-01T00:00:00";
const FIRST_NUMBER: u64 = 1001;
/// How often the server's memory is read while an export streams.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);
/// Allowance for the allocator's noise when memory is expected not to move.
const NOISE_KIB: u64 = 2 * 1024;

/// One export as measured.
struct Export {
    label: &'static str,
    rows: u64,
    bytes: u64,
    seconds: f64,
    /// The largest `VmRSS` read while it streamed, in KiB.
    peak_kib: u64,
}

/// One server's run.
struct Figures {
    setup: String,
    /// Whether the export alone is measured, so 100,000 rows must cost what 10,000 do. Not so
    /// for SQLite with the default pool: the pool opens connections during the exports (the
    /// dispatcher polls meanwhile), and each brings its own worker thread, with its own glibc
    /// allocator arena, and SQLite page cache (2 MiB by default), filled as far as the rows read
    /// reach. `MALLOC_ARENA_MAX=1` shows how much of that is the arenas.
    flat_in_rows: bool,
    baseline_kib: u64,
    threads: (u64, u64),
    exports: Vec<Export>,
    /// `VmHWM` when the exports were done.
    high_water_kib: u64,
}

impl Figures {
    fn growth(&self, export: &Export) -> u64 {
        export.peak_kib.saturating_sub(self.baseline_kib)
    }

    /// A second export of every row must not raise the peak (nothing is kept per export).
    /// Where the export alone is measured, 100,000 rows must cost what 10,000 do, and far less
    /// than the file: the server never holds it.
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let [few, many, again] = self.exports.as_slice() else {
            return vec![format!("{}: not three exports", self.setup)];
        };
        let setup = &self.setup;
        if again.peak_kib > many.peak_kib + NOISE_KIB {
            failures.push(format!(
                "{setup}: exporting {} rows again raised the peak from {} to {} KiB",
                again.rows, many.peak_kib, again.peak_kib
            ));
        }
        if !self.flat_in_rows {
            return failures;
        }
        if self.growth(many) > self.growth(few) + NOISE_KIB {
            failures.push(format!(
                "{setup}: the server grew by {} KiB for {} rows but by {} KiB for {}",
                self.growth(many),
                many.rows,
                self.growth(few),
                few.rows
            ));
        }
        if self.growth(many) * 1024 > many.bytes / 4 {
            failures.push(format!(
                "{setup}: the server grew by {} KiB while streaming {} bytes",
                self.growth(many),
                many.bytes
            ));
        }
        failures
    }
}

/// Seeds, measures the exports, writes the figures; fails unless memory stays flat.
pub fn run(root: &Path, build: Build) -> anyhow::Result<()> {
    let binary = cargo::server_binary(root, build)?;
    let dir = Scratch::new("export-memory")?;
    let scratch = dir.0.clone();
    dir.sub("sqlite")?;
    let mut all = Vec::new();
    let mut seeding = Vec::new();
    let file = scratch.join("sqlite/orderdesk.db");
    let url = format!("sqlite://{}", file.display());
    seeding.push(("SQLite", seed(&binary, &url, &scratch, &Seeder::Sqlite(&file))?));
    all.push(measure(&binary, "SQLite, default read pool (4)", false, &url, &scratch.join("sqlite"), &[])?);
    let arena = [("MALLOC_ARENA_MAX", "1")];
    all.push(measure(
        &binary,
        "SQLite, default pool, `MALLOC_ARENA_MAX=1`",
        false,
        &url,
        &scratch.join("sqlite"),
        &arena,
    )?);
    let one = [("ORDERDESK_DATABASE__SQLITE_READ_CONNECTIONS", "1")];
    all.push(measure(&binary, "SQLite, one pooled connection", true, &url, &scratch.join("sqlite"), &one)?);
    match postgres::admin_url() {
        Some(admin_url) => {
            let database = postgres::TempDatabase::create(&admin_url, "export_memory")?;
            std::fs::create_dir_all(scratch.join("postgres"))?;
            let url = database.url();
            seeding.push(("PostgreSQL", seed(&binary, &url, &scratch, &Seeder::Postgres(&url))?));
            all.push(measure(&binary, "PostgreSQL, default pool (8)", true, &url, &scratch.join("postgres"), &[])?);
        }
        None => println!("note: PostgreSQL skipped ({} is not set)", postgres::ADMIN_URL_VAR),
    }
    dir.finish(Ok(()))?;

    let table = table(&all, &seeding, build);
    println!("{table}");
    figures::write(&cargo::target_dir(root), "export-memory", &table)?;
    let failures: Vec<String> = all.iter().flat_map(Figures::failures).collect();
    ensure!(failures.is_empty(), "the export's memory is not flat:\n  {}", failures.join("\n  "));
    println!("export-memory: flat");
    Ok(())
}

fn table(all: &[Figures], seeding: &[(&str, f64)], build: Build) -> String {
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let (build, command) = match build {
        Build::Release => ("release", "cargo xtask export-memory --release"),
        Build::Debug => ("debug", "cargo xtask export-memory"),
    };
    let mut out = format!(
        "Run: `{command}` ({build} build) on {} ({} cores), {}.\n\n\
         | Server | Export | Bytes streamed | Duration | RSS before | Peak RSS while streaming | Peak − before |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        utc_now()
    );
    for figures in all {
        for export in &figures.exports {
            out.push_str(&format!(
                "| {} | {} {} rows | {} | {:.1} s | {} | {} | {} |\n",
                figures.setup,
                export.label,
                thousands(export.rows),
                thousands(export.bytes),
                export.seconds,
                mib(figures.baseline_kib),
                mib(export.peak_kib),
                mib(figures.growth(export)),
            ));
        }
    }
    out.push('\n');
    for figures in all {
        out.push_str(&format!(
            "- {}: {} threads before the exports, {} after; `VmHWM` after them {}.\n",
            figures.setup,
            figures.threads.0,
            figures.threads.1,
            mib(figures.high_water_kib)
        ));
    }
    for (backend, seconds) in seeding {
        out.push_str(&format!(
            "- {backend}: seeding {} customers and {} orders (each with its history entry, a sent SMS and its \
             attempt) took {seconds:.1} s.\n",
            thousands(CUSTOMERS),
            thousands(ORDERS),
        ));
    }
    out
}

/// How a database is seeded: its own command-line client, one transaction.
enum Seeder<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

impl Seeder<'_> {
    fn seed(&self) -> anyhow::Result<()> {
        let (mut command, sql, client) = match self {
            Self::Sqlite(file) => {
                let mut command = Command::new("sqlite3");
                command.arg(file);
                (command, sqlite_seed(), "sqlite3 (apt-get install sqlite3)")
            }
            Self::Postgres(url) => {
                let mut command = Command::new("psql");
                command.args([url, "-v", "ON_ERROR_STOP=1", "-q"]);
                (command, postgres_seed(), "psql")
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {client}"))?;
        child.stdin.take().context("no stdin")?.write_all(sql.as_bytes())?;
        let output = child.wait_with_output()?;
        ensure!(
            output.status.success() && output.stderr.is_empty(),
            "seeding with {client} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }
}

/// The seed for SQLite: ids are random 16-byte blobs (as the server stores UUIDs), times RFC
/// 3339 text in UTC as the server writes them.
fn sqlite_seed() -> String {
    format!(
        "PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {CUSTOMERS} - 1)
INSERT INTO customers (id, name, code, code_key, phone, created_at, updated_at, created_by, updated_by, version, language, sms_opt_out)
SELECT randomblob(16), 'Customer ' || i || ', Nairobi', 'MEM-' || i, 'mem-' || i, '+2547' || printf('%08d', 10000000 + i),
       '{START}+00:00', '{START}+00:00', 'export-memory', 'export-memory', 0, 'en', 0 FROM n;
CREATE TEMP TABLE seed_customers (k INTEGER PRIMARY KEY, id BLOB NOT NULL, phone TEXT NOT NULL);
INSERT INTO seed_customers SELECT CAST(substr(code, 5) AS INTEGER), id, phone FROM customers WHERE code LIKE 'MEM-%';
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {ORDERS} - 1)
INSERT INTO orders (id, customer_id, item, amount_minor, currency, ordered_at, created_at, updated_at, created_by, updated_by,
                    version, number, reference, status, status_changed_at)
SELECT randomblob(16), c.id, 'Maize flour 2kg, bag ' || t.i, 10000 + t.i % 90000, 'KES', t.at, t.at, t.at, 'export-memory',
       'export-memory', 0, {FIRST_NUMBER} + t.i, 'ORD-' || ({FIRST_NUMBER} + t.i), 'received', t.at
FROM (SELECT i, strftime('%Y-%m-%dT%H:%M:%S+00:00', '{START}', '+' || (i * {SPACING_SECONDS}) || ' seconds') AS at FROM n) t
JOIN seed_customers c ON c.k = t.i % {CUSTOMERS};
INSERT INTO order_status_changes (order_id, version, status, changed_at, changed_by)
SELECT id, 0, 'received', created_at, created_by FROM orders WHERE created_by = 'export-memory';
INSERT INTO notifications (id, order_id, recipient, message, status, attempts, timed_out, next_attempt_at, provider_message_id,
                           provider_status, cost, created_at, updated_at, sent_at, version, event, language)
SELECT randomblob(16), o.id, c.phone, 'Shop: order ' || o.reference || ' received. Thank you!', 'sent', 1, 0, o.created_at,
       'seed-' || o.number, 'Success', 'KES 0.8000', o.created_at, o.created_at, o.created_at, 1, 'order.created', 'en'
FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_by = 'export-memory';
INSERT INTO notification_attempts (id, notification_id, number, attempted_at, outcome, recipient, cost_micros, cost_currency, parts)
SELECT randomblob(16), id, 1, created_at, 'sent', recipient, 800000, 'KES', 1 FROM notifications WHERE provider_message_id LIKE 'seed-%';
UPDATE order_number_counter SET last_number = (SELECT MAX(number) FROM orders);
COMMIT;
"
    )
}

/// The same seed for PostgreSQL (`gen_random_uuid`, PostgreSQL 13+), and its number sequence.
fn postgres_seed() -> String {
    format!(
        "BEGIN;
INSERT INTO customers (id, name, code, code_key, phone, created_at, updated_at, created_by, updated_by, version, language, sms_opt_out)
SELECT gen_random_uuid(), 'Customer ' || i || ', Nairobi', 'MEM-' || i, 'mem-' || i, '+2547' || (10000000 + i),
       TIMESTAMPTZ '{START}Z', TIMESTAMPTZ '{START}Z', 'export-memory', 'export-memory', 0, 'en', false
FROM generate_series(0, {CUSTOMERS} - 1) i;
CREATE TEMP TABLE seed_customers (k BIGINT PRIMARY KEY, id UUID NOT NULL);
INSERT INTO seed_customers SELECT CAST(substr(code, 5) AS BIGINT), id FROM customers WHERE code LIKE 'MEM-%';
INSERT INTO orders (id, customer_id, item, amount_minor, currency, ordered_at, created_at, updated_at, created_by, updated_by,
                    version, number, reference, status, status_changed_at)
SELECT gen_random_uuid(), c.id, 'Maize flour 2kg, bag ' || t.i, 10000 + t.i % 90000, 'KES', t.at, t.at, t.at, 'export-memory',
       'export-memory', 0, {FIRST_NUMBER} + t.i, 'ORD-' || ({FIRST_NUMBER} + t.i), 'received', t.at
FROM (SELECT i, TIMESTAMPTZ '{START}Z' + i * INTERVAL '{SPACING_SECONDS} seconds' AS at
      FROM generate_series(0, {ORDERS} - 1) i) t
JOIN seed_customers c ON c.k = t.i % {CUSTOMERS};
INSERT INTO order_status_changes (order_id, version, status, changed_at, changed_by)
SELECT id, 0, 'received', created_at, created_by FROM orders WHERE created_by = 'export-memory';
INSERT INTO notifications (id, order_id, recipient, message, status, attempts, timed_out, next_attempt_at, provider_message_id,
                           provider_status, cost, created_at, updated_at, sent_at, version, event, language)
SELECT gen_random_uuid(), o.id, c.phone, 'Shop: order ' || o.reference || ' received. Thank you!', 'sent', 1, false,
       o.created_at, 'seed-' || o.number, 'Success', 'KES 0.8000', o.created_at, o.created_at, o.created_at, 1,
       'order.created', 'en'
FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_by = 'export-memory';
INSERT INTO notification_attempts (id, notification_id, number, attempted_at, outcome, recipient, cost_micros, cost_currency, parts)
SELECT gen_random_uuid(), id, 1, created_at, 'sent', recipient, 800000, 'KES', 1 FROM notifications
WHERE provider_message_id LIKE 'seed-%';
SELECT setval('order_number_seq', (SELECT MAX(number) FROM orders));
COMMIT;
ANALYZE;
"
    )
}

/// Migrates the database and seeds it; returns how long the seed took, in seconds.
fn seed(binary: &Path, url: &str, dir: &Path, seeder: &Seeder) -> anyhow::Result<f64> {
    println!("== migrate, seed {} orders: {}", thousands(ORDERS), url.split('?').next().unwrap_or(url));
    crate::server::migrate(&Launch::dev(binary, dir, url))?;
    let started = Instant::now();
    seeder.seed()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Starts the server on the seeded database (with `env` besides the usual settings) and
/// measures its exports.
fn measure(
    binary: &Path,
    setup: &str,
    flat_in_rows: bool,
    url: &str,
    dir: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<Figures> {
    println!("== {setup}");
    let launch = env.iter().fold(
        Launch::dev(binary, dir, url).set("sms.provider", "log").env_remove("MALLOC_ARENA_MAX"),
        |launch, (name, value)| launch.env(name, value),
    );
    let server = launch.serve("server")?;
    let pid = server.pid();
    let token = server.token("export-memory")?;
    let client = api::client(&server.base_url(), &token)?;
    // An export of every row takes a while in a debug build.
    let http = api::http_builder(&token)?.timeout(Duration::from_secs(600)).build()?;
    let base = server.base_url();
    block_on(check_seed(&client))?;

    // A small export first, so what any first request allocates (statements, buffers) is in
    // the baseline; then the baseline, once the server is idle.
    export(&http, &base, pid, "warm-up", 480)?;
    std::thread::sleep(Duration::from_secs(1));
    let baseline_kib = status_kib(pid, "VmRSS")?;
    let threads_before = status_kib(pid, "Threads")?;
    let mut exports = Vec::new();
    for (label, rows) in [("oldest", FEW_ORDERS), ("all", ORDERS), ("again: all", ORDERS)] {
        let measured = export(&http, &base, pid, label, rows)?;
        println!(
            "{setup}: {label} {} rows, {} bytes in {:.1} s; RSS {baseline_kib} KiB before, peak {} KiB",
            measured.rows, measured.bytes, measured.seconds, measured.peak_kib
        );
        exports.push(measured);
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(Figures {
        setup: setup.to_owned(),
        flat_in_rows,
        baseline_kib,
        threads: (threads_before, status_kib(pid, "Threads")?),
        exports,
        high_water_kib: status_kib(pid, "VmHWM")?,
    })
}

/// The seed is what the server would have written: it reads the last seeded order with its
/// customer, and numbers a new order after the seeded ones (that order is then deleted).
async fn check_seed(client: &Client) -> anyhow::Result<()> {
    let last = FIRST_NUMBER + ORDERS - 1;
    let number = std::num::NonZeroU64::new(last).context("order numbers start at 1")?;
    let found = client.list_orders().number(number).expand("customer").send().await;
    let found = found.map_err(|e| anyhow::anyhow!("finding order {last}: {e}"))?.into_inner();
    let order = found.items.first().with_context(|| format!("the seeded order {last} is missing"))?;
    ensure!(order.reference == format!("ORD-{last}"), "the seeded order {last} reads as {order:?}");
    let customer = order.customer.as_ref().context("a seeded order without its customer")?;
    let created = client
        .create_order()
        .body_map(|b| b.customer_id(customer.id).item("After the seed").amount("1.00").notify(Some(false)))
        .send()
        .await;
    // A number the seed took would be refused by the unique index, failing the create.
    let created = created.map_err(|e| anyhow::anyhow!("creating an order after the seed: {e}"))?.into_inner();
    ensure!(u64::from(created.number) > last, "the first order after the seed is {created:?}");
    client.delete_order().id(created.id).send().await.map_err(|e| anyhow::anyhow!("deleting it: {e}"))?;
    Ok(())
}

/// `ordered_from`/`ordered_to` of the oldest `rows` seeded orders, in UTC.
fn period(rows: u64) -> anyhow::Result<(String, String)> {
    let at = |index: u64| -> anyhow::Result<String> {
        let seconds = index * SPACING_SECONDS;
        let (days, rest) = (seconds / 86_400, seconds % 86_400);
        let date = add_days(START.get(..10).context("START is a date-time")?, days)?;
        Ok(format!("{date}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60))
    };
    Ok((at(0)?, at(rows)?))
}

/// `date` (`YYYY-MM-DD`) plus `days`, in the proleptic Gregorian calendar.
fn add_days(date: &str, days: u64) -> anyhow::Result<String> {
    let mut parts = date.split('-').map(str::parse::<u64>);
    let (Some(Ok(mut year)), Some(Ok(mut month)), Some(Ok(mut day))) = (parts.next(), parts.next(), parts.next())
    else {
        bail!("not a date: {date}")
    };
    let length = |year: u64, month: u64| match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    for _ in 0..days {
        day += 1;
        if day > length(year, month) {
            (day, month) = (1, month + 1);
            if month > 12 {
                (month, year) = (1, year + 1);
            }
        }
    }
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// Streams the export of the oldest `rows` seeded orders, counting its bytes and rows, while
/// another thread reads the server's `VmRSS`.
fn export(http: &reqwest::Client, base: &str, pid: u32, label: &'static str, rows: u64) -> anyhow::Result<Export> {
    let (from, to) = period(rows)?;
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(kib) = status_kib(pid, "VmRSS") {
                    peak.fetch_max(kib, Ordering::SeqCst);
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        })
    };
    let started = Instant::now();
    let streamed = block_on(async {
        let mut response = http
            .get(format!("{base}/api/v1/orders/export.csv"))
            .query(&[("ordered_from", &from), ("ordered_to", &to)])
            .send()
            .await?;
        ensure!(response.status().as_u16() == 200, "the export answered {}", response.status());
        let (mut bytes, mut lines) = (0_u64, 0_u64);
        while let Some(chunk) = response.chunk().await? {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        Ok((bytes, lines))
    });
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    let (bytes, lines) = streamed?;
    // The header, then one line per order (no seeded cell holds a line break).
    ensure!(lines == rows + 1, "the export of {from}..{to} has {lines} lines, not a header and {rows} rows");
    Ok(Export { label, rows, bytes, seconds, peak_kib: peak.load(Ordering::SeqCst) })
}

/// A number of `/proc/PID/status`: `VmRSS` and `VmHWM` in KiB, `Threads`.
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| {
            let value = line.strip_prefix(field)?.strip_prefix(':')?.trim();
            value.strip_suffix("kB").unwrap_or(value).trim().parse().ok()
        })
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "an unknown CPU".to_owned())
}

/// The date and time now (UTC), from `date`, for the figures' heading.
fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "at an unknown time".to_owned(), |s| s.trim().to_owned())
}

/// `100000` as `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_cover_the_seeded_orders() {
        assert_eq!(period(480).unwrap(), ("2025-01-01T00:00:00Z".into(), "2025-01-02T00:00:00Z".into()));
        // 100,000 orders, three minutes apart: 208 days and 8 hours.
        assert_eq!(period(ORDERS).unwrap().1, "2025-07-28T08:00:00Z");
        assert_eq!(add_days("2024-02-28", 1).unwrap(), "2024-02-29");
        assert_eq!(add_days("2025-12-31", 1).unwrap(), "2026-01-01");
    }

    #[test]
    fn memory_lines_are_read_in_kib() {
        let own = status_kib(std::process::id(), "VmRSS").unwrap();
        assert!(own > 0);
        assert!(status_kib(std::process::id(), "Threads").unwrap() >= 1);
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(999), "999");
    }
}

//! `cargo xtask scale-test [--release]`: two API processes (`sms.dispatcher=false`) and
//! `orderdesk dispatch` processes on one PostgreSQL with a fake Africa's Talking. First a
//! dispatcher polling only every 30 s must send a new order's SMS within 2 s (LISTEN/NOTIFY
//! across processes); then concurrent keyed order creation is spread over both API processes,
//! one API process and one dispatcher are killed with SIGKILL mid-load, clients retry their
//! keys on the survivor, and the checks are: every acknowledged order exists once, every
//! order's SMS reaches the provider (at most the send in flight at the kill twice), and the
//! dead dispatcher's claims are sent by the survivor once their lease expired.
//! Needs `ORDERDESK_TEST_POSTGRES_URL`; skips with a note without it. Only 127.0.0.1 is contacted.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::support::{
    Build, FakeSmsProvider, Server, TempDatabase, free_port, http_client, mentions_reference, orderdesk_command,
    server_binary,
};

const WORKERS: usize = 8;
const ORDERS_PER_WORKER: usize = 50;
/// One API process is killed once this many orders were acknowledged...
const KILL_API_AT: usize = 120;
/// ...and the first dispatcher at this many.
const KILL_DISPATCHER_AT: usize = 220;
const LEASE_SECONDS: u64 = 5;
/// Each send at the fake provider takes this long, so dispatchers hold claims under load.
const SEND_DELAY: Duration = Duration::from_millis(25);
/// The dispatcher of the wake-up check polls this rarely: only NOTIFY can wake it in time.
const SLOW_POLL_MS: &str = "30000";
const WAKE_LIMIT: Duration = Duration::from_secs(2);
const WAKE_PROBES: usize = 3;
const SMS_WAIT: Duration = Duration::from_secs(90);

pub fn run(root: &Path, build: Build) -> anyhow::Result<()> {
    let admin_url = match std::env::var("ORDERDESK_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            println!(
                "note: scale test skipped: ORDERDESK_TEST_POSTGRES_URL is not set (several processes must share one PostgreSQL)"
            );
            return Ok(());
        }
    };
    let binary = server_binary(root, build)?;
    let scratch = std::env::temp_dir().join(format!("orderdesk-scale-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let database = TempDatabase::create(&admin_url, "scale")?;
    let fake = FakeSmsProvider::start_with_delay(SEND_DELAY)?;
    let cluster = Cluster { binary, dir: scratch.clone(), database_url: database.url(), sms_url: fake.url() };
    let figures = exercise(&cluster, &fake);
    match &figures {
        Ok(_) => {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        Err(_) => println!("logs kept in {}", scratch.display()),
    }
    let figures = figures?;
    println!("{figures:#?}");
    write_figures(&root.join("docs/reliability.md"), &figures)?;
    let failures = figures.failures();
    ensure!(failures.is_empty(), "scale test failed:\n  {}", failures.join("\n  "));
    println!("scale test passed");
    Ok(())
}

#[derive(Debug, Default)]
struct Figures {
    wake_ms: Vec<u128>,
    orders_sent: usize,
    requests_sent: usize,
    acknowledged: usize,
    retried_on_survivor: usize,
    acknowledged_missing: usize,
    stored_twice: usize,
    orders_without_one_sms: usize,
    sms_at_provider: usize,
    sms_sent_twice: usize,
    sms_missing: usize,
    claims_orphaned: usize,
    claims_taken_over_after_lease: usize,
    claims_taken_over_early: usize,
    seconds: u64,
}

impl Figures {
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.wake_ms.iter().any(|&ms| ms > WAKE_LIMIT.as_millis()) {
            failures.push(format!("a dispatcher polling every 30 s was woken too late: {:?} ms", self.wake_ms));
        }
        let checks = [
            (self.acknowledged_missing, "acknowledged orders missing"),
            (self.stored_twice, "orders stored more than once for one key"),
            (self.orders_without_one_sms, "orders without exactly one notification"),
            (self.sms_missing, "SMS never reached the provider"),
            (self.claims_taken_over_early, "claims taken from the dead dispatcher before their lease expired"),
        ];
        for (count, what) in checks {
            if count > 0 {
                failures.push(format!("{count} {what}"));
            }
        }
        // One dispatcher was killed, sending one SMS at a time: at most that one goes twice.
        if self.sms_sent_twice > 1 {
            failures
                .push(format!("{} SMS sent twice; at most the one in flight at the kill may be", self.sms_sent_twice));
        }
        if self.claims_orphaned == 0 {
            failures.push("the killed dispatcher held no claims: the lease takeover was not exercised".into());
        } else if self.claims_taken_over_after_lease != self.claims_orphaned {
            failures.push(format!(
                "{} of {} claims of the dead dispatcher were not sent by the survivor",
                self.claims_orphaned - self.claims_taken_over_after_lease,
                self.claims_orphaned
            ));
        }
        failures
    }

    fn table(&self) -> String {
        let wake = self.wake_ms.iter().map(u128::to_string).collect::<Vec<_>>().join(", ");
        let rows = [
            ("Order acknowledged to SMS at the provider, dispatcher polling every 30 s (ms, per probe)", wake),
            ("Orders sent (each with an Idempotency-Key)", self.orders_sent.to_string()),
            ("Requests, with retries", self.requests_sent.to_string()),
            ("Acknowledged (2xx)", self.acknowledged.to_string()),
            ("Keys retried on the surviving API process", self.retried_on_survivor.to_string()),
            ("Acknowledged but missing", self.acknowledged_missing.to_string()),
            ("Orders stored twice for one key", self.stored_twice.to_string()),
            ("Orders without exactly one SMS", self.orders_without_one_sms.to_string()),
            ("SMS at the provider", self.sms_at_provider.to_string()),
            ("SMS sent twice", self.sms_sent_twice.to_string()),
            ("SMS never sent", self.sms_missing.to_string()),
            ("Claims held by the killed dispatcher", self.claims_orphaned.to_string()),
            ("... sent by the survivor after their lease", self.claims_taken_over_after_lease.to_string()),
            ("... taken before their lease expired", self.claims_taken_over_early.to_string()),
            ("Duration (s)", self.seconds.to_string()),
        ];
        let mut table = String::from("| Figure | Value |\n|---|---|\n");
        for (name, value) in rows {
            table.push_str(&format!("| {name} | {value} |\n"));
        }
        table
    }
}

struct Cluster {
    binary: PathBuf,
    dir: PathBuf,
    database_url: String,
    sms_url: String,
}

/// A started API process: its port and its own dev token (the dev issuer is per process).
struct Api {
    port: u16,
    token: String,
    process: Option<Server>,
}

impl Api {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Cluster {
    fn command(&self, name: &str, port: u16) -> Command {
        let mut command = orderdesk_command(&self.binary, &self.dir, port, &self.database_url);
        command
            // The processes read their own log lines (readiness, wake-ups): the default filter.
            .env_remove("ORDERDESK_LOG__FILTER")
            .env("ORDERDESK_SERVER__DATA_DIR", self.dir.join(format!("data-{name}")))
            .env("ORDERDESK_DATABASE__MIGRATE_ON_START", "false")
            .env("ORDERDESK_SMS__PROVIDER", "africastalking")
            .env("ORDERDESK_SMS__AFRICASTALKING__BASE_URL", &self.sms_url)
            .env("ORDERDESK_SMS__AFRICASTALKING__API_KEY", "scale-test-key")
            .env("ORDERDESK_SMS__AFRICASTALKING__USERNAME", "sandbox")
            .env("ORDERDESK_SMS__INITIAL_BACKOFF_MS", "200")
            .env("ORDERDESK_SMS__REQUEST_TIMEOUT_MS", "3000")
            .env("ORDERDESK_SMS__LEASE_SECONDS", LEASE_SECONDS.to_string());
        command
    }

    fn spawn(&self, name: &str, mut command: Command) -> anyhow::Result<Server> {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log")))?;
        let child = command.stdout(Stdio::from(log.try_clone()?)).stderr(Stdio::from(log)).spawn()?;
        Ok(Server { child })
    }

    fn migrate(&self) -> anyhow::Result<()> {
        let output = self.command("migrate", 0).arg("migrate").output()?;
        ensure!(output.status.success(), "orderdesk migrate failed: {}", String::from_utf8_lossy(&output.stderr));
        Ok(())
    }

    fn api(&self, name: &str) -> anyhow::Result<Api> {
        let port = free_port()?;
        let mut command = self.command(name, port);
        command.env("ORDERDESK_SMS__DISPATCHER", "false").env("ORDERDESK_LOG__FILTER", "warn");
        let process = self.spawn(name, command)?;
        let client = http_client()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client.get(format!("http://127.0.0.1:{port}/readyz")).send();
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            ensure!(Instant::now() < deadline, "{name} did not become ready; see {name}.log");
            std::thread::sleep(Duration::from_millis(100));
        }
        let output = self.command(name, port).args(["token", "--subject", "scale-test"]).output()?;
        ensure!(output.status.success(), "orderdesk token failed: {}", String::from_utf8_lossy(&output.stderr));
        let token = String::from_utf8(output.stdout)?.lines().last().context("no token")?.to_owned();
        Ok(Api { port, token, process: Some(process) })
    }

    /// Starts `orderdesk dispatch` and waits until it is ready and listening.
    fn dispatcher(&self, name: &str, poll_ms: &str) -> anyhow::Result<Server> {
        let mut command = self.command(name, 0);
        command.arg("dispatch").env("ORDERDESK_SMS__POLL_INTERVAL_MS", poll_ms).env("ORDERDESK_LOG__FILTER", "info");
        let process = self.spawn(name, command)?;
        let log = self.dir.join(format!("{name}.log"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("orderdesk dispatcher ready") && text.contains("outbox listener ready") {
                return Ok(process);
            }
            ensure!(Instant::now() < deadline, "{name} did not become ready; see {}", log.display());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn query(&self, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let output =
            Command::new("psql").args([&self.database_url, "-v", "ON_ERROR_STOP=1", "-AtF|", "-c", sql]).output()?;
        ensure!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
        Ok(String::from_utf8(output.stdout)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect())
    }
}

fn exercise(cluster: &Cluster, fake: &FakeSmsProvider) -> anyhow::Result<Figures> {
    let started = Instant::now();
    cluster.migrate()?;
    let mut apis = [cluster.api("api-a")?, cluster.api("api-b")?];
    let client = http_client()?;
    let customer: Value = client
        .post(format!("{}/api/v1/customers", apis[0].base()))
        .bearer_auth(&apis[0].token)
        .json(&json!({"name": "Scale Test", "code": "SCALE-01", "phone": "+254711000002"}))
        .send()?
        .error_for_status()?
        .json()?;
    let customer_id = customer["id"].as_str().context("customer without id")?.to_owned();

    // LISTEN/NOTIFY: only a notification can wake this dispatcher within the limit.
    let first = cluster.dispatcher("dispatch-1", SLOW_POLL_MS)?;
    let first_pid = first.child.id();
    let mut figures = Figures::default();
    for probe in 0..WAKE_PROBES {
        let api = &apis[probe % 2];
        let body = json!({"customer_id": customer_id, "item": format!("wake-{probe}"), "amount": "1.00"});
        let order: Value = client
            .post(format!("{}/api/v1/orders", api.base()))
            .bearer_auth(&api.token)
            .json(&body)
            .send()?
            .error_for_status()?
            .json()?;
        // From the acknowledgement: the order and its SMS are committed, NOTIFY has fired.
        let sent = Instant::now();
        let reference = order["reference"].as_str().context("order without reference")?.to_owned();
        while !fake.messages().iter().any(|m| mentions_reference(m, &reference)) {
            ensure!(sent.elapsed() < Duration::from_secs(40), "the wake-up probe's SMS never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
        figures.wake_ms.push(sent.elapsed().as_millis());
    }
    println!("wake-up latency with a 30 s poll interval: {:?} ms", figures.wake_ms);
    let second = cluster.dispatcher("dispatch-2", "1000")?;

    // Load over both API processes; SIGKILL one API process and the first dispatcher.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let targets: Arc<Vec<(String, String)>> = Arc::new(apis.iter().map(|a| (a.base(), a.token.clone())).collect());
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (acknowledged, requests, targets, customer_id) =
                (acknowledged.clone(), requests.clone(), targets.clone(), customer_id.clone());
            std::thread::spawn(move || worker(w, &targets, &customer_id, &acknowledged, &requests))
        })
        .collect();
    let load = Instant::now();
    while acknowledged.load(Ordering::SeqCst) < KILL_API_AT && load.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(2));
    }
    apis[0].process = None; // SIGKILL
    println!("api-a killed at {} acknowledged", acknowledged.load(Ordering::SeqCst));
    while acknowledged.load(Ordering::SeqCst) < KILL_DISPATCHER_AT && load.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    // Kill it while it holds claims, so the takeover is exercised (bounded wait).
    let holding = format!(
        "SELECT count(*) FROM notifications WHERE status = 'sending' AND lease_owner LIKE 'orderdesk-{first_pid}-%'"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.query(&holding)?.first().and_then(|row| row.first()).is_none_or(|n| n == "0")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(first); // SIGKILL
    let killed_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    // A commit the dead process had already sent still completes: read its claims after.
    std::thread::sleep(Duration::from_millis(500));
    let orphaned = cluster.query(&format!(
        "SELECT id, extract(epoch FROM lease_until) FROM notifications \
         WHERE status = 'sending' AND lease_owner LIKE 'orderdesk-{first_pid}-%'"
    ))?;
    println!(
        "dispatch-1 killed at {} acknowledged, holding {} claims",
        acknowledged.load(Ordering::SeqCst),
        orphaned.len()
    );
    let mut sent: Vec<Sent> = Vec::new();
    for worker in workers {
        sent.extend(worker.join().map_err(|_| anyhow::anyhow!("a load worker panicked"))??);
    }

    // Wait for the outbox to drain (the orphans come back after their lease).
    let deadline = Instant::now() + SMS_WAIT;
    let stored = loop {
        let stored = cluster.query(
            "SELECT o.id, o.item, count(n.id), o.reference FROM orders o LEFT JOIN notifications n ON n.order_id = o.id \
             GROUP BY o.id, o.item, o.reference",
        )?;
        let messages = fake.messages();
        let missing = stored.iter().filter(|row| !messages.iter().any(|m| mentions_reference(m, &row[3]))).count();
        if missing == 0 || Instant::now() > deadline {
            break stored;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    drop(second);

    figures.orders_sent = sent.len();
    figures.requests_sent = requests.load(Ordering::SeqCst) + WAKE_PROBES + 1;
    figures.retried_on_survivor = sent.iter().filter(|s| s.retried_elsewhere).count();
    let mut per_item: HashMap<&str, Vec<&str>> = HashMap::new();
    for row in &stored {
        per_item.entry(row[1].as_str()).or_default().push(row[0].as_str());
    }
    let ids: HashSet<&str> = stored.iter().map(|row| row[0].as_str()).collect();
    for order in &sent {
        let acked: HashSet<&str> = order.acknowledged.iter().map(String::as_str).collect();
        figures.acknowledged += usize::from(!acked.is_empty());
        figures.acknowledged_missing += acked.iter().filter(|id| !ids.contains(*id)).count();
        let copies = per_item.get(order.marker.as_str()).map_or(0, Vec::len);
        figures.stored_twice += usize::from(copies > 1 || acked.len() > 1);
    }
    figures.orders_without_one_sms = stored.iter().filter(|row| row[2] != "1").count();
    let messages = fake.messages();
    for row in &stored {
        let copies = messages.iter().filter(|m| mentions_reference(m, &row[3])).count();
        figures.sms_at_provider += usize::from(copies > 0);
        figures.sms_sent_twice += usize::from(copies > 1);
        figures.sms_missing += usize::from(copies == 0);
    }

    // The dead dispatcher's claims: sent by the survivor, not before their lease ran out.
    figures.claims_orphaned = orphaned.len();
    for claim in &orphaned {
        let lease_until: f64 = claim[1].parse().context("lease_until")?;
        let now = cluster.query(&format!(
            "SELECT status, coalesce(extract(epoch FROM sent_at), 0) FROM notifications WHERE id = '{}'",
            claim[0]
        ))?;
        let Some(row) = now.first() else { continue };
        let sent_at: f64 = row[1].parse().unwrap_or(0.0);
        if row[0] == "sent" && sent_at >= lease_until {
            figures.claims_taken_over_after_lease += 1;
        } else if row[0] == "sent" {
            figures.claims_taken_over_early += 1;
        }
    }
    if let Some(latest) = orphaned.iter().filter_map(|c| c[1].parse::<f64>().ok()).reduce(f64::max) {
        println!("the last orphaned lease ran out {:.1} s after the kill", latest - killed_at);
    }
    figures.seconds = started.elapsed().as_secs();
    Ok(figures)
}

struct Sent {
    marker: String,
    /// Order ids from 2xx answers (a replay repeats the first one).
    acknowledged: Vec<String>,
    /// The key was sent again to the other API process after a failed request.
    retried_elsewhere: bool,
}

/// One load worker: each order has a key; a request that fails is retried with the same key
/// on the other API process (the survivor once one is dead).
fn worker(
    w: usize,
    targets: &[(String, String)],
    customer_id: &str,
    acknowledged: &AtomicUsize,
    requests: &AtomicUsize,
) -> anyhow::Result<Vec<Sent>> {
    let client = http_client()?;
    let run = std::process::id();
    let mut sent = Vec::new();
    for i in 0..ORDERS_PER_WORKER {
        let marker = format!("scale-{run}-w{w}-{i}");
        let key = format!("key-{marker}");
        let body = json!({"customer_id": customer_id, "item": marker, "amount": "100.00"});
        let mut order = Sent { marker, acknowledged: Vec::new(), retried_elsewhere: false };
        let mut target = (w + i) % targets.len();
        for attempt in 0..6 {
            let (base, token) = &targets[target];
            requests.fetch_add(1, Ordering::SeqCst);
            let answer = client
                .post(format!("{base}/api/v1/orders"))
                .bearer_auth(token)
                .header("idempotency-key", &key)
                .json(&body)
                .send();
            match answer {
                Ok(response) if response.status().is_success() => {
                    let created: Value = response.json()?;
                    if let Some(id) = created["id"].as_str() {
                        order.acknowledged.push(id.to_owned());
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                    break;
                }
                // 409 (the same key still in progress) or 5xx: the same key again, shortly.
                Ok(_) => std::thread::sleep(Duration::from_millis(100 * (attempt + 1))),
                // No answer: that process is gone; the key goes to the other one.
                Err(_) => {
                    target = (target + 1) % targets.len();
                    order.retried_elsewhere = true;
                }
            }
        }
        sent.push(order);
    }
    Ok(sent)
}

fn write_figures(path: &Path, figures: &Figures) -> anyhow::Result<()> {
    crate::support::write_figures(path, "scale-test", &figures.table(), Some("Scale-out test: figures of the last run"))
}

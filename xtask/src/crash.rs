//! `cargo xtask crash-test [--release]`: the server under concurrent order creation is killed with
//! SIGKILL and restarted on the same database (SQLite, and PostgreSQL when
//! `ORDERDESK_TEST_POSTGRES_URL` is set); then no acknowledged order may be missing, each order
//! has one SMS and the SMS reach a fake Africa's Talking, and no Idempotency-Key made two orders.
//! Only 127.0.0.1 is contacted; every loop is bounded.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::support::{
    Build, FakeSmsProvider, Server, TempDatabase, free_port, http_client, mentions_reference, orderdesk_command,
    server_binary,
};

const WORKERS: usize = 8;
const REQUESTS_PER_WORKER: usize = 150;
/// The server is killed once this many orders were acknowledged, or after `KILL_AFTER`.
const KILL_AT_ACKNOWLEDGED: usize = 200;
const KILL_AFTER: Duration = Duration::from_secs(20);
/// The dead process's SMS leases must expire before another process sends them.
const LEASE_SECONDS: &str = "6";
const SMS_WAIT: Duration = Duration::from_secs(60);

/// What one run found.
#[derive(Debug, Default)]
struct Figures {
    backend: String,
    idempotency_supported: bool,
    orders_sent: usize,
    requests_sent: usize,
    acknowledged: usize,
    found_after_crash: usize,
    unacknowledged_but_stored: usize,
    acknowledged_missing: usize,
    orders_without_one_notification: usize,
    sms_sent: usize,
    sms_missing: usize,
    sms_sent_twice: usize,
    duplicate_orders_per_key: usize,
    replays: usize,
}

impl Figures {
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let checks = [
            (self.acknowledged_missing, "acknowledged orders missing after the crash"),
            (self.orders_without_one_notification, "orders without exactly one notification"),
            (self.sms_missing, "SMS never reached the provider"),
        ];
        for (count, what) in checks {
            if count > 0 {
                failures.push(format!("{}: {count} {what}", self.backend));
            }
        }
        if self.idempotency_supported && self.duplicate_orders_per_key > 0 {
            failures
                .push(format!("{}: {} idempotency keys made two orders", self.backend, self.duplicate_orders_per_key));
        }
        failures
    }

    fn table_row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.backend,
            self.orders_sent,
            self.requests_sent,
            self.acknowledged,
            self.found_after_crash,
            self.unacknowledged_but_stored,
            self.acknowledged_missing,
            self.orders_without_one_notification,
            self.sms_sent,
            self.sms_sent_twice,
            if self.idempotency_supported {
                format!("{} ({} replays)", self.duplicate_orders_per_key, self.replays)
            } else {
                format!("{} (no Idempotency-Key support)", self.duplicate_orders_per_key)
            },
            self.sms_missing,
        )
    }
}

pub fn run(root: &Path, build: Build) -> anyhow::Result<()> {
    let binary = server_binary(root, build)?;

    let mut all = Vec::new();
    let scratch = std::env::temp_dir().join(format!("orderdesk-crash-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let sqlite = format!("sqlite://{}", scratch.join("sqlite/orderdesk.db").display());
    std::fs::create_dir_all(scratch.join("sqlite"))?;
    all.push(run_once(&binary, "SQLite", &sqlite, &scratch.join("sqlite"))?);
    match std::env::var("ORDERDESK_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let database = TempDatabase::create(&admin_url, "crash")?;
            std::fs::create_dir_all(scratch.join("postgres"))?;
            all.push(run_once(&binary, "PostgreSQL", &database.url(), &scratch.join("postgres"))?);
        }
        _ => println!("note: PostgreSQL crash test skipped (ORDERDESK_TEST_POSTGRES_URL is not set)"),
    }
    let _ = std::fs::remove_dir_all(&scratch);

    write_figures(&root.join("docs/reliability.md"), &all)?;
    let failures: Vec<String> = all.iter().flat_map(Figures::failures).collect();
    ensure!(failures.is_empty(), "crash test failed:\n  {}", failures.join("\n  "));
    println!("crash test passed");
    Ok(())
}

struct Setup<'a> {
    binary: &'a Path,
    dir: &'a Path,
    port: u16,
    database_url: &'a str,
    sms_url: String,
}

impl Setup<'_> {
    fn command(&self) -> Command {
        let mut command = orderdesk_command(self.binary, self.dir, self.port, self.database_url);
        command
            .env("ORDERDESK_SMS__PROVIDER", "africastalking")
            .env("ORDERDESK_SMS__AFRICASTALKING__BASE_URL", &self.sms_url)
            .env("ORDERDESK_SMS__AFRICASTALKING__API_KEY", "crash-test-key")
            .env("ORDERDESK_SMS__AFRICASTALKING__USERNAME", "sandbox")
            .env("ORDERDESK_SMS__POLL_INTERVAL_MS", "200")
            .env("ORDERDESK_SMS__INITIAL_BACKOFF_MS", "200")
            .env("ORDERDESK_SMS__REQUEST_TIMEOUT_MS", "3000")
            .env("ORDERDESK_SMS__LEASE_SECONDS", LEASE_SECONDS);
        command
    }

    fn start(&self, log_name: &str) -> anyhow::Result<Server> {
        let log = std::fs::File::create(self.dir.join(log_name))?;
        let child = self.command().stdout(Stdio::from(log.try_clone()?)).stderr(Stdio::from(log)).spawn()?;
        let server = Server { child };
        let client = http_client()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = client.get(format!("{}/readyz", self.base())).send();
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the server did not become ready; see {}", self.dir.join(log_name).display())
    }

    fn token(&self) -> anyhow::Result<String> {
        let output = self.command().args(["token", "--expires-in", "3600", "--subject", "crash-test"]).output()?;
        ensure!(output.status.success(), "orderdesk token failed: {}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8(output.stdout)?;
        stdout.lines().last().map(str::to_owned).context("orderdesk token printed nothing")
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// One logical order: its marker (in `item`), its key if any, and what the server said.
#[derive(Debug, Clone)]
struct Sent {
    marker: String,
    key: Option<String>,
    body: Value,
    /// Order ids from 2xx answers (a replay repeats the first one).
    acknowledged: Vec<String>,
    /// A request got no answer (the server died under it).
    unanswered: bool,
    /// Answers marked `Idempotent-Replayed: true`.
    replays: usize,
}

fn run_once(binary: &Path, backend: &str, database_url: &str, dir: &Path) -> anyhow::Result<Figures> {
    println!("== crash test on {backend}");
    let fake = FakeSmsProvider::start()?;
    let setup = Setup { binary, dir, port: free_port()?, database_url, sms_url: fake.url() };
    let server = setup.start("first.log")?;
    let token = setup.token()?;
    let client = http_client()?;
    let auth = format!("Bearer {token}");
    let customer: Value = client
        .post(format!("{}/api/v1/customers", setup.base()))
        .header("authorization", &auth)
        .json(&json!({"name": "Crash Test", "code": "CRASH-01", "phone": "+254711000001"}))
        .send()?
        .error_for_status()?
        .json()?;
    let customer_id = customer["id"].as_str().context("customer without id")?.to_owned();
    let idempotency_supported = probe_idempotency(&client, &setup.base(), &auth, &customer_id)?;
    if !idempotency_supported {
        println!("warning: the server does not replay Idempotency-Key requests; duplicates are reported, not failed");
    }

    // Load, and SIGKILL in the middle of it.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (stop, acknowledged, requests) = (stop.clone(), acknowledged.clone(), requests.clone());
            let (base, auth, customer_id) = (setup.base(), auth.clone(), customer_id.clone());
            std::thread::spawn(move || worker(w, &base, &auth, &customer_id, &stop, &acknowledged, &requests))
        })
        .collect();
    let started = Instant::now();
    while acknowledged.load(Ordering::SeqCst) < KILL_AT_ACKNOWLEDGED && started.elapsed() < KILL_AFTER {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(server); // SIGKILL
    stop.store(true, Ordering::SeqCst);
    let mut sent: Vec<Sent> = Vec::new();
    for worker in workers {
        sent.extend(worker.join().map_err(|_| anyhow::anyhow!("a load worker panicked"))??);
    }
    println!("killed after {} ms, {} acknowledged", started.elapsed().as_millis(), acknowledged.load(Ordering::SeqCst));

    // Restart on the same database; clients retry their unanswered keyed requests.
    let _server = setup.start("second.log")?;
    for order in sent.iter_mut().filter(|s| s.unanswered && s.key.is_some()) {
        let answer = post_order(&client, &setup.base(), &auth, &order.body, order.key.as_deref())?;
        order.replays += usize::from(answer.replayed);
        order.acknowledged.extend(answer.order_id);
        requests.fetch_add(1, Ordering::SeqCst);
    }
    verify(&client, &setup.base(), &auth, &fake, backend, &sent, requests.load(Ordering::SeqCst))
        .map(|figures| Figures { idempotency_supported: idempotency_supported || figures.replays > 0, ..figures })
        .inspect(|figures| println!("{figures:#?}"))
}

/// Same key and body twice: supported when the second answer says it is a replay.
fn probe_idempotency(
    client: &reqwest::blocking::Client,
    base: &str,
    auth: &str,
    customer_id: &str,
) -> anyhow::Result<bool> {
    let body = json!({"customer_id": customer_id, "item": "crash-probe", "amount": "1.00"});
    let key = format!("crash-probe-{}", std::process::id());
    post_order(client, base, auth, &body, Some(&key))?;
    for _ in 0..5 {
        let retry = post_order(client, base, auth, &body, Some(&key))?;
        if retry.replayed {
            return Ok(true);
        }
        println!("idempotency probe: a retry was answered {} without Idempotent-Replayed", retry.status);
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(false)
}

struct Answer {
    status: u16,
    order_id: Option<String>,
    replayed: bool,
}

fn post_order(
    client: &reqwest::blocking::Client,
    base: &str,
    auth: &str,
    body: &Value,
    key: Option<&str>,
) -> anyhow::Result<Answer> {
    let mut request = client.post(format!("{base}/api/v1/orders")).header("authorization", auth).json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send()?;
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v.as_bytes() == b"true");
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Ok(Answer { status, order_id: None, replayed });
    }
    let order: Value = response.json()?;
    Ok(Answer { status, order_id: order["id"].as_str().map(str::to_owned), replayed })
}

/// One load worker: a third of its orders have no key, the rest a key retried once at once.
fn worker(
    w: usize,
    base: &str,
    auth: &str,
    customer_id: &str,
    stop: &AtomicBool,
    acknowledged: &AtomicUsize,
    requests: &AtomicUsize,
) -> anyhow::Result<Vec<Sent>> {
    let client = http_client()?;
    let run = std::process::id();
    let mut sent = Vec::new();
    for i in 0..REQUESTS_PER_WORKER {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let marker = format!("crash-{run}-w{w}-{i}");
        let key = (i % 3 != 0).then(|| format!("key-{marker}"));
        let body = json!({"customer_id": customer_id, "item": marker, "amount": "100.00"});
        let mut order = Sent { marker, key, body, acknowledged: Vec::new(), unanswered: false, replays: 0 };
        let attempts = if order.key.is_some() { 2 } else { 1 };
        for _ in 0..attempts {
            requests.fetch_add(1, Ordering::SeqCst);
            match post_order(&client, base, auth, &order.body, order.key.as_deref()) {
                Ok(answer) => {
                    order.replays += usize::from(answer.replayed);
                    if let Some(id) = answer.order_id {
                        if order.acknowledged.is_empty() {
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                        }
                        order.acknowledged.push(id);
                    }
                }
                Err(_) => {
                    order.unanswered = true;
                    break;
                }
            }
        }
        sent.push(order);
    }
    Ok(sent)
}

/// Every order this run stored, by id, with its item.
/// Every order as (id, item, reference).
fn list_orders(
    client: &reqwest::blocking::Client,
    base: &str,
    auth: &str,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut request = client.get(format!("{base}/api/v1/orders")).header("authorization", auth);
        request = request.query(&[("limit", "200")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor.as_str())]);
        }
        let page: Value = request.send()?.error_for_status()?.json()?;
        for order in page["items"].as_array().into_iter().flatten() {
            let text = |field: &str| order[field].as_str().unwrap_or_default().to_owned();
            orders.push((text("id"), text("item"), text("reference")));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(orders),
        }
    }
    bail!("more than 1000 pages of orders")
}

fn verify(
    client: &reqwest::blocking::Client,
    base: &str,
    auth: &str,
    fake: &FakeSmsProvider,
    backend: &str,
    sent: &[Sent],
    requests_sent: usize,
) -> anyhow::Result<Figures> {
    let stored = list_orders(client, base, auth)?;
    let mut per_marker: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut references: HashMap<&str, &str> = HashMap::new();
    for (id, item, reference) in &stored {
        per_marker.entry(item.as_str()).or_default().push(id.as_str());
        references.insert(id.as_str(), reference.as_str());
    }
    let stored_ids: std::collections::HashSet<&str> = stored.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut figures = Figures {
        backend: backend.to_owned(),
        orders_sent: sent.len(),
        requests_sent,
        replays: sent.iter().map(|s| s.replays).sum(),
        found_after_crash: sent.iter().filter(|s| per_marker.contains_key(s.marker.as_str())).count(),
        ..Figures::default()
    };
    for order in sent {
        let found = per_marker.get(order.marker.as_str()).map_or(0, Vec::len);
        let acknowledged: std::collections::BTreeSet<&str> = order.acknowledged.iter().map(String::as_str).collect();
        figures.acknowledged += usize::from(!acknowledged.is_empty());
        figures.acknowledged_missing += acknowledged.iter().filter(|id| !stored_ids.contains(*id)).count();
        figures.unacknowledged_but_stored += usize::from(acknowledged.is_empty() && found > 0);
        if found > 1 || acknowledged.len() > 1 {
            figures.duplicate_orders_per_key += 1;
        }
    }

    // Each order of this run: exactly one SMS, and it reaches the provider after the restart.
    let ours: Vec<&str> = sent.iter().filter_map(|s| per_marker.get(s.marker.as_str())).flatten().copied().collect();
    for id in &ours {
        let list: Value = client
            .get(format!("{base}/api/v1/orders/{id}/notifications"))
            .header("authorization", auth)
            .send()?
            .error_for_status()?
            .json()?;
        figures.orders_without_one_notification += usize::from(list["items"].as_array().map_or(0, Vec::len) != 1);
    }
    let deadline = Instant::now() + SMS_WAIT;
    loop {
        let messages = fake.messages();
        let mut per_reference: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &ours {
            let reference = references.get(id).copied().unwrap_or_default();
            let copies = messages.iter().filter(|m| !reference.is_empty() && mentions_reference(m, reference)).count();
            per_reference.insert(*id, copies);
        }
        figures.sms_sent = per_reference.values().filter(|&&n| n > 0).count();
        figures.sms_sent_twice = per_reference.values().filter(|&&n| n > 1).count();
        figures.sms_missing = ours.len() - figures.sms_sent;
        if figures.sms_missing == 0 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(figures)
}

fn write_figures(path: &Path, all: &[Figures]) -> anyhow::Result<()> {
    let mut section = String::from(
        "| Database | Orders sent | Requests (with retries) | Acknowledged (2xx) | Found after the crash | \
         Stored, not acknowledged | Acknowledged but missing | Orders without exactly one SMS | SMS at the provider | \
         SMS sent twice | Orders duplicated by a key | SMS never sent |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for figures in all {
        section.push_str(&figures.table_row());
        section.push('\n');
    }
    crate::support::write_figures(path, "crash-test", &section, Some("Figures of the last run"))
}

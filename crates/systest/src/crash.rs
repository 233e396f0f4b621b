//! `cargo xtask crash-test`: the server under concurrent order creation is killed with SIGKILL
//! and restarted on the same database (SQLite, and PostgreSQL when `ORDERDESK_TEST_POSTGRES_URL`
//! is set); then no acknowledged order may be missing, each order has one SMS and the SMS reach
//! the fake Africa's Talking, and no Idempotency-Key made two orders. Only 127.0.0.1 is
//! contacted; every loop is bounded.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::ensure;
use orderdesk_client::Client;
use uuid::Uuid;

use crate::api::{self, block_on};
use crate::fake::{self, FakeAfricasTalking};
use crate::load::{self, Counters};
use crate::server::{Launch, Scratch};
use crate::{Build, cargo, figures, postgres};

/// The dead process's SMS leases must expire before another process sends them.
const LEASE_SECONDS: &str = "6";
const SMS_WAIT: Duration = Duration::from_secs(60);
/// The server is killed once this many orders were acknowledged, or after `KILL_AFTER`.
const KILL_AFTER: Duration = Duration::from_secs(20);
const KILL_AT_ACKNOWLEDGED: usize = 200;
const WORKERS: usize = 8;
const REQUESTS_PER_WORKER: usize = 150;

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

    fn row(&self) -> [String; 12] {
        let keys = if self.idempotency_supported {
            format!("{} ({} replays)", self.duplicate_orders_per_key, self.replays)
        } else {
            format!("{} (no Idempotency-Key support)", self.duplicate_orders_per_key)
        };
        [
            self.backend.clone(),
            self.orders_sent.to_string(),
            self.requests_sent.to_string(),
            self.acknowledged.to_string(),
            self.found_after_crash.to_string(),
            self.unacknowledged_but_stored.to_string(),
            self.acknowledged_missing.to_string(),
            self.orders_without_one_notification.to_string(),
            self.sms_sent.to_string(),
            self.sms_sent_twice.to_string(),
            keys,
            self.sms_missing.to_string(),
        ]
    }
}

/// Runs the crash test on SQLite, and on PostgreSQL when it is configured.
pub fn run(root: &Path, build: Build) -> anyhow::Result<()> {
    let binary = cargo::server_binary(root, build)?;
    let scratch = Scratch::new("crash")?;
    let result = (|| {
        let sqlite = scratch.sub("sqlite")?;
        let url = format!("sqlite://{}", sqlite.join("orderdesk.db").display());
        let mut all = vec![run_once(&Launch::dev(&binary, &sqlite, &url), "SQLite")?];
        match postgres::admin_url() {
            Some(admin_url) => {
                let database = postgres::TempDatabase::create(&admin_url, "crash")?;
                let launch = Launch::dev(&binary, &scratch.sub("postgres")?, &database.url());
                all.push(run_once(&launch, "PostgreSQL")?);
            }
            None => println!("note: PostgreSQL crash test skipped ({} is not set)", postgres::ADMIN_URL_VAR),
        }
        Ok(all)
    })();
    let all = scratch.finish(result)?;
    let header = [
        "Database",
        "Orders sent",
        "Requests (with retries)",
        "Acknowledged (2xx)",
        "Found after the crash",
        "Stored, not acknowledged",
        "Acknowledged but missing",
        "Orders without exactly one SMS",
        "SMS at the provider",
        "SMS sent twice",
        "Orders duplicated by a key",
        "SMS never sent",
    ];
    figures::write(&cargo::target_dir(root), "crash-test", &figures::table(header, all.iter().map(Figures::row)))?;
    let failures: Vec<String> = all.iter().flat_map(Figures::failures).collect();
    ensure!(failures.is_empty(), "crash test failed:\n  {}", failures.join("\n  "));
    println!("crash test passed");
    Ok(())
}

/// One logical order: its marker (in `item`), its key if any, and what the server said.
#[derive(Debug, Clone)]
struct Sent {
    marker: String,
    key: Option<String>,
    /// Order ids from 2xx answers (a replay repeats the first one).
    acknowledged: Vec<String>,
    /// A request got no answer (the server died under it).
    unanswered: bool,
    /// Answers marked `Idempotent-Replayed: true`.
    replays: usize,
}

impl Sent {
    /// Records one answer; returns whether it acknowledged the order for the first time.
    fn record(&mut self, answer: api::Answer) -> bool {
        self.replays += usize::from(answer.replayed);
        let Some(order) = answer.order else { return false };
        self.acknowledged.push(api::id_of(&order));
        self.acknowledged.len() == 1
    }
}

/// The load: the client, the customer the orders are for, shared counters.
struct Load {
    client: Client,
    customer: Uuid,
    counters: Counters,
}

fn run_once(launch: &Launch, backend: &str) -> anyhow::Result<Figures> {
    println!("== crash test on {backend}");
    let fake = fake::start(Duration::ZERO);
    let launch =
        fake::sms_to(launch.clone(), &fake).set("sms.poll_interval_ms", "200").set("sms.lease_seconds", LEASE_SECONDS);
    let server = launch.serve("first")?;
    let client = server.client("crash-test")?;
    let customer = block_on(api::create_customer(&client, "CRASH-01", "+254711000001"))?.id;
    let idempotency_supported = probe_idempotency(&client, customer)?;
    if !idempotency_supported {
        println!("warning: the server does not replay Idempotency-Key requests; duplicates are reported, not failed");
    }

    // Load, and SIGKILL in the middle of it.
    let load = Arc::new(Load { client: client.clone(), customer, counters: Counters::default() });
    let workers = load::start(WORKERS, &load, worker);
    let started = Instant::now();
    load.counters.wait_for(KILL_AT_ACKNOWLEDGED, KILL_AFTER);
    let killed = server.kill();
    load.counters.stop.store(true, Ordering::SeqCst);
    let mut sent = load::join(workers)?;
    println!("killed after {} ms, {} acknowledged", started.elapsed().as_millis(), load.counters.acknowledged());

    // Restart on the same database and port; clients retry their unanswered keyed requests.
    let _server = killed.restart("second")?;
    for order in sent.iter_mut().filter(|s| s.unanswered && s.key.is_some()) {
        let answer = block_on(api::create_order(&client, customer, &order.marker, "100.00", order.key.as_deref()))?;
        order.record(answer);
        load.counters.requests.fetch_add(1, Ordering::SeqCst);
    }
    verify(&client, &fake, backend, &sent, load.counters.requests.load(Ordering::SeqCst))
        .map(|figures| Figures { idempotency_supported: idempotency_supported || figures.replays > 0, ..figures })
        .inspect(|figures| println!("{figures:#?}"))
}

/// Same key and body twice: supported when the second answer says it is a replay.
fn probe_idempotency(client: &Client, customer: Uuid) -> anyhow::Result<bool> {
    let key = format!("crash-probe-{}", std::process::id());
    let post = || block_on(api::create_order(client, customer, "crash-probe", "1.00", Some(&key)));
    post()?;
    for _ in 0..5 {
        let retry = post()?;
        if retry.replayed {
            return Ok(true);
        }
        println!("idempotency probe: a retry was answered {} without Idempotent-Replayed", retry.status);
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(false)
}

/// One load worker: a third of its orders have no key, the rest a key retried once at once.
fn worker(w: usize, load: &Load) -> Vec<Sent> {
    let run = std::process::id();
    let mut sent = Vec::new();
    for i in 0..REQUESTS_PER_WORKER {
        if load.counters.stop.load(Ordering::SeqCst) {
            break;
        }
        let marker = format!("crash-{run}-w{w}-{i}");
        let key = (i % 3 != 0).then(|| format!("key-{marker}"));
        let mut order = Sent { marker, key, acknowledged: Vec::new(), unanswered: false, replays: 0 };
        let attempts = if order.key.is_some() { 2 } else { 1 };
        for _ in 0..attempts {
            load.counters.requests.fetch_add(1, Ordering::SeqCst);
            let answer =
                block_on(api::create_order(&load.client, load.customer, &order.marker, "100.00", order.key.as_deref()));
            match answer {
                Ok(answer) => {
                    if order.record(answer) {
                        load.counters.acknowledged.fetch_add(1, Ordering::SeqCst);
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
    sent
}

fn verify(
    client: &Client,
    fake: &FakeAfricasTalking,
    backend: &str,
    sent: &[Sent],
    requests_sent: usize,
) -> anyhow::Result<Figures> {
    let stored = block_on(api::all_orders(client))?;
    let mut per_marker: HashMap<String, Vec<String>> = HashMap::new();
    let mut references: HashMap<String, String> = HashMap::new();
    for order in &stored {
        per_marker.entry(order.item.to_string()).or_default().push(api::id_of(order));
        references.insert(api::id_of(order), order.reference.to_string());
    }
    let stored_ids: HashSet<String> = stored.iter().map(api::id_of).collect();
    let mut figures = Figures {
        backend: backend.to_owned(),
        orders_sent: sent.len(),
        requests_sent,
        replays: sent.iter().map(|s| s.replays).sum(),
        found_after_crash: sent.iter().filter(|s| per_marker.contains_key(&s.marker)).count(),
        ..Figures::default()
    };
    for order in sent {
        let found = per_marker.get(&order.marker).map_or(0, Vec::len);
        let acknowledged: HashSet<&String> = order.acknowledged.iter().collect();
        figures.acknowledged += usize::from(!acknowledged.is_empty());
        figures.acknowledged_missing += acknowledged.iter().filter(|id| !stored_ids.contains(**id)).count();
        figures.unacknowledged_but_stored += usize::from(acknowledged.is_empty() && found > 0);
        figures.duplicate_orders_per_key += usize::from(found > 1 || acknowledged.len() > 1);
    }

    // Each order of this run: exactly one SMS, and it reaches the provider after the restart.
    let ours: Vec<&String> = sent.iter().filter_map(|s| per_marker.get(&s.marker)).flatten().collect();
    for id in &ours {
        let count = block_on(api::notification_count(client, id.parse()?))?;
        figures.orders_without_one_notification += usize::from(count != 1);
    }
    let deadline = Instant::now() + SMS_WAIT;
    loop {
        let messages = fake.messages();
        let per_order: Vec<usize> =
            ours.iter().map(|id| fake::copies(&messages, references.get(*id).map_or("", String::as_str))).collect();
        figures.sms_sent = per_order.iter().filter(|&&n| n > 0).count();
        figures.sms_sent_twice = per_order.iter().filter(|&&n| n > 1).count();
        figures.sms_missing = ours.len() - figures.sms_sent;
        if figures.sms_missing == 0 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(figures)
}

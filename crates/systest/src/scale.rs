//! `cargo xtask scale-test`: two API processes (`sms.dispatcher=false`) and `orderdesk
//! dispatch` processes on one PostgreSQL with the fake Africa's Talking. First a dispatcher
//! polling only every 30 s must send a new order's SMS within 2 s (LISTEN/NOTIFY across
//! processes); then concurrent keyed order creation is spread over both API processes, one API
//! process and one dispatcher are killed with SIGKILL mid-load, clients retry their keys on the
//! survivor, and the checks are: every acknowledged order exists once, every order's SMS reaches
//! the provider (at most the send in flight at the kill twice), and the dead dispatcher's claims
//! are sent by the survivor once their lease expired. Needs `ORDERDESK_TEST_POSTGRES_URL`;
//! skips with a note without it. Only 127.0.0.1 is contacted.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use orderdesk_client::Client;
use uuid::Uuid;

use crate::api::{self, block_on};
use crate::command::wait_until;
use crate::fake::{self, FakeAfricasTalking};
use crate::load::{self, Counters};
use crate::server::{Launch, Ready, Scratch, ServerProcess};
use crate::{Build, cargo, figures, postgres};

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
/// What `orderdesk dispatch` logs once it sends and listens.
const DISPATCHER_READY: &[&str] = &["orderdesk dispatcher ready", "outbox listener ready"];

/// Runs the scale-out test on PostgreSQL (skipped, with a note, without it).
pub fn run(root: &Path, build: Build) -> anyhow::Result<()> {
    let Some(admin_url) = postgres::admin_url() else {
        println!(
            "note: scale test skipped: {} is not set (several processes must share one PostgreSQL)",
            postgres::ADMIN_URL_VAR
        );
        return Ok(());
    };
    let binary = cargo::server_binary(root, build)?;
    let scratch = Scratch::new("scale")?;
    let database = postgres::TempDatabase::create(&admin_url, "scale")?;
    let fake = fake::start(SEND_DELAY);
    let launch = fake::sms_to(Launch::dev(&binary, &scratch.0, &database.url()), &fake)
        // The processes read their own log lines (readiness, wake-ups): the default filter.
        .unset("log.filter")
        .set("database.migrate_on_start", "false")
        .set("sms.lease_seconds", LEASE_SECONDS);
    let cluster = Cluster { launch, database_url: database.url() };
    let figures = scratch.finish(exercise(&cluster, &fake))?;
    println!("{figures:#?}");
    figures::write(&cargo::target_dir(root), "scale-test", &figures.table())?;
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
        figures::table(["Figure", "Value"], rows.map(|(name, value)| [name.to_owned(), value]))
    }
}

/// The processes' common launch, and the database they share.
struct Cluster {
    launch: Launch,
    database_url: String,
}

impl Cluster {
    fn named(&self, name: &str) -> Launch {
        self.launch.clone().set("server.data_dir", self.launch.dir().join(format!("data-{name}")).display())
    }

    /// An API process without the dispatcher, ready, with a client holding its own dev token
    /// (the dev issuer is per process).
    fn api(&self, name: &str) -> anyhow::Result<(ServerProcess, Client)> {
        let process = self.named(name).set("sms.dispatcher", "false").set("log.filter", "warn").serve(name)?;
        let client = process.client("scale-test")?;
        Ok((process, client))
    }

    /// Starts `orderdesk dispatch` and waits until it is ready and listening.
    fn dispatcher(&self, name: &str, poll_ms: &str) -> anyhow::Result<ServerProcess> {
        let launch = self.named(name).set("sms.poll_interval_ms", poll_ms).set("log.filter", "info");
        launch.spawn(name, &["dispatch"], Ready::LogLines(DISPATCHER_READY))
    }

    fn query(&self, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
        postgres::query(&self.database_url, sql)
    }
}

fn exercise(cluster: &Cluster, fake: &FakeAfricasTalking) -> anyhow::Result<Figures> {
    let started = Instant::now();
    crate::server::migrate(&cluster.launch)?;
    let (api_a, client_a) = cluster.api("api-a")?;
    let (_api_b, client_b) = cluster.api("api-b")?;
    let customer = block_on(api::create_customer(&client_a, "SCALE-01", "+254711000002"))?.id;

    // LISTEN/NOTIFY: only a notification can wake this dispatcher within the limit.
    let first = cluster.dispatcher("dispatch-1", SLOW_POLL_MS)?;
    let first_pid = first.pid();
    let mut figures = Figures::default();
    for probe in 0..WAKE_PROBES {
        let client = [&client_a, &client_b][probe % 2];
        let answer = block_on(api::create_order(client, customer, &format!("wake-{probe}"), "1.00", None))?;
        let order = api::created(answer)?;
        // From the acknowledgement: the order and its SMS are committed, NOTIFY has fired.
        let sent = Instant::now();
        let reference = order.reference.to_string();
        wait_until(Duration::from_secs(40), Duration::from_millis(5), "the wake-up probe's SMS never arrived", || {
            Ok(fake::copies(&fake.messages(), &reference) > 0)
        })?;
        figures.wake_ms.push(sent.elapsed().as_millis());
    }
    println!("wake-up latency with a 30 s poll interval: {:?} ms", figures.wake_ms);
    let second = cluster.dispatcher("dispatch-2", "1000")?;

    // Load over both API processes; SIGKILL one API process and the first dispatcher.
    let load = Arc::new(Load { targets: vec![client_a, client_b], customer, counters: Counters::default() });
    let workers = load::start(WORKERS, &load, worker);
    let counters = &load.counters;
    counters.wait_for(KILL_API_AT, Duration::from_secs(30));
    drop(api_a); // SIGKILL
    println!("api-a killed at {} acknowledged", counters.acknowledged());
    counters.wait_for(KILL_DISPATCHER_AT, Duration::from_secs(30));
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
    println!("dispatch-1 killed at {} acknowledged, holding {} claims", counters.acknowledged(), orphaned.len());
    let sent = load::join(workers)?;

    // Wait for the outbox to drain (the orphans come back after their lease).
    let deadline = Instant::now() + SMS_WAIT;
    let stored = loop {
        let stored = cluster.query(
            "SELECT o.id, o.item, count(n.id), o.reference FROM orders o LEFT JOIN notifications n ON n.order_id = o.id \
             GROUP BY o.id, o.item, o.reference",
        )?;
        let messages = fake.messages();
        let missing = stored.iter().filter(|row| fake::copies(&messages, &row[3]) == 0).count();
        if missing == 0 || Instant::now() > deadline {
            break stored;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    drop(second);

    figures.orders_sent = sent.len();
    figures.requests_sent = counters.requests.load(Ordering::SeqCst) + WAKE_PROBES + 1;
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
        let copies = fake::copies(&messages, &row[3]);
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

/// The load: a client a process, the customer, shared counters.
struct Load {
    targets: Vec<Client>,
    customer: Uuid,
    counters: Counters,
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
fn worker(w: usize, load: &Load) -> Vec<Sent> {
    let run = std::process::id();
    let mut sent = Vec::new();
    for i in 0..ORDERS_PER_WORKER {
        let marker = format!("scale-{run}-w{w}-{i}");
        let key = format!("key-{marker}");
        let mut order = Sent { marker, acknowledged: Vec::new(), retried_elsewhere: false };
        let mut target = (w + i) % load.targets.len();
        for attempt in 0..6 {
            load.counters.requests.fetch_add(1, Ordering::SeqCst);
            let client = &load.targets[target];
            match block_on(api::create_order(client, load.customer, &order.marker, "100.00", Some(&key))) {
                Ok(api::Answer { order: Some(created), .. }) => {
                    order.acknowledged.push(api::id_of(&created));
                    load.counters.acknowledged.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                // 409 (the same key still in progress) or 5xx: the same key again, shortly.
                Ok(_) => std::thread::sleep(Duration::from_millis(100 * (attempt + 1))),
                // No answer: that process is gone; the key goes to the other one.
                Err(_) => {
                    target = (target + 1) % load.targets.len();
                    order.retried_elsewhere = true;
                }
            }
        }
        sent.push(order);
    }
    sent
}

//! A load generator against a real server on loopback: SQLite in a temporary file, the dev
//! issuer, the SMS dispatcher running with the `log` provider (as a fresh clone runs).
//! Bounded: a fixed number of requests, then it stops. Run with `cargo xtask bench`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orderdesk_domain::Permission;
use orderdesk_server::settings::Settings;
use orderdesk_server::startup::{Application, dev_issuer};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const CONCURRENCY: usize = 16;
const CREATES: usize = 4_000;
const READS: usize = 8_000;

struct Report {
    name: &'static str,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Report {
    fn print(mut self) {
        self.latencies.sort();
        let at = |q: f64| self.latencies[((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1)];
        println!(
            "{:<34} {:>6} requests  {:>8.0} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms",
            self.name,
            self.latencies.len(),
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            at(0.50).as_secs_f64() * 1e3,
            at(0.95).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
        );
    }
}

async fn run<F, Fut>(name: &'static str, count: usize, request: F) -> Report
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = reqwest::Response> + Send,
{
    let request = Arc::new(request);
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let response = request(i).await;
            assert!(response.status().is_success(), "{name}: {}", response.status());
            drop(permit);
            t.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    for task in tasks {
        latencies.push(task.await.expect("request task"));
    }
    Report { name, latencies, elapsed: started.elapsed() }
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("orderdesk-load-{}", uuid::Uuid::now_v7().simple()));
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".parse().expect("address");
    settings.server.data_dir = dir.clone();
    settings.database.connection.url = format!("sqlite://{}/orderdesk.db", dir.display());
    let app = Application::build(&settings).await.expect("server starts");
    let address = app.local_addr();
    let token = dev_issuer(&settings, address)
        .expect("dev issuer")
        .mint("load", &Permission::ALL, Duration::from_secs(3600))
        .expect("token");
    tokio::spawn(app.run_until(std::future::pending()));

    let base = format!("http://{address}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().expect("client");
    let customer: Value = http
        .post(format!("{base}/api/v1/customers"))
        .bearer_auth(&token)
        .json(&json!({"name": "Load Test", "code": "LOAD", "phone": "+254712345678"}))
        .send()
        .await
        .expect("customer")
        .json()
        .await
        .expect("customer body");
    let customer_id = customer["id"].as_str().expect("id").to_owned();

    println!(
        "orderdesk load: {CONCURRENCY} concurrent clients, SQLite (WAL), dev issuer tokens, SMS dispatcher on (log)"
    );
    let (c, t, b) = (http.clone(), token.clone(), base.clone());
    let creates = run("POST /api/v1/orders", CREATES, move |i| {
        let (c, t, b, id) = (c.clone(), t.clone(), b.clone(), customer_id.clone());
        async move {
            let body = json!({"customer_id": id, "item": format!("Item {i}"), "amount": "250.50"});
            c.post(format!("{b}/api/v1/orders")).bearer_auth(t).json(&body).send().await.expect("create")
        }
    })
    .await;
    creates.print();

    let first: Value = http
        .get(format!("{base}/api/v1/orders?limit=1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("body");
    let order_id = first["items"][0]["id"].as_str().expect("order id").to_owned();
    let (c, t, b) = (http.clone(), token.clone(), base.clone());
    run("GET /api/v1/orders/{id}", READS, move |_| {
        let (c, t, b, id) = (c.clone(), t.clone(), b.clone(), order_id.clone());
        async move { c.get(format!("{b}/api/v1/orders/{id}")).bearer_auth(t).send().await.expect("get") }
    })
    .await
    .print();
    let (c, t, b) = (http.clone(), token.clone(), base.clone());
    run("GET /api/v1/orders?limit=50", READS / 4, move |_| {
        let (c, t, b) = (c.clone(), t.clone(), b.clone());
        async move { c.get(format!("{b}/api/v1/orders?limit=50")).bearer_auth(t).send().await.expect("list") }
    })
    .await
    .print();

    // Every order's SMS must have been handed to the (log) gateway.
    let deadline = Instant::now() + Duration::from_secs(60);
    let sent = loop {
        let url = format!("{base}/api/v1/orders?limit=1");
        let latest: Value = http.get(url).bearer_auth(&token).send().await.expect("list").json().await.expect("body");
        let id = latest["items"][0]["id"].as_str().expect("id");
        let sms: Value = http
            .get(format!("{base}/api/v1/orders/{id}/notifications"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("sms")
            .json()
            .await
            .expect("body");
        if sms["items"][0]["status"] == "sent" || Instant::now() > deadline {
            break sms["items"][0]["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("last order's SMS: {sent} (dispatcher drained {CREATES} SMS while serving)");
    let _ = std::fs::remove_dir_all(dir);
}

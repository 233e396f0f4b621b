//! The delivery-report webhook's secret is in its path; the server's log never shows it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &str = "Zq7secretWebhookToken42";

/// The real `orderdesk` binary, its log collected as it is written.
struct ServerProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    dir: std::path::PathBuf,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl ServerProcess {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("orderdesk-log-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_orderdesk"))
            .current_dir(&dir)
            .env_remove("RUST_LOG")
            .env("ORDERDESK_CONFIG_DIR", dir.join("no-config"))
            .env("ORDERDESK_SERVER__BIND", "127.0.0.1:0")
            .env("ORDERDESK_SERVER__DATA_DIR", dir.join("data"))
            .env("ORDERDESK_DATABASE__URL", format!("sqlite://{}", dir.join("orderdesk.db").display()))
            .env("ORDERDESK_SMS__WEBHOOK_SECRET", SECRET)
            .env("ORDERDESK_LOG__FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for output in [
            child.stdout.take().map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|e| Box::new(e) as _),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Self { child, log, dir }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (at most 60 s) for a log line matching `what`; returns the log.
    async fn wait_for_log(&self, what: impl Fn(&str) -> bool) -> String {
        for _ in 0..600 {
            let log = self.log();
            if what(&log) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server never logged what was expected:\n{}", self.log());
    }

    async fn address(&self) -> SocketAddr {
        let log = self.wait_for_log(|log| log.contains("orderdesk listening")).await;
        let line = log.lines().find(|l| l.contains("orderdesk listening")).unwrap();
        let after = line.split("\"address\":\"").nth(1).unwrap();
        after[..after.find('"').unwrap()].parse().unwrap()
    }
}

/// Sends `path` exactly as written (no client normalises it) and waits for the answer.
async fn post_raw(address: SocketAddr, path: &str) -> String {
    let body = "id=ATXid_1&status=Success&phoneNumber=%2B254711000001";
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: orderdesk\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn the_webhook_secret_never_reaches_the_log_whatever_the_path_looks_like() {
    // Arrange
    let server = ServerProcess::start();
    let address = server.address().await;
    let encoded: String = SECRET.bytes().map(|b| format!("%{b:02X}")).collect();
    let paths = [
        format!("/webhooks/africastalking/delivery-reports/{SECRET}"),
        format!("/webhooks/africastalking/delivery-reports/{SECRET}/"),
        format!("/webhooks/africastalking/delivery-reports/{SECRET}/x"),
        format!("/webhooks//africastalking//delivery-reports//{SECRET}"),
        format!("//webhooks/africastalking/delivery-reports/{SECRET}//"),
        format!("/webhooks/africastalking/delivery-reports/{encoded}"),
        format!("/webhooks/africastalking/delivery%2Dreports/{SECRET}"),
        format!("/webhooks/africastalking/delivery%2dreports/{SECRET}/"),
        format!("/WEBHOOKS/AfricasTalking/Delivery-Reports/{SECRET}"),
        format!("/webhooks/africastalking/delivery-reports%2F{SECRET}"),
        format!("/webhooks%2Fafricastalking%2Fdelivery-reports%2F{SECRET}"),
        format!("/webhooks/africastalking/{SECRET}"),
        format!("/webhooks/{SECRET}/delivery-reports"),
    ];

    // Act
    let accepted = post_raw(address, &paths[0]).await;
    assert!(accepted.starts_with("HTTP/1.1 2"), "the real route answers: {accepted}");
    for path in &paths[1..] {
        let answer = post_raw(address, path).await;
        assert!(answer.starts_with("HTTP/1.1 "), "{path}: {answer}");
    }

    // Assert
    let log = server.wait_for_log(|log| log.matches("request finished").count() >= paths.len()).await;
    assert!(log.contains("/webhooks/africastalking/delivery-reports/***"), "{log}");
    for needle in [SECRET.to_owned(), SECRET.to_ascii_lowercase(), encoded.clone(), encoded[..12].to_owned()] {
        assert!(!log.contains(&needle), "{needle:?} in the log:\n{log}");
    }
}

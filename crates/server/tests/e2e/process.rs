//! The real `orderdesk` binary as a child process, for what only a process shows: its log
//! output and its use of descriptors and CPU.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The real `orderdesk` binary, its log collected as it is written.
pub struct ServerProcess {
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
    /// Starts the server on a free loopback port with a fresh SQLite file and JSON logs,
    /// plus `env`; `limit_descriptors` runs it under `prlimit --nofile`.
    pub fn start(env: &[(&str, &str)], limit_descriptors: Option<u32>) -> Self {
        let dir = std::env::temp_dir().join(format!("orderdesk-log-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = env!("CARGO_BIN_EXE_orderdesk");
        let mut command = match limit_descriptors {
            Some(limit) => {
                let mut prlimit = Command::new("prlimit");
                prlimit.arg(format!("--nofile={limit}:{limit}")).arg(binary);
                prlimit
            }
            None => Command::new(binary),
        };
        let mut child = command
            .current_dir(&dir)
            .env_remove("RUST_LOG")
            .env_remove("ORDERDESK_CONFIG_DIR")
            .env("ORDERDESK_SERVER__BIND", "127.0.0.1:0")
            .env("ORDERDESK_SERVER__DATA_DIR", dir.join("data"))
            .env("ORDERDESK_DATABASE__URL", format!("sqlite://{}", dir.join("orderdesk.db").display()))
            .env("ORDERDESK_LOG__FORMAT", "json")
            .envs(env.iter().copied())
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (at most 60 s) for a log line matching `what`; returns the log.
    pub async fn wait_for_log(&self, what: impl Fn(&str) -> bool) -> String {
        for _ in 0..600 {
            let log = self.log();
            if what(&log) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server never logged what was expected:\n{}", self.log());
    }

    pub async fn address(&self) -> SocketAddr {
        let log = self.wait_for_log(|log| log.contains("orderdesk listening")).await;
        let line = log.lines().find(|l| l.contains("orderdesk listening")).unwrap();
        let after = line.split("\"address\":\"").nth(1).unwrap();
        after[..after.find('"').unwrap()].parse().unwrap()
    }
}

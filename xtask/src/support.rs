//! What several xtask commands share: the server binary, server processes on loopback, a fake
//! Africa's Talking, throwaway PostgreSQL databases. Only 127.0.0.1 is contacted.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::json;

/// Which build of `orderdesk` a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// The dev profile: shares the artifacts `cargo test` already built (CI's choice).
    Debug,
    /// Optimised: for figures that depend on speed (benchmarks).
    Release,
}

/// A `cargo` command in `root`, without the variables `cargo run` set for xtask itself
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...): inherited, ring's build script (which tracks
/// them) reruns, and ring and
/// everything above it (rustls, reqwest, sqlx, our crates) are rebuilt for nothing, and rebuilt
/// back by the next `cargo` run from a shell.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    let set_for_xtask = |name: &str| {
        name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name)
    };
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_for_xtask) {
            command.env_remove(name);
        }
    }
    command
}

/// Builds the server and returns the path of its binary.
///
/// The debug binary is the one `cargo test --workspace` builds (with the features its tests
/// unify), so after the test suite this is a no-op: a `cargo build --package` here would build
/// the dependency graph again with other features, and every later `cargo test` would rebuild it
/// back (CI paid both, in each system check).
pub fn server_binary(root: &Path, build: Build) -> anyhow::Result<PathBuf> {
    let args = match build {
        Build::Debug => vec!["test", "--workspace", "--no-run", "--quiet"],
        Build::Release => vec!["build", "--quiet", "--package", "orderdesk-server", "--release"],
    };
    let status = cargo(root).args(&args).status()?;
    ensure!(status.success(), "cannot build the server: cargo {}", args.join(" "));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join(if build == Build::Release { "release" } else { "debug" }).join("orderdesk"))
}

pub fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql]).output()?;
    ensure!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

/// The admin URL with its database name replaced.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// `orderdesk` as the checks run it: dev profile, built-in profiles only (`ORDERDESK_CONFIG_DIR`
/// unset), nothing inherited from `RUST_LOG` or `DATABASE_URL`, bound to 127.0.0.1:`port`, data
/// under `dir/data`, the given database, rate limiting off, JSON logs at `warn`. Callers add
/// what their check needs; a later `env` of the same name wins.
pub fn orderdesk_command(binary: &Path, dir: &Path, port: u16, database_url: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env_remove("ORDERDESK_CONFIG_DIR")
        .env("ORDERDESK_PROFILE", "dev")
        .env("ORDERDESK_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("ORDERDESK_SERVER__DATA_DIR", dir.join("data"))
        .env("ORDERDESK_DATABASE__URL", database_url)
        .env("ORDERDESK_RATE_LIMIT__ENABLED", "false")
        .env("ORDERDESK_LOG__FORMAT", "json")
        .env("ORDERDESK_LOG__FILTER", "warn");
    command
}

/// Puts `body` between `<!-- {name} figures: start -->` and `<!-- {name} figures: end -->` in the
/// document at `path`. Without the markers: appends them under `heading`, or fails when there is
/// none (the document must already say where its figures go).
pub fn write_figures(path: &Path, name: &str, body: &str, heading: Option<&str>) -> anyhow::Result<()> {
    let (start_marker, end_marker) =
        (format!("<!-- {name} figures: start -->"), format!("<!-- {name} figures: end -->"));
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let generated = format!("{start_marker}\n{body}{end_marker}");
    let text = match (existing.find(&start_marker), existing.find(&end_marker), heading) {
        (Some(start), Some(end), _) if start < end => {
            format!("{}{generated}{}", &existing[..start], &existing[end + end_marker.len()..])
        }
        (_, _, Some(heading)) => format!("{existing}\n## {heading}\n\n{generated}\n"),
        (_, _, None) => bail!("{} lacks the {start_marker} / {end_marker} markers", path.display()),
    };
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// A throwaway PostgreSQL database beside the admin URL's one, dropped when this is dropped.
pub struct TempDatabase {
    admin_url: String,
    name: String,
}

impl TempDatabase {
    /// Creates `orderdesk_<purpose>_<pid>` next to the database of `admin_url`.
    pub fn create(admin_url: &str, purpose: &str) -> anyhow::Result<Self> {
        let name = format!("orderdesk_{purpose}_{}", std::process::id());
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { admin_url: admin_url.to_owned(), name })
    }

    pub fn url(&self) -> String {
        database_url(&self.admin_url, &self.name)
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let _ = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// One server process with its environment; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http_client() -> anyhow::Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder().timeout(Duration::from_secs(15)).no_proxy().build()?)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether an SMS text names the order `reference` (`ORD-1001`, from the template's
/// `{reference}`): an occurrence not followed by another digit, so `ORD-1001` is not found in a
/// text about `ORD-10010`.
pub fn mentions_reference(message: &str, reference: &str) -> bool {
    message
        .match_indices(reference)
        .any(|(at, _)| !message[at + reference.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// An Africa's Talking stand-in on 127.0.0.1: accepts every send (201, status 101) and keeps
/// each message's text.
pub struct FakeSmsProvider {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeSmsProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl FakeSmsProvider {
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with_delay(Duration::ZERO)
    }

    /// Like [`Self::start`], but each send takes `delay` (one at a time), so a dispatcher
    /// killed under load is caught holding claims.
    pub fn start_with_delay(delay: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (recorded, stopped) = (messages.clone(), stop.clone());
        std::thread::spawn(move || {
            let sequence = AtomicUsize::new(0);
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        std::thread::sleep(delay);
                        let _ = serve_send(stream, &recorded, &sequence);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Self { port, messages, stop })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// One `POST /version1/messaging` (form body), answered as the contract says; one per connection.
fn serve_send(stream: TcpStream, recorded: &Mutex<Vec<String>>, sequence: &AtomicUsize) -> anyhow::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    for _ in 0..100 {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let (status, answer) = match (request_line.starts_with("POST /version1/messaging"), form.get("message")) {
        (true, Some(message)) => {
            let number = form.get("to").cloned().unwrap_or_default();
            if let Ok(mut messages) = recorded.lock() {
                messages.push(message.clone());
            }
            let id = format!("ATXid_{:032x}", sequence.fetch_add(1, Ordering::SeqCst));
            let recipient = json!({"statusCode": 101, "number": number, "status": "Success",
                "cost": "KES 0.8000", "messageId": id, "messageParts": 1});
            let data = json!({"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: KES 0.8000",
                "Recipients": [recipient]}});
            ("201 Created", data.to_string())
        }
        _ => ("404 Not Found", "{}".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    stream.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_in_the_admin_url() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(database_url("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    }
}

#[cfg(test)]
mod reference_tests {
    use super::mentions_reference;

    #[test]
    fn a_reference_is_found_only_as_itself() {
        assert!(mentions_reference("Order ORD-1001: Tea, KES 5.00", "ORD-1001"));
        assert!(mentions_reference("ORD-1001", "ORD-1001"));
        assert!(!mentions_reference("Order ORD-10010: Tea", "ORD-1001"));
        assert!(mentions_reference("ORD-10010 then ORD-1001.", "ORD-1001"));
        assert!(!mentions_reference("Order ORD-1002: Tea", "ORD-1001"));
    }
}

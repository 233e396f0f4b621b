//! The bare reference (xtask/bench/reference, docs/benchmarks.md): orderdesk's SQL for get
//! order, list orders and create order behind a static bearer check and nothing else. Built
//! as its own workspace, started on the database orderdesk seeded, with orderdesk's pool size,
//! token and list-cursor secret; checked to answer with orderdesk's JSON before it is measured.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use orderdesk_client::reqwest;

use crate::api::{self, block_on};
use crate::cargo::{self, cargo};
use crate::command::wait_until;
use crate::server::{Launch, READY_WITHIN, free_port};

/// Builds the reference (release, its own Cargo.lock) under `<target>/reference`; returns
/// its binary.
pub(crate) fn build(root: &Path) -> anyhow::Result<PathBuf> {
    let manifest = root.join("xtask/bench/reference/Cargo.toml");
    let target = cargo::target_dir(root).join("reference");
    let status = cargo(root)
        .args(["build", "--quiet", "--release", "--locked", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .status()?;
    ensure!(status.success(), "cannot build the bare reference ({})", manifest.display());
    Ok(target.join("release").join("reference"))
}

/// The reference's arguments to serve on `port` as orderdesk's `launch` does (its
/// `database.max_connections` and its data directory's list-cursor secret), and that pool size.
pub(crate) fn arguments(
    launch: &Launch,
    database_url: &str,
    token: &str,
    port: u16,
) -> anyhow::Result<(Vec<std::ffi::OsString>, u32)> {
    let pool = pool_size(&launch.run(&["config"])?).context("no database.max_connections in `orderdesk config`")?;
    let data_dir = launch.get("server.data_dir").context("the bench launch sets server.data_dir")?;
    let args = [
        "--database-url",
        database_url,
        "--token",
        token,
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--max-connections",
        &pool.to_string(),
        "--cursor-secret-file",
    ]
    .map(std::ffi::OsString::from)
    .into_iter()
    .chain([Path::new(data_dir).join("cookie-secret").into_os_string()])
    .collect();
    Ok((args, pool))
}

/// The running reference; killed when dropped.
pub(super) struct Reference {
    child: Child,
    base_url: String,
}

impl Reference {
    /// Starts `binary` on `database_url` with the settings orderdesk's `launch` runs with: its
    /// `database.max_connections` and its data directory's list-cursor secret. Logs to
    /// `dir/reference.log`; ready once its port accepts connections (it binds after connecting
    /// its pool). `framework`: `axum` (every route), `poem` or `poem-openapi` (get by id only,
    /// the design card's stack bare).
    pub(super) fn start(
        binary: &Path,
        launch: &Launch,
        database_url: &str,
        token: &str,
        framework: &str,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log_path = launch.dir().join(format!("reference-{framework}.log"));
        let log = std::fs::File::create(&log_path)?;
        let (args, pool) = arguments(launch, database_url, token, port)?;
        let child = Command::new(binary)
            .args(args)
            .args(["--framework", framework])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut reference = Self { child, base_url: format!("http://127.0.0.1:{port}") };
        let failed = format!("the bare reference did not start; see {}", log_path.display());
        wait_until(READY_WITHIN, Duration::from_millis(20), failed, || {
            if let Some(status) = reference.child.try_wait()? {
                bail!("the bare reference exited with {status}; see {}", log_path.display());
            }
            Ok(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
        })?;
        println!("bare reference ({framework}): pool of {pool} connections, {}", reference.base_url);
        Ok(reference)
    }

    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `max_connections` of the `[database]` table in `orderdesk config`'s output.
fn pool_size(config: &str) -> Option<u32> {
    let database = config.split("\n[database]\n").nth(1)?;
    let table = database.split("\n[").next()?;
    table.lines().find_map(|line| line.strip_prefix("max_connections = ")?.trim().parse().ok())
}

/// One answer: status, `ETag`, `Location` and body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    etag: Option<String>,
    location: Option<String>,
    body: String,
}

async fn answer(request: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
    let response = request.send().await?;
    let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (etag, location) = (header(reqwest::header::ETAG), header(reqwest::header::LOCATION));
    Ok(Answer { status: response.status().as_u16(), etag, location, body: response.text().await? })
}

/// Fails unless `GET path` answers 200 from orderdesk and the same status, `ETag` and body from
/// the reference at `bare`.
fn same_get(http: &reqwest::Client, orderdesk: &str, bare: &str, path: &str) -> anyhow::Result<()> {
    let get = |base: &str| block_on(answer(http.get(format!("{base}{path}"))));
    let (ours, theirs) = (get(orderdesk)?, get(bare)?);
    ensure!(ours.status == 200, "orderdesk answered GET {path} with {}", ours.status);
    ensure!(
        ours == theirs,
        "GET {path}: the reference at {bare} answers\n{theirs:?}\nwhere orderdesk answers\n{ours:?}"
    );
    Ok(())
}

/// Fails unless the reference's get-by-id variant at `variant` (`--framework poem` or
/// `poem-openapi`) answers one order as orderdesk does: status, `ETag` and body.
pub(super) fn check_same_get(orderdesk: &str, variant: &str, token: &str, order: &str) -> anyhow::Result<()> {
    same_get(&api::http_builder(token)?.build()?, orderdesk, variant, &format!("/api/v1/orders/{order}"))
}

/// Fails unless the reference answers as orderdesk does, byte for byte: the same order (status,
/// `ETag`, body), the newest 50 (with the same `next_cursor`), and an order the reference
/// creates (201, `Location`, `ETag`) is the one orderdesk then reads.
pub(super) fn check_same_json(
    orderdesk: &str,
    bare: &str,
    token: &str,
    order: &str,
    customer: &str,
) -> anyhow::Result<()> {
    let http = api::http_builder(token)?.build()?;
    let get = |base: &str, path: &str| block_on(answer(http.get(format!("{base}{path}"))));
    for path in [format!("/api/v1/orders/{order}"), "/api/v1/orders?limit=50".to_owned()] {
        same_get(&http, orderdesk, bare, &path)?;
    }
    let body = serde_json::json!({"customer_id": customer, "item": "Reference check", "amount": "250.50"});
    let created = block_on(answer(http.post(format!("{bare}/api/v1/orders")).json(&body)))?;
    ensure!(created.status == 201, "the bare reference answered POST /api/v1/orders with {created:?}");
    let location = created.location.as_deref().context("no Location from the bare reference")?;
    let read = get(orderdesk, location)?;
    ensure!(
        (read.etag.as_deref(), read.body.as_str()) == (created.etag.as_deref(), created.body.as_str()),
        "the order the bare reference created reads back from orderdesk as\n{read:?}\nnot as created\n{created:?}"
    );
    println!("bare reference: same JSON as orderdesk (get, list 50, create read back)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_is_read_from_the_database_table() {
        let config = "profile = \"dev\"\n\n[server]\nmax_connections = 1024\n\n[database]\nurl = \"x\"\n\
                      max_connections = 8\nacquire_timeout_ms = 5000\n\n[auth]\nissuer = \"\"\n";
        assert_eq!(pool_size(config), Some(8));
        assert_eq!(pool_size("[server]\nmax_connections = 1024\n"), None);
        assert_eq!(pool_size("x\n[database]\nurl = \"x\"\n\n[auth]\nmax_connections = 3\n"), None);
    }
}

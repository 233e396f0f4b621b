//! `cargo xtask clients`: regenerates the Rust and TypeScript clients from `docs/openapi.json`
//! and runs each one's life-cycle test, then the Postman collection (`docs/postman/`, with
//! newman), against one real server (debug build, SQLite, the `log` SMS provider, rate limit
//! off, a dev token). Only 127.0.0.1 is contacted, apart from the npm registry for `npm ci`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use serde_json::Value;

use crate::postman;
use crate::support::{Build, Server, cargo, free_port, http_client, orderdesk_command, server_binary};

/// The Rust life cycle: a module of the server's end-to-end tests, pointed at our server.
const RUST_TEST: &str = "clients::the_generated_rust_client_drives_the_whole_life_cycle";

pub fn run(root: &Path) -> anyhow::Result<()> {
    let typescript = root.join("xtask/clients/typescript");
    let started = Instant::now();

    println!("== Rust client: generate and build (orderdesk-client, e2e test)");
    // Exactly `cargo test --workspace`'s build (no `--test e2e`: fewer targets unify other
    // features and rebuild half the graph), so CI reuses its artifacts.
    let status = cargo(root).args(["test", "--workspace", "--no-run", "--quiet"]).status()?;
    ensure!(status.success(), "cannot generate or build the Rust client (orderdesk-client) and its test");

    println!("== TypeScript client: npm ci, openapi-typescript, tsc");
    for (what, args) in [
        ("npm ci", &["ci", "--no-audit", "--no-fund", "--loglevel=error"][..]),
        ("openapi-typescript", &["run", "--silent", "generate"][..]),
        ("tsc", &["run", "--silent", "build"][..]),
    ] {
        run_quietly(Command::new("npm").current_dir(&typescript).args(args), what)?;
    }

    println!("== Postman collection: follows docs/openapi.json; npm ci (newman)");
    let requests = postman::check_files(root)?;
    run_quietly(
        Command::new("npm").current_dir(root.join("xtask/postman")).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]),
        "npm ci (newman)",
    )?;

    println!("== server: debug build on SQLite, log SMS provider, rate limit off");
    let binary = server_binary(root, Build::Debug)?;
    let scratch = std::env::temp_dir().join(format!("orderdesk-clients-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let result = run_against_server(root, &binary, &scratch, &typescript, requests);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result?;
    println!(
        "clients: both generated clients passed their life cycle, and the Postman collection its run, in {}s",
        started.elapsed().as_secs()
    );
    Ok(())
}

fn run_against_server(
    root: &Path,
    binary: &Path,
    scratch: &Path,
    typescript: &Path,
    requests: usize,
) -> anyhow::Result<()> {
    let port = free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    let log_path = scratch.join("server.log");
    let server_command = || {
        let database_url = format!("sqlite://{}", scratch.join("orderdesk.db").display());
        let mut command = orderdesk_command(binary, scratch, port, &database_url);
        command.env("ORDERDESK_SMS__PROVIDER", "log").env("ORDERDESK_SMS__POLL_INTERVAL_MS", "100");
        command
    };

    let log = std::fs::File::create(&log_path)?;
    let child = server_command().stdout(Stdio::from(log.try_clone()?)).stderr(Stdio::from(log)).spawn()?;
    let _server = Server { child };
    wait_ready(&base_url).with_context(|| format!("see the server log {}", log_path.display()))?;

    let token = server_command().args(["token", "--expires-in", "3600", "--subject", "xtask-clients"]).output()?;
    ensure!(token.status.success(), "orderdesk token failed: {}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8(token.stdout)?
        .lines()
        .last()
        .map(str::to_owned)
        .context("orderdesk token printed nothing")?;

    println!("== Rust client life cycle against {base_url}");
    let rust = cargo(root)
        // Every test binary runs with the filter; only the e2e one has the test.
        .args(["test", "--workspace", "--tests", "--", RUST_TEST, "--exact"])
        .env("ORDERDESK_CLIENT_TEST_BASE_URL", &base_url)
        .env("ORDERDESK_CLIENT_TEST_TOKEN", &token)
        .output()?;
    let rust_stdout = String::from_utf8_lossy(&rust.stdout);
    ensure!(
        rust.status.success() && rust_stdout.contains("test result: ok. 1 passed"),
        "the Rust client life cycle failed (server log: {}):\n{rust_stdout}{}",
        log_path.display(),
        String::from_utf8_lossy(&rust.stderr)
    );
    println!("Rust client: 1 passed");

    println!("== TypeScript client life cycle against {base_url}");
    let status = Command::new("node")
        .current_dir(typescript)
        .arg("build/lifecycle.js")
        .env("ORDERDESK_BASE_URL", &base_url)
        .env("ORDERDESK_TOKEN", &token)
        .status()
        .context("cannot run node (Node.js 20 or later is needed)")?;
    ensure!(status.success(), "the TypeScript client life cycle failed (server log: {})", log_path.display());

    println!("== Postman collection with newman against {base_url}");
    run_newman(root, scratch, &base_url, &token, requests, &log_path)
}

/// Runs the collection with the environment's variables, `base_url` and `token` replaced by
/// ours. newman exits non-zero on any failed assertion; its JSON report must also show every
/// request sent and assertions made, none failed, so an empty run cannot pass.
fn run_newman(
    root: &Path,
    scratch: &Path,
    base_url: &str,
    token: &str,
    requests: usize,
    log_path: &Path,
) -> anyhow::Result<()> {
    let report = scratch.join("newman.json");
    let output = Command::new(root.join("xtask/postman/node_modules/.bin/newman"))
        .current_dir(root)
        .args(["run", postman::COLLECTION, "--environment", postman::ENVIRONMENT])
        .args(["--env-var", &format!("base_url={base_url}"), "--env-var", &format!("token={token}")])
        .args(["--reporters", "cli,json", "--reporter-json-export"])
        .arg(&report)
        .args(["--color", "off", "--disable-unicode", "--timeout-request", "15000"])
        .output()
        .context("cannot run newman (npm ci in xtask/postman)")?;
    let cli = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "the Postman collection failed under newman ({}; server log: {}):\n{cli}{}",
        output.status,
        log_path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report)?).context("newman's JSON report")?;
    let stat = |what: &str, field: &str| report["run"]["stats"][what][field].as_u64().unwrap_or(0);
    let (sent, assertions) = (stat("requests", "total"), stat("assertions", "total"));
    let failed = stat("requests", "failed") + stat("assertions", "failed") + stat("testScripts", "failed");
    let failures = report["run"]["failures"].as_array().map_or(0, Vec::len);
    ensure!(
        failed == 0 && failures == 0 && sent == requests as u64 && assertions >= sent,
        "newman passed, but its report does not add up: {sent} of {requests} requests, {assertions} assertions, \
         {failed} failed, {failures} failures:\n{cli}"
    );
    println!("Postman collection: {sent} requests, {assertions} assertions, 0 failed");
    Ok(())
}

/// Runs `command`, showing its output only when it fails.
fn run_quietly(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("cannot start {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn wait_ready(base_url: &str) -> anyhow::Result<()> {
    let client = http_client()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if client.get(format!("{base_url}/readyz")).send().is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server did not become ready at {base_url} within 60 s")
}

//! `cargo xtask clients`: regenerates the Rust and TypeScript clients from `docs/openapi.json`
//! and runs each one's life-cycle test, then the Postman collection (`docs/postman/`, with
//! newman), against one real server (debug build, SQLite, the `log` SMS provider, rate limit
//! off, a dev token). Only 127.0.0.1 is contacted, apart from the npm registry for `npm ci`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, ensure};
use serde_json::Value;

use crate::Build;
use crate::cargo::{self, cargo};
use crate::command::run_quietly;
use crate::postman;
use crate::server::{Launch, Scratch, ServerProcess};

/// The Rust life cycle: a module of the server's end-to-end tests, pointed at our server.
const RUST_TEST: &str = "clients::the_generated_rust_client_drives_the_whole_life_cycle";
const NPM_CI: [&str; 4] = ["ci", "--no-audit", "--no-fund", "--loglevel=error"];

/// Generates and builds the clients, then runs their life cycles and the collection.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let typescript = root.join("xtask/clients/typescript");
    let started = Instant::now();

    println!("== Rust client: generate and build (orderdesk-client, e2e test)");
    // Exactly `cargo test --workspace`'s build (no `--test e2e`: fewer targets unify other
    // features and rebuild half the graph), so CI reuses its artifacts. It is the server's too.
    let binary = cargo::server_binary(root, Build::Debug)?;

    println!("== TypeScript client: npm ci, openapi-typescript, tsc");
    for (what, args) in [
        ("npm ci", &NPM_CI[..]),
        ("openapi-typescript", &["run", "--silent", "generate"][..]),
        ("tsc", &["run", "--silent", "build"][..]),
    ] {
        run_quietly(Command::new("npm").current_dir(&typescript).args(args), what)?;
    }

    println!("== Postman collection: follows docs/openapi.json; npm ci (newman)");
    let requests = postman::check_files(root)?;
    run_quietly(Command::new("npm").current_dir(root.join("xtask/postman")).args(NPM_CI), "npm ci (newman)")?;

    println!("== server: debug build on SQLite, log SMS provider, rate limit off");
    let scratch = Scratch::new("clients")?;
    let database_url = format!("sqlite://{}", scratch.0.join("orderdesk.db").display());
    let result = Launch::dev(&binary, &scratch.0, &database_url)
        .set("sms.provider", "log")
        .set("sms.poll_interval_ms", "100")
        .serve("server")
        .and_then(|server| run_against_server(root, &server, &typescript, requests));
    scratch.finish(result)?;
    println!(
        "clients: both generated clients passed their life cycle, and the Postman collection its run, in {}s",
        started.elapsed().as_secs()
    );
    Ok(())
}

fn run_against_server(root: &Path, server: &ServerProcess, typescript: &Path, requests: usize) -> anyhow::Result<()> {
    let base_url = server.base_url();
    let log_path = server.log_path();
    let token = server.token("xtask-clients")?;

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
    run_newman(root, server.launch().dir(), &base_url, &token, requests, log_path)
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

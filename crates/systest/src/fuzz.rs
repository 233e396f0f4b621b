//! `cargo xtask fuzz-api`: a bounded schemathesis run against the debug server (SQLite, the
//! `log` SMS provider, no rate limit) with a dev token. It fails on any server error, response
//! that contradicts `/openapi.json` (status, content type, headers, body schema) or request
//! the document forbids that the server accepts. Figures go to target/systest/fuzz-api.md.
//! Only 127.0.0.1 is contacted, apart from PyPI for the first install of the pinned
//! schemathesis.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use orderdesk_client::reqwest;
use serde_json::Value;

use crate::api::{self, block_on};
use crate::command::wait_until;
use crate::server::{Launch, Scratch, ServerProcess};
use crate::{Build, cargo, figures};

/// Pinned, so a new release cannot turn CI red on its own.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Test cases per operation and phase; with the fixed seed the run takes about a minute.
const MAX_EXAMPLES: &str = "100";
const SEED: &str = "20261129";
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,negative_data_rejection";

/// Runs schemathesis against a fresh debug server.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let target = cargo::target_dir(root);
    let st = schemathesis(&target.join("fuzz-api/venv"))?;
    let binary = cargo::server_binary(root, Build::Debug)?;
    let scratch = Scratch::new("fuzz")?;
    let database_url = format!("sqlite://{}", scratch.sub("data")?.join("orderdesk.db").display());
    let result = Launch::dev(&binary, &scratch.0, &database_url)
        .set("sms.provider", "log")
        .serve("server")
        .and_then(|server| fuzz(&target, &st, &server));
    scratch.finish(result)
}

/// The `st` of a virtual environment holding the pinned schemathesis, made on first use.
fn schemathesis(venv: &Path) -> anyhow::Result<PathBuf> {
    let st = venv.join("bin/st");
    let installed = Command::new(&st).arg("--version").output().ok().filter(|o| o.status.success());
    if installed.is_some_and(|o| String::from_utf8_lossy(&o.stdout).contains(SCHEMATHESIS_VERSION)) {
        return Ok(st);
    }
    println!("installing schemathesis {SCHEMATHESIS_VERSION} into {}", venv.display());
    let status = Command::new("python3").arg("-m").arg("venv").arg("--clear").arg(venv).status()?;
    ensure!(status.success(), "python3 -m venv failed (install python3-venv)");
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}"))
        .status()?;
    ensure!(status.success(), "pip install schemathesis=={SCHEMATHESIS_VERSION} failed");
    Ok(st)
}

/// A customer and an order with a sent SMS, so the operations on one resource reach their
/// real answers (not only 404) and the notification shape is checked. Returns their ids.
fn seed(server: &ServerProcess, token: &str) -> anyhow::Result<(String, String)> {
    let client = api::client(&server.base_url(), token)?;
    let customer = block_on(api::create_customer(&client, "FUZZ-01", "+254711000001"))?;
    let order = api::created(block_on(api::create_order(&client, customer.id, "Maize flour 2kg", "250.50", None))?)?;
    wait_until(Duration::from_secs(20), Duration::from_millis(100), "the order's SMS was not sent", || {
        let list = block_on(client.list_order_notifications().id(order.id).send())
            .map_err(|e| anyhow::anyhow!("listing notifications: {e}"))?
            .into_inner();
        Ok(list.items.first().is_some_and(|n| n.status == "sent"))
    })?;
    Ok((customer.id.to_string(), order.id.to_string()))
}

fn fuzz(target: &Path, st: &Path, server: &ServerProcess) -> anyhow::Result<()> {
    let base = server.base_url();
    let dir = server.launch().dir().to_owned();
    let token = server.token("fuzz-api")?;
    let (customer, order) = seed(server, &token)?;
    // Every operation outside the webhooks must be tested (the CSV export and import included).
    let document: Value = block_on(async {
        reqwest::Client::new().get(format!("{base}/openapi.json")).send().await?.error_for_status()?.json().await
    })?;
    let operations = document["paths"]
        .as_object()
        .context("the document has no paths")?
        .iter()
        .filter(|(path, _)| !path.starts_with("/webhooks/"))
        .flat_map(|(_, item)| item.as_object().into_iter().flatten())
        .filter(|(method, _)| {
            matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch" | "head" | "options")
        })
        .count();
    let config = dir.join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[[operations]]\n\
             include-operation-id = [\"getOrder\", \"updateOrder\", \"changeOrderStatus\", \"getOrderHistory\", \"listOrderNotifications\", \"retryOrderNotification\"]\n\
             parameters = {{ id = \"{order}\" }}\n\n\
             [[operations]]\n\
             include-operation-id = [\"getCustomer\", \"updateCustomer\", \"listCustomerOrders\"]\n\
             parameters = {{ id = \"{customer}\" }}\n"
        ),
    )?;

    let args = [
        "run",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--generation-database",
        "none",
        "--exclude-path-regex",
        "^/webhooks/",
        "--no-color",
    ];
    let command = format!(
        "st --config-file schemathesis.toml {} http://127.0.0.1:PORT/openapi.json -H 'Authorization: Bearer TOKEN'",
        args.join(" ")
    );
    println!("{command}");
    let started = Instant::now();
    let output = Command::new(st)
        .current_dir(dir)
        .arg("--config-file")
        .arg(&config)
        .args(args)
        .arg(format!("{base}/openapi.json"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .output()?;
    let seconds = started.elapsed().as_secs();
    let report = String::from_utf8_lossy(&output.stdout);
    print!("{report}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let tested = figure(&report, "Tested:").context("no `Tested:` line in the schemathesis report")?;
    // "  944 generated, 3 found 8 unique failures" or "  944 generated, 944 passed"
    let generated = report
        .lines()
        .find_map(|l| l.trim().split_once(" generated").and_then(|(n, _)| n.parse::<u64>().ok()))
        .context("no `generated` line in the schemathesis report")?;
    if !output.status.success() {
        bail!("schemathesis found failures (above); the server log is {}", server.log_path().display());
    }
    ensure!(
        tested == operations as u64,
        "schemathesis tested {tested} of the document's {operations} operations outside /webhooks/"
    );
    let figures = format!(
        "Last run of `cargo xtask fuzz-api`: schemathesis {SCHEMATHESIS_VERSION}, {tested} operations, \
         {generated} test cases generated, failures: 0, {seconds} s. The command it ran:\n\n\
         ```sh\n{command}\n```\n"
    );
    figures::write(target, "fuzz-api", &figures)?;
    print!("{figures}");
    Ok(())
}

/// The number after `label` on the report's line starting with it (trimmed).
fn figure(report: &str, label: &str) -> Option<u64> {
    report
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.split('/').next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_figures_are_read() {
        let report = "Summary\n  Tested: 31/31 operations\n  944 generated, 944 passed\n";
        assert_eq!(figure(report, "Tested:"), Some(31));
        assert_eq!(figure(report, "Missing:"), None);
    }
}

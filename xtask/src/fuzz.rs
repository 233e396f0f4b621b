//! `cargo xtask fuzz-api`: a bounded schemathesis run against the debug server (SQLite, the
//! `log` SMS provider, no rate limit) with a dev token. It fails on any server error, response
//! that contradicts `/openapi.json` (status, content type, headers, body schema) or request
//! the document forbids that the server accepts. Figures go to docs/api.md. Only 127.0.0.1 is
//! contacted, apart from PyPI for the first install of the pinned schemathesis.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::support::{Build, Server, free_port, http_client, orderdesk_command, server_binary};

/// Pinned, so a new release cannot turn CI red on its own.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Test cases per operation and phase; with the fixed seed the run takes about a minute.
const MAX_EXAMPLES: &str = "100";
const SEED: &str = "20261129";
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,negative_data_rejection";

pub fn run(root: &Path) -> anyhow::Result<()> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let st = schemathesis(&target.join("fuzz-api/venv"))?;
    let binary = server_binary(root, Build::Debug)?;
    let dir = std::env::temp_dir().join(format!("orderdesk-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("data"))?;
    let result = fuzz(root, &st, &binary, &dir);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
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

fn server_command(binary: &Path, dir: &Path, port: u16) -> Command {
    let database_url = format!("sqlite://{}", dir.join("data/orderdesk.db").display());
    let mut command = orderdesk_command(binary, dir, port, &database_url);
    command.env("ORDERDESK_SMS__PROVIDER", "log");
    command
}

fn fuzz(root: &Path, st: &Path, binary: &Path, dir: &Path) -> anyhow::Result<()> {
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = server_command(binary, dir, port).stdout(Stdio::from(log.try_clone()?)).stderr(log).spawn()?;
    let _server = Server { child };
    let client = http_client()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.get(format!("{base}/readyz")).send().is_ok_and(|r| r.status().is_success()) {
        ensure!(Instant::now() < deadline, "the server did not become ready; see {}", dir.join("server.log").display());
        std::thread::sleep(Duration::from_millis(100));
    }
    let output =
        server_command(binary, dir, port).args(["token", "--expires-in", "3600", "--subject", "fuzz-api"]).output()?;
    ensure!(output.status.success(), "orderdesk token failed: {}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout)?.lines().last().context("orderdesk token printed nothing")?.to_owned();
    let auth = format!("Bearer {token}");

    // A customer and an order with a sent SMS, so the operations on one resource reach their
    // real answers (not only 404) and the notification shape is checked.
    let post = |path: &str, body: Value| -> anyhow::Result<String> {
        let created: Value = client
            .post(format!("{base}{path}"))
            .header("authorization", &auth)
            .json(&body)
            .send()?
            .error_for_status()?
            .json()?;
        created["id"].as_str().map(str::to_owned).context("created without an id")
    };
    let customer = post("/api/v1/customers", json!({"name": "Fuzz", "code": "FUZZ-01", "phone": "+254711000001"}))?;
    let order =
        post("/api/v1/orders", json!({"customer_id": customer, "item": "Maize flour 2kg", "amount": "250.50"}))?;
    let notifications = format!("{base}/api/v1/orders/{order}/notifications");
    let sent = Instant::now() + Duration::from_secs(20);
    loop {
        let list: Value =
            client.get(&notifications).header("authorization", &auth).send()?.error_for_status()?.json()?;
        if list["items"][0]["status"] == "sent" {
            break;
        }
        ensure!(Instant::now() < sent, "the order's SMS was not sent: {list}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every operation outside the webhooks must be tested (the CSV export and import included).
    let document: Value = client.get(format!("{base}/openapi.json")).send()?.error_for_status()?.json()?;
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
        .args(["-H", &format!("Authorization: {auth}")])
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
        bail!("schemathesis found failures (above); the server log is {}", dir.join("server.log").display());
    }
    ensure!(
        tested == operations as u64,
        "schemathesis tested {tested} of the document's {operations} operations outside /webhooks/"
    );
    let figures = format!(
        "Last run of `cargo xtask fuzz-api`: schemathesis {SCHEMATHESIS_VERSION}, {tested} operations, \
         {generated} test cases generated, failures: 0, {seconds} s. The command it ran:\n\n\
         ```sh\n{command}\n```"
    );
    write_figures(&root.join("docs/api.md"), &figures)?;
    println!("{figures}");
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

fn write_figures(path: &Path, figures: &str) -> anyhow::Result<()> {
    crate::support::write_figures(path, "fuzz-api", &format!("{figures}\n"), None)
}

//! `cargo xtask <command>`: developer commands that need no extra tools.

mod crash;
mod scale;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  openapi          write docs/openapi.json from the code
  openapi --check  fail if docs/openapi.json differs from the code
  deps             check the dependency rule between the workspace crates
  domain           check the domain crate as others embed it: run its examples,
                   build its docs with missing docs denied, and package it
  token [ARGS]     print a dev access token (`orderdesk token`; e.g. --permissions read:orders)
  bench            run the benchmarks (criterion; release build)
  crash-test [--release]
                   kill the server (SIGKILL) under concurrent order creation, restart
                   it, check no order or SMS is lost or doubled (SQLite, and PostgreSQL
                   with ORDERDESK_TEST_POSTGRES_URL); figures to docs/reliability.md
  scale-test [--release]
                   two API processes and `orderdesk dispatch` on one PostgreSQL
                   (ORDERDESK_TEST_POSTGRES_URL; skipped without it): LISTEN/NOTIFY
                   wake-up, SIGKILL of an API process and a dispatcher under load,
                   nothing lost or doubled; figures to docs/reliability.md";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["openapi"] => write_openapi(),
        ["openapi", "--check"] => check_openapi(),
        ["deps"] => check_dependency_rule(),
        ["domain"] => check_domain_crate(),
        ["token", rest @ ..] => run_server_command("token", rest),
        ["bench"] => bench(),
        ["crash-test"] => crash::run(&workspace_root(), support::Build::Debug),
        ["crash-test", "--release"] => crash::run(&workspace_root(), support::Build::Release),
        ["scale-test"] => scale::run(&workspace_root(), support::Build::Debug),
        ["scale-test", "--release"] => scale::run(&workspace_root(), support::Build::Release),
        _ => {
            eprintln!("{USAGE}");
            bail!("unknown command {args:?}")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

fn write_openapi() -> anyhow::Result<()> {
    let output = cargo().args(["run", "--quiet", "--package", "orderdesk-server", "--", "openapi"]).output()?;
    ensure!(output.status.success(), "orderdesk openapi failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let path = workspace_root().join("docs/openapi.json");
    std::fs::write(&path, &output.stdout).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Runs `orderdesk <command> <args>` through cargo, passing its output through.
fn run_server_command(command: &str, args: &[&str]) -> anyhow::Result<()> {
    let status =
        cargo().args(["run", "--quiet", "--package", "orderdesk-server", "--", command]).args(args).status()?;
    ensure!(status.success(), "orderdesk {command} failed");
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    let status = cargo()
        .args(["bench", "--package", "orderdesk-adapters", "--features", "test-support", "--bench", "verify"])
        .status()?;
    ensure!(status.success(), "token benchmark failed");
    let status = cargo().args(["bench", "--package", "orderdesk-server", "--bench", "load"]).status()?;
    ensure!(status.success(), "load benchmark failed");
    Ok(())
}

/// Runs the API crate's freshness test, which compares the committed file with the code.
fn check_openapi() -> anyhow::Result<()> {
    let status = cargo()
        .args([
            "test",
            "--quiet",
            "--package",
            "orderdesk-api",
            "--test",
            "http",
            "--",
            "openapi::committed_openapi_document_is_fresh",
        ])
        .status()?;
    ensure!(status.success(), "docs/openapi.json is stale: run `cargo xtask openapi` and commit it");
    println!("docs/openapi.json is fresh");
    Ok(())
}

/// The domain crate as another service sees it: the examples run, the docs build without a
/// warning (missing docs are denied in the crate), and the package builds on its own.
fn check_domain_crate() -> anyhow::Result<()> {
    let steps: [(&str, &[&str]); 3] = [
        ("example", &["run", "--quiet", "--package", "orderdesk-domain", "--example", "embed"]),
        ("docs", &["doc", "--quiet", "--no-deps", "--package", "orderdesk-domain"]),
        ("package", &["package", "--quiet", "--allow-dirty", "--package", "orderdesk-domain"]),
    ];
    for (what, args) in steps {
        let status = cargo().args(args).env("RUSTDOCFLAGS", "-D warnings").status()?;
        ensure!(status.success(), "orderdesk-domain {what} failed: cargo {}", args.join(" "));
    }
    println!("orderdesk-domain: example runs, docs are complete, package builds");
    Ok(())
}

/// Crates a package must not reach, even transitively, through normal dependencies.
const RULES: &[(&str, &[&str])] = &[
    (
        "orderdesk-domain",
        &[
            "orderdesk-signin",
            "orderdesk-adapters",
            "orderdesk-api",
            "orderdesk-server",
            "sea-orm",
            "sqlx",
            "poem",
            "poem-openapi",
            "reqwest",
            "hyper",
            "tokio",
            "jsonwebtoken",
            "serde_json",
        ],
    ),
    (
        "orderdesk-api",
        &[
            "orderdesk-adapters",
            "orderdesk-server",
            "orderdesk-migrations",
            "sea-orm",
            "sqlx",
            "reqwest",
            "jsonwebtoken",
        ],
    ),
    (
        "orderdesk-signin",
        &["orderdesk-adapters", "orderdesk-api", "orderdesk-server", "sea-orm", "sqlx", "poem", "reqwest", "tokio"],
    ),
    ("orderdesk-adapters", &["orderdesk-api", "orderdesk-server", "poem", "poem-openapi"]),
    ("orderdesk-migrations", &["orderdesk-domain", "orderdesk-adapters", "orderdesk-api", "orderdesk-server"]),
];

fn check_dependency_rule() -> anyhow::Result<()> {
    let mut violations = Vec::new();
    for (package, forbidden) in RULES {
        let output = cargo()
            .args(["tree", "--quiet", "--package", package, "--edges", "normal", "--prefix", "none", "--format", "{p}"])
            .output()?;
        ensure!(output.status.success(), "cargo tree failed:\n{}", String::from_utf8_lossy(&output.stderr));
        let tree = String::from_utf8_lossy(&output.stdout);
        for line in tree.lines().skip(1) {
            let name = line.split_whitespace().next().unwrap_or_default();
            if forbidden.contains(&name) {
                violations.push(format!("{package} depends on {name}"));
            }
        }
    }
    violations.sort();
    violations.dedup();
    if !violations.is_empty() {
        bail!("dependency rule broken:\n  {}", violations.join("\n  "));
    }
    println!("dependency rule holds: domain and signin are pure, api never reaches the adapters");
    Ok(())
}

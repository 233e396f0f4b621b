//! `cargo xtask <command>`: developer commands that need no extra tools.

mod bench;
mod clients;
mod crash;
mod deploy;
mod export_memory;
mod fuzz;
mod postman;
mod scale;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};

const USAGE: &str = "usage: cargo xtask <command> [--help]

commands (`cargo xtask <command> --help` shows one):
  dev              build and run the server with dev settings (`orderdesk serve`,
                   ORDERDESK_PROFILE=dev) on http://127.0.0.1:8080
  ci               run .ci/run, exactly what CI runs (needs PostgreSQL; installs Chromium)
  db reset [--yes] delete the dev database and migrate it again: a SQLite file is deleted
                   after you confirm (or with --yes); PostgreSQL needs --yes and then
                   drops and recreates the schema `public`
  coverage         line coverage of the workspace (cargo-llvm-cov, installed when missing);
                   HTML under target/llvm-cov/html, summary printed
  deploy-check     nginx with TLS (docs/deploy/nginx.conf) in front of two orderdesk
                   processes; HTTPS calls survive stopping one; systemd units verified
  openapi          write docs/openapi.json from the code
  openapi --check  fail if docs/openapi.json differs from the code
  deps             check the dependency rule between the workspace crates
  domain           check the domain crate as others embed it: run its examples,
                   build its docs with missing docs denied, and package it
  token [ARGS]     print a dev access token (`orderdesk token`; e.g. --permissions read:orders)
  bench [--db sqlite|postgres] [--duration 10s] [--connections 32[,64]] [--criterion]
                   the release server under wrk load, and the database's own limit
                   (pgbench / a direct SQLite loop); table to docs/benchmarks.md
  crash-test [--release]
                   kill the server (SIGKILL) under concurrent order creation, restart
                   it, check no order or SMS is lost or doubled (SQLite, and PostgreSQL
                   with ORDERDESK_TEST_POSTGRES_URL); figures to docs/reliability.md
  scale-test [--release]
                   two API processes and `orderdesk dispatch` on one PostgreSQL
                   (ORDERDESK_TEST_POSTGRES_URL; skipped without it): LISTEN/NOTIFY
                   wake-up, SIGKILL of an API process and a dispatcher under load,
                   nothing lost or doubled; figures to docs/reliability.md
  clients          regenerate the Rust and TypeScript clients and run their life cycles, then
                   the Postman collection (docs/postman) with newman, on one real server
  export-memory [--release]
                   seed 100,000 orders (SQLite; PostgreSQL too with ORDERDESK_TEST_POSTGRES_URL),
                   stream their CSV export (10,000, then 100,000 rows) while sampling the
                   server's VmRSS; fails unless memory stays flat; figures to docs/benchmarks.md
  fuzz-api         schemathesis (pinned, in a venv under target/) against the debug server:
                   no 5xx, no answer the document contradicts, no forbidden request
                   accepted; figures to docs/api.md";

fn main() -> anyhow::Result<()> {
    // reqwest has TLS (deploy-check) without a default provider; ring, as the server uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if args.is_empty() || matches!(args.as_slice(), ["--help" | "-h" | "help"]) {
        println!("{USAGE}");
        return Ok(());
    }
    if args.iter().any(|a| matches!(*a, "--help" | "-h")) {
        return print_help(args[0]);
    }
    match args.as_slice() {
        ["dev"] => dev(),
        ["ci"] => ci(),
        ["db", "reset"] => reset_database(false),
        ["db", "reset", "--yes"] => reset_database(true),
        ["coverage"] => coverage(),
        ["deploy-check"] => deploy::run(&workspace_root()),
        ["openapi"] => write_openapi(),
        ["openapi", "--check"] => check_openapi(),
        ["deps"] => check_dependency_rule(),
        ["domain"] => check_domain_crate(),
        ["token", rest @ ..] => run_server_command("token", rest),
        ["bench", rest @ ..] => bench::run(&workspace_root(), rest),
        ["crash-test"] => crash::run(&workspace_root(), support::Build::Debug),
        ["crash-test", "--release"] => crash::run(&workspace_root(), support::Build::Release),
        ["fuzz-api"] => fuzz::run(&workspace_root()),
        ["scale-test"] => scale::run(&workspace_root(), support::Build::Debug),
        ["scale-test", "--release"] => scale::run(&workspace_root(), support::Build::Release),
        ["clients"] => clients::run(&workspace_root()),
        ["export-memory"] => export_memory::run(&workspace_root(), support::Build::Debug),
        ["export-memory", "--release"] => export_memory::run(&workspace_root(), support::Build::Release),
        _ => unknown(&args),
    }
}

/// The entries of USAGE for `command`: its line and the indented lines under it.
fn help_for(command: &str) -> Option<String> {
    let mut found = Vec::new();
    let mut inside = false;
    for line in USAGE.lines().skip_while(|l| !l.starts_with("commands")).skip(1) {
        let entry = line.strip_prefix("  ").filter(|rest| !rest.starts_with(' '));
        if let Some(entry) = entry {
            inside = entry.split_whitespace().next() == Some(command);
        }
        if inside {
            found.push(line);
        }
    }
    (!found.is_empty()).then(|| found.join("\n"))
}

fn print_help(command: &str) -> anyhow::Result<()> {
    match help_for(command) {
        Some(help) => {
            println!("usage: cargo xtask {command} …\n\n{help}");
            Ok(())
        }
        None => unknown(&[command]),
    }
}

fn unknown(args: &[&str]) -> anyhow::Result<()> {
    match args.first().and_then(|command| help_for(command)) {
        Some(help) => bail!("`cargo xtask {}` is not how this command is used:\n{help}", args.join(" ")),
        None => {
            eprintln!("{USAGE}");
            bail!("unknown command `{}`: `cargo xtask --help` lists the commands", args.join(" "))
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    support::cargo(&workspace_root())
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

/// `cargo run` of the server in the dev profile, whatever the shell's environment says.
fn dev() -> anyhow::Result<()> {
    let status = cargo()
        .args(["run", "--package", "orderdesk-server", "--", "serve"])
        .env("ORDERDESK_PROFILE", "dev")
        .status()?;
    ensure!(status.success(), "orderdesk serve exited with {status}");
    Ok(())
}

fn ci() -> anyhow::Result<()> {
    let status = Command::new("bash").arg(".ci/run").current_dir(workspace_root()).status()?;
    ensure!(status.success(), ".ci/run failed ({status})");
    Ok(())
}

/// Deletes the dev database (SQLite: the file; PostgreSQL: the schema `public`), then runs
/// `orderdesk migrate`. The URL is the server's effective `database.url`.
fn reset_database(yes: bool) -> anyhow::Result<()> {
    let url = effective_database_url()?;
    if let Some(file) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let file = file.split('?').next().unwrap_or(file);
        // `cargo run` starts the server in the workspace root, so a relative path is from there.
        let path = workspace_root().join(file);
        if !yes && !confirm(&format!("Delete the SQLite database {}? [y/N] ", path.display()))? {
            bail!("nothing deleted");
        }
        for suffix in ["", "-wal", "-shm"] {
            let path = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&path) {
                Ok(()) => println!("deleted {}", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot delete {}", path.display())),
            }
        }
    } else {
        ensure!(
            yes,
            "refusing to reset the PostgreSQL database {} without --yes: it drops the schema `public` with \
             every table and row in it",
            masked(&url)
        );
        support::psql(&url, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")?;
        println!("dropped and recreated the schema public in {}", masked(&url));
    }
    run_server_command("migrate", &[])
}

/// `database.url` as `orderdesk config` shows it; its password is masked there, so a masked
/// URL is taken from the environment variable that set it.
fn effective_database_url() -> anyhow::Result<String> {
    let output = cargo().args(["run", "--quiet", "--package", "orderdesk-server", "--", "config"]).output()?;
    ensure!(output.status.success(), "orderdesk config failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let settings: toml::Table =
        String::from_utf8(output.stdout)?.parse().context("orderdesk config printed no TOML")?;
    let url = settings
        .get("database")
        .and_then(|database| database.get("url"))
        .and_then(toml::Value::as_str)
        .context("orderdesk config shows no database.url")?;
    if !url.contains(":***@") {
        return Ok(url.to_owned());
    }
    ["ORDERDESK_DATABASE__URL", "DATABASE_URL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .context("database.url has a password that only the server's .env file holds; export ORDERDESK_DATABASE__URL")
}

fn masked(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    ensure!(std::io::stdin().is_terminal(), "not asking without a terminal: pass --yes");
    print!("{question}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Line coverage with cargo-llvm-cov, installing it (and the llvm-tools component it needs)
/// when missing.
fn coverage() -> anyhow::Result<()> {
    let installed = cargo().args(["llvm-cov", "--version"]).output().is_ok_and(|o| o.status.success());
    if !installed {
        println!("installing cargo-llvm-cov: cargo install --locked cargo-llvm-cov");
        let status = cargo().args(["install", "--locked", "cargo-llvm-cov"]).status()?;
        ensure!(status.success(), "cargo install --locked cargo-llvm-cov failed");
    }
    let components = Command::new("rustup").args(["component", "list", "--installed"]).output();
    let has_tools = components.as_ref().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("llvm-tools"));
    if !has_tools {
        println!("installing llvm-tools: rustup component add llvm-tools-preview");
        let status = Command::new("rustup").args(["component", "add", "llvm-tools-preview"]).status()?;
        ensure!(status.success(), "rustup component add llvm-tools-preview failed");
    }
    let status = cargo().args(["llvm-cov", "--workspace", "--html"]).status()?;
    ensure!(status.success(), "cargo llvm-cov failed (a test failed, or the build did)");
    let status = cargo().args(["llvm-cov", "report", "--summary-only"]).status()?;
    ensure!(status.success(), "cargo llvm-cov report failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    println!("HTML report: {}", target.join("llvm-cov/html/index.html").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_in_the_match_has_help() {
        for command in [
            "dev",
            "ci",
            "db",
            "coverage",
            "deploy-check",
            "openapi",
            "deps",
            "domain",
            "token",
            "bench",
            "export-memory",
        ] {
            assert!(help_for(command).is_some(), "no help for {command}");
        }
        assert!(help_for("crash-test").is_some_and(|h| h.contains("SIGKILL")));
        assert!(help_for("db").is_some_and(|h| h.trim_start().starts_with("db reset [--yes]") && h.contains("PostgreSQL needs --yes")));
        assert_eq!(help_for("nope"), None);
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(masked("postgres://u:secret@db:5432/x"), "postgres://***@db:5432/x");
        assert_eq!(masked("sqlite://data/orderdesk.db"), "sqlite://data/orderdesk.db");
    }
}

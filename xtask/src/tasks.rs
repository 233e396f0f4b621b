//! The commands that are not system checks: the dev server, CI, the dev database, coverage,
//! the OpenAPI document, the dependency rule and the domain crate's packaging.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use orderdesk_systest::cargo::{cargo, target_dir};
use orderdesk_systest::postgres::psql;

pub fn write_openapi(root: &Path) -> anyhow::Result<()> {
    let output = cargo(root).args(["run", "--quiet", "--package", "orderdesk-server", "--", "openapi"]).output()?;
    ensure!(output.status.success(), "orderdesk openapi failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let path = root.join("docs/openapi.json");
    std::fs::write(&path, &output.stdout).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Runs `orderdesk <command> <args>` through cargo, passing its output through.
pub fn run_server_command(root: &Path, command: &str, args: &[String]) -> anyhow::Result<()> {
    let status =
        cargo(root).args(["run", "--quiet", "--package", "orderdesk-server", "--", command]).args(args).status()?;
    ensure!(status.success(), "orderdesk {command} failed");
    Ok(())
}

/// Runs the API crate's freshness test, which compares the committed file with the code.
pub fn check_openapi(root: &Path) -> anyhow::Result<()> {
    let status = cargo(root)
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
pub fn check_domain_crate(root: &Path) -> anyhow::Result<()> {
    let steps: [(&str, &[&str]); 3] = [
        ("example", &["run", "--quiet", "--package", "orderdesk-domain", "--example", "embed"]),
        ("docs", &["doc", "--quiet", "--no-deps", "--package", "orderdesk-domain"]),
        ("package", &["package", "--quiet", "--allow-dirty", "--package", "orderdesk-domain"]),
    ];
    for (what, args) in steps {
        let status = cargo(root).args(args).env("RUSTDOCFLAGS", "-D warnings").status()?;
        ensure!(status.success(), "orderdesk-domain {what} failed: cargo {}", args.join(" "));
    }
    println!("orderdesk-domain: example runs, docs are complete, package builds");
    Ok(())
}

/// The system-test harness: a test tool no product crate may depend on.
const HARNESS: &str = "orderdesk-systest";
const DATABASE: [&str; 2] = ["sea-orm", "sqlx"];
const HTTP_SERVER: [&str; 2] = ["poem", "poem-openapi"];
const OUTER: [&str; 3] = ["orderdesk-adapters", "orderdesk-api", "orderdesk-server"];

/// Crates a package must not reach, even transitively, through normal dependencies (the
/// harness never, for any product crate).
fn rules() -> Vec<(&'static str, Vec<&'static str>)> {
    let rule = |package, forbidden: &[&[&'static str]]| (package, [forbidden.concat(), vec![HARNESS]].concat());
    vec![
        rule(
            "orderdesk-domain",
            &[
                &["orderdesk-signin"],
                &OUTER,
                &DATABASE,
                &HTTP_SERVER,
                &["reqwest", "hyper", "tokio", "jsonwebtoken", "serde_json"],
            ],
        ),
        rule(
            "orderdesk-api",
            &[
                &["orderdesk-adapters", "orderdesk-server", "orderdesk-migrations"],
                &DATABASE,
                &["reqwest", "jsonwebtoken"],
            ],
        ),
        rule("orderdesk-signin", &[&OUTER, &DATABASE, &["poem", "reqwest", "tokio"]]),
        rule("orderdesk-adapters", &[&["orderdesk-api", "orderdesk-server"], &HTTP_SERVER]),
        rule("orderdesk-migrations", &[&["orderdesk-domain"], &OUTER]),
        rule("orderdesk-server", &[]),
        rule("orderdesk-client", &[&OUTER]),
        // The fakes are what tests and the harness share: no database, no server.
        rule("orderdesk-fakes", &[&OUTER, &DATABASE]),
        // The harness reaches the server through its binary and the generated client only.
        ("orderdesk-systest", [&OUTER[..], &DATABASE].concat()),
    ]
}

pub fn check_dependency_rule(root: &Path) -> anyhow::Result<()> {
    let mut violations = Vec::new();
    for (package, forbidden) in rules() {
        let output = cargo(root)
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
    println!(
        "dependency rule holds: domain and signin are pure, api never reaches the adapters, no product crate \
         reaches the system-test harness"
    );
    Ok(())
}

/// `cargo run` of the server in the dev profile, whatever the shell's environment says.
pub fn dev(root: &Path) -> anyhow::Result<()> {
    let status = cargo(root)
        .args(["run", "--package", "orderdesk-server", "--", "serve"])
        .env("ORDERDESK_PROFILE", "dev")
        .status()?;
    ensure!(status.success(), "orderdesk serve exited with {status}");
    Ok(())
}

pub fn ci(root: &Path) -> anyhow::Result<()> {
    let status = Command::new("bash").arg(".ci/run").current_dir(root).status()?;
    ensure!(status.success(), ".ci/run failed ({status})");
    Ok(())
}

/// Deletes the dev database (SQLite: the file; PostgreSQL: the schema `public`), then runs
/// `orderdesk migrate`. The URL is the server's effective `database.url`.
pub fn reset_database(root: &Path, yes: bool) -> anyhow::Result<()> {
    let url = effective_database_url(root)?;
    if let Some(file) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let file = file.split('?').next().unwrap_or(file);
        // `cargo run` starts the server in the workspace root, so a relative path is from there.
        let path = root.join(file);
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
        psql(&url, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")?;
        println!("dropped and recreated the schema public in {}", masked(&url));
    }
    run_server_command(root, "migrate", &[])
}

/// `database.url` as `orderdesk config` shows it; its password is masked there, so a masked
/// URL is taken from the environment variable that set it.
fn effective_database_url(root: &Path) -> anyhow::Result<String> {
    let output = cargo(root).args(["run", "--quiet", "--package", "orderdesk-server", "--", "config"]).output()?;
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
pub fn coverage(root: &Path) -> anyhow::Result<()> {
    let installed = cargo(root).args(["llvm-cov", "--version"]).output().is_ok_and(|o| o.status.success());
    if !installed {
        println!("installing cargo-llvm-cov: cargo install --locked cargo-llvm-cov");
        let status = cargo(root).args(["install", "--locked", "cargo-llvm-cov"]).status()?;
        ensure!(status.success(), "cargo install --locked cargo-llvm-cov failed");
    }
    let components = Command::new("rustup").args(["component", "list", "--installed"]).output();
    let has_tools = components.as_ref().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("llvm-tools"));
    if !has_tools {
        println!("installing llvm-tools: rustup component add llvm-tools-preview");
        let status = Command::new("rustup").args(["component", "add", "llvm-tools-preview"]).status()?;
        ensure!(status.success(), "rustup component add llvm-tools-preview failed");
    }
    let status = cargo(root).args(["llvm-cov", "--workspace", "--html"]).status()?;
    ensure!(status.success(), "cargo llvm-cov failed (a test failed, or the build did)");
    let status = cargo(root).args(["llvm-cov", "report", "--summary-only"]).status()?;
    ensure!(status.success(), "cargo llvm-cov report failed");
    println!("HTML report: {}", target_dir(root).join("llvm-cov/html/index.html").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(masked("postgres://u:secret@db:5432/x"), "postgres://***@db:5432/x");
        assert_eq!(masked("sqlite://data/orderdesk.db"), "sqlite://data/orderdesk.db");
    }
}

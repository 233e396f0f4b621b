//! Nested `cargo` commands and the server binary they build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::ensure;

/// Which build of `orderdesk` a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// The dev profile: shares the artifacts `cargo test` already built (CI's choice).
    Debug,
    /// Optimised: for figures that depend on speed (benchmarks).
    Release,
}

/// Whether a variable is one `cargo run` sets for the running package (xtask).
fn set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE"]
            .contains(&name)
}

/// A `cargo` command in `root`, without the variables `cargo run` set for xtask itself
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...): inherited, ring's build script (which tracks
/// them) reruns, and ring and everything above it (rustls, reqwest, sqlx, our crates) are
/// rebuilt for nothing, and rebuilt back by the next `cargo` run from a shell.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            command.env_remove(name);
        }
    }
    command
}

/// `CARGO_TARGET_DIR`, else `root/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
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
    let profile = if build == Build::Release { "release" } else { "debug" };
    Ok(target_dir(root).join(profile).join("orderdesk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_cargo_run_sets_is_removed() {
        assert!(set_by_cargo_run("CARGO_PKG_NAME"));
        assert!(set_by_cargo_run("CARGO_MANIFEST_DIR"));
        assert!(!set_by_cargo_run("CARGO_TARGET_DIR"));
        assert!(!set_by_cargo_run("CARGO_HOME"));
    }
}

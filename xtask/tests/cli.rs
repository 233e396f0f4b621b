//! `cargo xtask --help` lists every command with clap's help. Being an integration test, this
//! also makes `cargo test --workspace` build the xtask binary with the workspace's features,
//! which `.ci/run` then runs directly instead of building xtask a second time.

use std::process::Command;

fn xtask(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("xtask runs");
    (
        output.status.success(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

#[test]
fn help_lists_every_command() {
    let (ok, help) = xtask(&["--help"]);
    assert!(ok, "{help}");
    for command in [
        "dev",
        "ci",
        "db",
        "coverage",
        "openapi",
        "deps",
        "domain",
        "token",
        "bench",
        "crash-test",
        "scale-test",
        "deploy-check",
        "clients",
        "export-memory",
        "fuzz-api",
    ] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(&format!("{command} "))), "{command} missing:\n{help}");
    }
}

#[test]
fn each_command_explains_itself_and_a_wrong_one_is_refused() {
    let (ok, help) = xtask(&["bench", "--help"]);
    assert!(ok && help.contains("--connections") && help.contains("--duration"), "{help}");
    let (ok, help) = xtask(&["crash-test", "--help"]);
    assert!(ok && help.contains("SIGKILL") && help.contains("--release"), "{help}");
    let (ok, error) = xtask(&["crash-test", "--fast"]);
    assert!(!ok && error.contains("--fast"), "{error}");
}

//! Commands run to completion within a time limit, their output captured.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

/// How long a one-shot command (`orderdesk token`, `openssl`, `nginx -t`) may take.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// Runs a command with its output captured (stdout and stderr together), killed after `limit`.
pub fn run_bounded(command: &mut Command, what: &str, limit: Duration) -> anyhow::Result<(ExitStatus, String)> {
    let log = capture_path(what);
    let file = File::create(&log)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&log);
            bail!("{what} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    Ok((status, output))
}

/// Runs `command` within [`COMMAND_LIMIT`]; fails with its output unless it succeeds.
pub fn run_checked(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let (status, output) = run_bounded(command, what, COMMAND_LIMIT)?;
    ensure!(status.success(), "{what} failed ({status}):\n{output}");
    Ok(output)
}

/// Runs `command` (no limit: npm, cargo), showing its output only when it fails.
pub fn run_quietly(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("cannot start {what}"))?;
    ensure!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn capture_path(what: &str) -> PathBuf {
    let name: String = what.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let unique = uuid::Uuid::now_v7().simple();
    std::env::temp_dir().join(format!("orderdesk-systest-{name}-{unique}.log"))
}

/// Waits up to `within`, every `every`, until `done` says yes; fails with `what` otherwise.
pub fn wait_until(
    within: Duration,
    every: Duration,
    what: impl std::fmt::Display,
    mut done: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if done()? {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "{what} (waited {within:?})");
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_captured_and_a_slow_command_is_stopped() {
        let (status, output) =
            run_bounded(Command::new("sh").args(["-c", "echo out; echo err >&2"]), "sh", COMMAND_LIMIT).unwrap();
        assert!(status.success());
        assert!(output.contains("out") && output.contains("err"), "{output}");
        let slow = run_bounded(Command::new("sleep").arg("5"), "sleep", Duration::from_millis(100));
        assert!(slow.unwrap_err().to_string().contains("took longer"));
        assert!(run_checked(Command::new("false").arg("x"), "false").is_err());
    }

    #[test]
    fn waiting_ends_when_done_or_fails_after_the_limit() {
        let mut calls = 0;
        wait_until(Duration::from_secs(1), Duration::from_millis(1), "never", || {
            calls += 1;
            Ok(calls == 3)
        })
        .unwrap();
        assert_eq!(calls, 3);
        let failed = wait_until(Duration::from_millis(20), Duration::from_millis(5), "not yet", || Ok(false));
        assert!(failed.unwrap_err().to_string().starts_with("not yet"));
    }
}

//! `orderdesk dispatch` and `orderdesk backup` as processes: migrations follow the settings,
//! SIGTERM stops the dispatcher cleanly, and backups refuse what they must.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use orderdesk_adapters::{DatabaseSettings, SeaOrmNotificationRepository, connect};
use orderdesk_domain::ports::NotificationRepository;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orderdesk-dispatch-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn orderdesk(dir: &Path, database: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orderdesk"));
    command
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env_remove("ORDERDESK_CONFIG_DIR")
        .env("ORDERDESK_SERVER__DATA_DIR", dir.join("data"))
        .env("ORDERDESK_DATABASE__URL", database)
        .env("ORDERDESK_SMS__PROVIDER", "log")
        .env("ORDERDESK_LOG__FORMAT", "json");
    command
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("orderdesk.db").display())
}

/// Whether the outbox table exists (asked through the repository, as the server would).
async fn migrated(dir: &Path) -> bool {
    let db = connect(&DatabaseSettings { url: sqlite_url(dir), ..Default::default() }).await.unwrap();
    let answer = SeaOrmNotificationRepository::new(db.clone()).count_by_status().await;
    db.close().await;
    answer.is_ok()
}

/// Runs `orderdesk dispatch` until it logs that it is ready, then sends SIGTERM.
fn dispatch_until_ready_then_terminate(dir: &Path, migrate: &str) -> Output {
    let log = std::fs::File::create(dir.join(format!("dispatch-{migrate}.log"))).unwrap();
    let mut child = orderdesk(dir, &sqlite_url(dir))
        .arg("dispatch")
        .env("ORDERDESK_DATABASE__MIGRATE_ON_START", migrate)
        .env("ORDERDESK_SMS__DISPATCHER", "false")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let path = dir.join(format!("dispatch-{migrate}.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&path).unwrap().contains("orderdesk dispatcher ready") {
        assert!(Instant::now() < deadline, "never ready:\n{}", std::fs::read_to_string(&path).unwrap());
        assert!(child.try_wait().unwrap().is_none(), "exited early:\n{}", std::fs::read_to_string(&path).unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the dispatcher ignored SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: std::fs::read(&path).unwrap(), stderr: Vec::new() }
}

/// `serve` and `dispatch` on a database that lacks migrations, with `migrate_on_start=false`:
/// both refuse to start, naming the pending migrations and `orderdesk migrate`.
fn refuses_a_database_behind_the_binary(dir: &Path, command: &str) {
    let output = orderdesk(dir, &sqlite_url(dir))
        .arg(command)
        .env("ORDERDESK_DATABASE__MIGRATE_ON_START", "false")
        .env("ORDERDESK_SERVER__BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "{command} started on an unmigrated database: {text}");
    assert!(text.contains("orderdesk migrate") && text.contains("m20261126_000001_create_customers"), "{text}");
}

#[tokio::test]
async fn dispatch_migrates_only_when_told_to_and_stops_cleanly_on_sigterm() {
    let dir = scratch();
    for command in ["serve", "dispatch"] {
        refuses_a_database_behind_the_binary(&dir, command);
    }
    assert!(!migrated(&dir).await, "migrate_on_start=false must not migrate");

    let output = dispatch_until_ready_then_terminate(&dir, "true");
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{log}");
    assert!(log.contains("sms dispatcher started") && log.contains("orderdesk dispatcher stopped"), "{log}");
    assert!(log.contains("webhook dispatcher started") && log.contains("webhook dispatcher stopped"), "{log}");
    assert!(log.contains("sms.dispatcher=false applies to `serve`"), "{log}");
    assert!(migrated(&dir).await, "migrated when told to");

    // A newer binary migrated further (a rolling upgrade): this one starts and says so.
    let db = connect(&DatabaseSettings { url: sqlite_url(&dir), ..Default::default() }).await.unwrap();
    use sea_orm::ConnectionTrait;
    db.write()
        .execute_unprepared("INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_future', 0)")
        .await
        .unwrap();
    db.close().await;
    let output = dispatch_until_ready_then_terminate(&dir, "false");
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{log}");
    assert!(log.contains("newer than this binary") && log.contains("m20991231_000001_future"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn backup_writes_a_private_copy_once_and_points_postgresql_to_pg_dump() {
    let dir = scratch();
    let migrated = orderdesk(&dir, &sqlite_url(&dir)).arg("migrate").output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));

    let target = dir.join("backup.db");
    let backup = orderdesk(&dir, &sqlite_url(&dir)).arg("backup").arg(&target).output().unwrap();
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    assert!(String::from_utf8_lossy(&backup.stdout).contains("written to"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
    }

    for uri in ["file:copy.db", "FILE:copy.db?mode=rwc"] {
        let refused = orderdesk(&dir, &sqlite_url(&dir)).arg("backup").arg(uri).output().unwrap();
        assert!(!refused.status.success(), "{uri} accepted");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("URI"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(!dir.join("copy.db").exists() && !dir.join(uri).exists(), "nothing written for {uri}");
    }

    let again = orderdesk(&dir, &sqlite_url(&dir)).arg("backup").arg(&target).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"), "{}", String::from_utf8_lossy(&again.stderr));

    let missing = orderdesk(&dir, &format!("sqlite://{}", dir.join("none.db").display()))
        .arg("backup")
        .arg(dir.join("other.db"))
        .output()
        .unwrap();
    assert!(!missing.status.success(), "no database, no backup");
    assert!(!dir.join("none.db").exists(), "backup never creates the database it was asked to copy");

    let postgres = orderdesk(&dir, "postgres://postgres@127.0.0.1:1/none").arg("backup").arg(dir.join("pg")).output();
    let postgres = postgres.unwrap();
    let message = String::from_utf8_lossy(&postgres.stderr);
    assert!(!postgres.status.success());
    assert!(message.contains("pg_dump") && message.contains("docs/deploy/backup.md"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! Cross-process dispatcher wake-ups (PostgreSQL `LISTEN`/`NOTIFY`) and SQLite backups.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orderdesk_adapters::db::{BackupError, backup_sqlite, listen_for_outbox};
use orderdesk_adapters::sms::TokioOutboxSignal;
use orderdesk_adapters::testing::{Backend, backends, with_database};
use orderdesk_adapters::{DatabaseSettings, SeaOrmCustomerRepository, SeaOrmOrderRepository, connect};
use orderdesk_domain::Notification;
use orderdesk_domain::ports::{CustomerRepository, OrderRepository};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::{customer, day, now, order};

async fn woken(wake: &tokio::sync::Notify, within: Duration) -> bool {
    tokio::time::timeout(within, wake.notified()).await.is_ok()
}

#[tokio::test]
async fn a_committed_order_with_an_sms_wakes_a_listener_on_another_connection() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    with_database(Backend::Postgres, |db| async move {
        let signal = TokioOutboxSignal::default();
        let wake = signal.notified();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let listener = tokio::spawn(listen_for_outbox(db.settings.url.clone(), signal, stopped));
        assert!(woken(&wake, Duration::from_secs(10)).await, "the listener signals once when it is ready");

        let alice = customer("A");
        SeaOrmCustomerRepository::new(db.connection.clone()).insert(&alice, None, &[]).await.unwrap();
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let quiet = order(&alice, "1", day(1));
        orders.insert(&quiet, &[], None, &[]).await.unwrap();
        assert!(!woken(&wake, Duration::from_millis(500)).await, "an order without SMS wakes nobody");

        let ghost = customer("GHOST");
        let failed = order(&ghost, "1", day(1));
        let sms = Notification::new(failed.id(), ghost.phone().clone(), "x".into(), now());
        assert!(orders.insert(&failed, &[sms], None, &[]).await.is_err());
        assert!(!woken(&wake, Duration::from_millis(500)).await, "a rolled-back order wakes nobody");

        let o = order(&alice, "2", day(1));
        let sms = Notification::new(o.id(), alice.phone().clone(), "Order received".into(), now());
        orders.insert(&o, &[sms], None, &[]).await.unwrap();
        assert!(woken(&wake, Duration::from_secs(2)).await, "the committed SMS wakes the listener at once");

        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), listener).await.expect("the listener stops").unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_listener_without_a_database_keeps_retrying_until_stopped() {
    let signal = TokioOutboxSignal::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let url = "postgres://nobody@127.0.0.1:1/none".to_owned();
    let listener = tokio::spawn(listen_for_outbox(url, signal, stopped));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!listener.is_finished(), "a failed connection is retried, not fatal");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), listener).await.expect("the listener stops").unwrap();
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> String {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<String>(0).unwrap_or_else(|_| row.try_get_by_index::<i64>(0).unwrap().to_string())
}

#[tokio::test]
async fn a_sqlite_backup_taken_during_writes_is_consistent_private_and_never_overwrites() {
    with_database(Backend::Sqlite, |db| async move {
        let alice = customer("A");
        SeaOrmCustomerRepository::new(db.connection.clone()).insert(&alice, None, &[]).await.unwrap();
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let writing = Arc::new(AtomicBool::new(true));
        let writer = {
            let (orders, alice, writing) = (orders.clone(), alice.clone(), writing.clone());
            tokio::spawn(async move {
                let mut written = 0_u64;
                while writing.load(Ordering::SeqCst) {
                    let o = order(&alice, "1", day(1));
                    let sms = Notification::new(o.id(), alice.phone().clone(), "x".into(), now());
                    orders.insert(&o, &[sms], None, &[]).await.unwrap();
                    written += 1;
                }
                written
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let dir = std::env::temp_dir().join(format!("orderdesk-backup-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("copy.db");
        let before: u64 = scalar(db.connection.write(), "SELECT count(*) FROM orders").await.parse().unwrap();
        backup_sqlite(db.connection.write(), &target).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        writing.store(false, Ordering::SeqCst);
        let written = writer.await.unwrap();
        assert!(before > 0, "writes were under way");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the copy is private");
        }
        let copy = connect(&DatabaseSettings { url: format!("sqlite://{}", target.display()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(scalar(copy.write(), "PRAGMA integrity_check").await, "ok");
        let copied: u64 = scalar(copy.write(), "SELECT count(*) FROM orders").await.parse().unwrap();
        let copied_sms: u64 = scalar(copy.write(), "SELECT count(*) FROM notifications").await.parse().unwrap();
        assert!(copied >= before && copied <= written, "{before} <= {copied} <= {written}");
        assert_eq!(copied_sms, copied, "one snapshot: every copied order has its SMS");
        copy.close().await;

        let again = backup_sqlite(db.connection.write(), &target).await;
        assert!(matches!(again, Err(BackupError::Exists(_))), "{again:?}");
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

use orderdesk_adapters::db::{DatabaseSettings, connect};
use orderdesk_adapters::pool_stats;
use orderdesk_adapters::testing::{Backend, on_each_backend};
use orderdesk_migrations::{Migrator, MigratorTrait};

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    on_each_backend(|db| async move {
        // Schema changes go through one connection of their own: on SQLite an idle
        // pooled connection may still hold a read snapshot from before the `down`, and would
        // prepare the `up` against the old schema ("index … already exists", seen about 1 run in 20).
        let settings = DatabaseSettings { max_connections: 1, sqlite_read_connections: 1, ..db.settings.clone() };
        let connection = connect(&settings).await.unwrap();
        Migrator::down(connection.write(), None).await.unwrap();
        assert!(Migrator::get_applied_migrations(connection.write()).await.unwrap().is_empty());
        Migrator::up(connection.write(), None).await.unwrap();
        assert_eq!(Migrator::get_pending_migrations(connection.write()).await.unwrap().len(), 0);
        connection.close().await;
    })
    .await;
}

/// How many migrations to go down so that `name` and every later one are undone.
fn steps_back_to_before(name: &str) -> u32 {
    let all = Migrator::migrations();
    let position = all.iter().position(|m| m.name() == name).unwrap();
    u32::try_from(all.len() - position).unwrap()
}

/// Orders stored before migration 9 get numbers in order of creation (`created_at`, then id),
/// references, `received`, a history entry for their creation, and the number source goes on
/// after the highest.
#[tokio::test]
async fn migration_9_numbers_existing_orders_in_order_of_creation() {
    use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmOrderRepository};
    use orderdesk_domain::ports::{CustomerRepository, OrderRepository};
    use orderdesk_domain::{OrderId, OrderStatus};
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};

    on_each_backend(|db| async move {
        let settings = DatabaseSettings { max_connections: 1, sqlite_read_connections: 1, ..db.settings.clone() };
        let connection = connect(&settings).await.unwrap();
        let alice = crate::customer("A");
        SeaOrmCustomerRepository::new(connection.clone()).insert(&alice, None, &[]).await.unwrap();
        Migrator::down(connection.write(), Some(steps_back_to_before("m20261130_000009_order_numbers_and_lifecycle")))
            .await
            .unwrap();

        // Ids in one order, creation times in another: creation time decides.
        let ids: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::now_v7()).collect();
        let created = [crate::day(3), crate::day(1), crate::day(2)];
        for (id, at) in ids.iter().zip(created) {
            let insert = Query::insert()
                .into_table(Alias::new("orders"))
                .columns(
                    [
                        "id",
                        "customer_id",
                        "item",
                        "amount_minor",
                        "currency",
                        "ordered_at",
                        "created_at",
                        "updated_at",
                        "created_by",
                        "version",
                    ]
                    .map(Alias::new),
                )
                .values_panic([
                    (*id).into(),
                    alice.id().as_uuid().into(),
                    "Tea".into(),
                    100i64.into(),
                    "KES".into(),
                    at.into(),
                    at.into(),
                    at.into(),
                    "auth0|old".into(),
                    2i32.into(),
                ])
                .to_owned();
            connection.write().execute(&insert).await.unwrap();
        }
        Migrator::up(connection.write(), None).await.unwrap();

        let orders = SeaOrmOrderRepository::new(connection.clone());
        let expected = [(ids[1], 1001), (ids[2], 1002), (ids[0], 1003)];
        for (id, number) in expected {
            let order = orders.find(OrderId::from_uuid(id)).await.unwrap().unwrap();
            assert_eq!(order.number().get(), number, "{:?}", db.backend);
            assert_eq!(order.reference().as_str(), format!("ORD-{number}"));
            assert_eq!((order.status(), order.lifecycle().changed_at), (OrderStatus::Received, order.created_at()));
            assert_eq!(order.audit().version, 2);
            assert_eq!(orders.history(order.id()).await.unwrap(), vec![order.creation()], "{:?}", db.backend);
        }
        assert_eq!(orders.next_number().await.unwrap().get(), 1004, "{:?}", db.backend);
        connection.close().await;
    })
    .await;
}

/// Costs written by binaries before migration 10 (`notifications.cost`, the provider's text of
/// the latest send) move to that notification's latest sent attempt where they are exact money;
/// other text gives no cost, and the old column keeps its text.
#[tokio::test]
async fn migration_10_moves_each_cost_to_the_latest_sent_attempt() {
    use chrono::Duration;
    use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmNotificationRepository, SeaOrmOrderRepository};
    use orderdesk_domain::notification::{Claim, NotificationParts, RetryPolicy, SmsReceipt};
    use orderdesk_domain::ports::{CustomerRepository, NotificationRepository, OrderRepository};
    use orderdesk_domain::{Notification, NotificationStatus};
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use sea_orm::{ConnectionTrait, Statement};

    on_each_backend(|db| async move {
        let settings = DatabaseSettings { max_connections: 1, sqlite_read_connections: 1, ..db.settings.clone() };
        let connection = connect(&settings).await.unwrap();
        let alice = crate::customer("A");
        SeaOrmCustomerRepository::new(connection.clone()).insert(&alice, None, &[]).await.unwrap();
        let orders = SeaOrmOrderRepository::new(connection.clone());
        let outbox = SeaOrmNotificationRepository::new(connection.clone());
        let t0 = crate::now();
        let mut sms = Vec::new();
        for (i, cost) in [Some("KES 0.8000"), Some("KES 0,80"), None].into_iter().enumerate() {
            let o = crate::order(&alice, "1", crate::day(1));
            let n = Notification::new(o.id(), alice.phone().clone(), "hi".into(), t0);
            orders.insert(&o, std::slice::from_ref(&n), None, &[]).await.unwrap();
            // Two sends (the first message was undelivered and re-sent by hand): the cost
            // is the latest's.
            for send in 0..2 {
                let at = t0 + Duration::seconds(send);
                let claim = Claim { worker: "w".into(), now: at, lease_until: at + Duration::seconds(30) };
                let claimed = outbox.claim_due(&claim, 10).await.unwrap().remove(0);
                let receipt = SmsReceipt::accepted(format!("ATXid_m{i}_{send}"), "Success");
                let (sent, attempt) = claimed.record_attempt("w", Ok(receipt), &RetryPolicy::default(), at).unwrap();
                assert!(outbox.store(claimed.version(), &sent, Some(attempt), &[]).await.unwrap());
                if send == 0 {
                    let undelivered = Notification::restore(NotificationParts {
                        status: NotificationStatus::Undelivered,
                        version: sent.version() + 1,
                        ..sent.parts().clone()
                    });
                    assert!(outbox.store(sent.version(), &undelivered, None, &[]).await.unwrap());
                    let requeued = undelivered.requeue(alice.phone().clone(), at).unwrap();
                    assert!(outbox.store(undelivered.version(), &requeued, None, &[]).await.unwrap());
                }
            }
            sms.push((n.id(), cost));
        }
        Migrator::down(connection.write(), Some(steps_back_to_before("m20261130_000010_sms_costs"))).await.unwrap();
        for (id, cost) in &sms {
            let update = Query::update()
                .table(Alias::new("notifications"))
                .value(Alias::new("cost"), *cost)
                .and_where(Expr::col(Alias::new("id")).eq(id.as_uuid()))
                .to_owned();
            connection.write().execute(&update).await.unwrap();
        }
        Migrator::up(connection.write(), None).await.unwrap();

        let costs = |attempts: Vec<orderdesk_domain::notification::Attempt>| {
            attempts.into_iter().map(|a| a.cost.map(|c| c.to_string())).collect::<Vec<_>>()
        };
        assert_eq!(
            costs(outbox.attempts(sms[0].0).await.unwrap()),
            [None, Some("KES 0.80".to_owned())],
            "{:?}",
            db.backend
        );
        assert_eq!(costs(outbox.attempts(sms[1].0).await.unwrap()), [None, None], "not exact money: left");
        assert_eq!(costs(outbox.attempts(sms[2].0).await.unwrap()), [None, None]);
        let backend = connection.backend();
        let kept = Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM notifications WHERE cost IS NOT NULL".to_owned(),
        );
        let row = connection.write().query_one_raw(kept).await.unwrap().unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 2, "the old column keeps its text");
        connection.close().await;
    })
    .await;
}

/// The pools each backend gets: a SQLite file one writer and `sqlite_read_connections`
/// readers (`max_connections` is PostgreSQL's), PostgreSQL one pool of `max_connections`.
#[tokio::test]
async fn each_backend_gets_the_pool_sizes_its_settings_name() {
    on_each_backend(|db| async move {
        let settings = DatabaseSettings { max_connections: 7, sqlite_read_connections: 3, ..db.settings.clone() };
        let store = connect(&settings).await.unwrap();
        let (read, write) = (pool_stats(store.read()).unwrap(), pool_stats(store.write()).unwrap());
        match db.backend {
            Backend::Sqlite => assert_eq!((read.max, write.max), (3, 1)),
            Backend::Postgres => assert_eq!((read.max, write.max), (7, 7)),
        }
        store.close().await;
    })
    .await;
}

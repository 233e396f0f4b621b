use orderdesk_adapters::db::{DatabaseSettings, connect};
use orderdesk_adapters::testing::on_each_backend;
use orderdesk_migrations::{Migrator, MigratorTrait};

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    on_each_backend(|db| async move {
        // Schema changes go through one connection of their own: on SQLite an idle
        // pooled connection may still hold a read snapshot from before the `down`, and would
        // prepare the `up` against the old schema ("index … already exists", seen about 1 run in 20).
        let settings = DatabaseSettings { max_connections: 1, ..db.settings.clone() };
        let connection = connect(&settings).await.unwrap();
        Migrator::down(&connection, None).await.unwrap();
        assert!(Migrator::get_applied_migrations(&connection).await.unwrap().is_empty());
        Migrator::up(&connection, None).await.unwrap();
        assert_eq!(Migrator::get_pending_migrations(&connection).await.unwrap().len(), 0);
        connection.close().await.unwrap();
    })
    .await;
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
        let settings = DatabaseSettings { max_connections: 1, ..db.settings.clone() };
        let connection = connect(&settings).await.unwrap();
        let alice = crate::customer("A");
        SeaOrmCustomerRepository::new(connection.clone()).insert(&alice, None).await.unwrap();
        // Back to just before migration 9, however many came after it.
        let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        let ninth = names.iter().position(|n| n == "m20261130_000009_order_numbers_and_lifecycle").unwrap();
        let steps = u32::try_from(names.len() - ninth).unwrap();
        Migrator::down(&connection, Some(steps)).await.unwrap();

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
            connection.execute(&insert).await.unwrap();
        }
        Migrator::up(&connection, None).await.unwrap();

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
        connection.close().await.unwrap();
    })
    .await;
}

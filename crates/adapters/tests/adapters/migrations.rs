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

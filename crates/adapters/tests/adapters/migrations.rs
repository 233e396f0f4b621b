use orderdesk_adapters::testing::on_each_backend;
use orderdesk_migrations::{Migrator, MigratorTrait};

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    on_each_backend(|db| async move {
        Migrator::down(&db.connection, None).await.unwrap();
        assert!(Migrator::get_applied_migrations(&db.connection).await.unwrap().is_empty());
        Migrator::up(&db.connection, None).await.unwrap();
        assert_eq!(Migrator::get_pending_migrations(&db.connection).await.unwrap().len(), 0);
    })
    .await;
}

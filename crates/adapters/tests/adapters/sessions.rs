use chrono::Duration;
use orderdesk_adapters::SeaOrmSessionRepository;
use orderdesk_adapters::testing::on_each_backend;
use orderdesk_domain::Permission;
use orderdesk_signin::{Session, SessionRepository};

use crate::now;

fn session(expires_in: Duration) -> Session {
    Session {
        subject: "auth0|1".into(),
        name: "Amina".into(),
        email: Some("amina@example.test".into()),
        picture: None,
        permissions: [Permission::ReadOrders, Permission::WriteOrders].into_iter().collect(),
        csrf_token: "csrf".into(),
        created_at: now(),
        expires_at: now() + expires_in,
    }
}

#[tokio::test]
async fn sessions_expire_end_on_delete_and_are_keyed_by_a_hash() {
    on_each_backend(|db| async move {
        let sessions = SeaOrmSessionRepository::new(db.connection.clone());
        let live = session(Duration::hours(1));
        sessions.create("live-token", &live).await.unwrap();
        assert_eq!(sessions.find("live-token", now()).await.unwrap(), Some(live.clone()), "{:?}", db.backend);
        assert_eq!(sessions.find("other-token", now()).await.unwrap(), None);
        assert_eq!(sessions.find("live-token", now() + Duration::hours(2)).await.unwrap(), None, "expired");

        use sea_orm::{ConnectionTrait, Statement};
        let backend = db.connection.backend();
        let rows = db
            .connection
            .write()
            .query_all_raw(Statement::from_string(backend, "SELECT token_hash FROM sessions"))
            .await
            .unwrap();
        let stored: String = rows[0].try_get("", "token_hash").unwrap();
        assert_ne!(stored, "live-token");
        assert_eq!(stored.len(), 64, "SHA-256 hex");

        sessions.delete("live-token").await.unwrap();
        assert_eq!(sessions.find("live-token", now()).await.unwrap(), None, "sign-out ends it");
    })
    .await;
}

use std::time::Duration;

use orderdesk_adapters::testing::on_each_backend;
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmIdempotencyRepository, SeaOrmOrderRepository};
use orderdesk_domain::idempotency::{IdempotencyKey, IdempotencyRecord, IdempotentRequest, StoredResponse};
use orderdesk_domain::ports::{CustomerRepository, IdempotencyRepository, OrderFilter, OrderRepository};
use orderdesk_domain::{PageRequest, RepoError};

use crate::{customer, day, now, order};

pub(crate) fn record(key: &str, retention: Duration) -> IdempotencyRecord {
    let request = IdempotentRequest {
        subject: "auth0|clerk".into(),
        key: IdempotencyKey::parse(key).unwrap(),
        operation: "createOrder".into(),
        fingerprint: "f".repeat(64),
    };
    let response = StoredResponse::new(r#"{"location":"/api/v1/orders/x","etag":"\"0\"","body":{"a":1}}"#);
    IdempotencyRecord::new(request, response, now(), retention)
}

#[tokio::test]
async fn a_key_is_stored_with_its_order_and_a_second_use_stores_nothing() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let keys = SeaOrmIdempotencyRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();

        let first = record("k-1", Duration::from_secs(3600));
        orders.insert(&order(&alice, "1", day(1)), &[], Some(first.clone()), &[]).await.unwrap();
        assert_eq!(keys.find("auth0|clerk", "k-1", now()).await.unwrap(), Some(first.clone()), "{:?}", db.backend);
        assert_eq!(keys.find("auth0|other", "k-1", now()).await.unwrap(), None, "keys are per caller");

        let retry =
            orders.insert(&order(&alice, "1", day(1)), &[], Some(record("k-1", Duration::from_secs(3600))), &[]).await;
        assert!(matches!(retry, Err(RepoError::KeyTaken)), "{retry:?} on {:?}", db.backend);
        let stored = orders.list(OrderFilter::default(), PageRequest::default()).await.unwrap();
        assert_eq!(stored.items.len(), 1, "the retry's order was rolled back with its key");

        // A customer insert with a taken key stores no customer either.
        let taken = customers.insert(&customer("B"), Some(record("k-1", Duration::from_secs(3600))), &[]).await;
        assert!(matches!(taken, Err(RepoError::KeyTaken)));
        assert_eq!(customers.list(PageRequest::default()).await.unwrap().items.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn expired_keys_are_invisible_reusable_and_swept() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let keys = SeaOrmIdempotencyRepository::new(db.connection.clone());
        let mut expired = record("old", Duration::from_secs(60));
        expired.created_at -= chrono::Duration::hours(2);
        expired.expires_at -= chrono::Duration::hours(2);
        customers.insert(&customer("A"), Some(expired), &[]).await.unwrap();
        assert_eq!(keys.find("auth0|clerk", "old", now()).await.unwrap(), None, "expired");
        // The key is free again: a new request with it is stored.
        customers.insert(&customer("B"), Some(record("old", Duration::from_secs(60))), &[]).await.unwrap();
        assert!(keys.find("auth0|clerk", "old", now()).await.unwrap().is_some());
        assert_eq!(keys.sweep(now() + chrono::Duration::minutes(2)).await.unwrap(), 1, "{:?}", db.backend);
        assert_eq!(keys.find("auth0|clerk", "old", now()).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn conditional_writes_compare_versions() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let mut alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();
        let stale = alice.clone();
        alice.change(orderdesk_domain::CustomerEdit::default(), now(), &crate::actor());
        let renamed = orderdesk_domain::CustomerName::parse("Alice W.").unwrap();
        let edit = orderdesk_domain::CustomerEdit { name: Some(renamed), ..Default::default() };
        alice.change(edit, now(), &crate::actor());
        assert_eq!(alice.audit().version, 1);
        customers.update(&alice, Some(0), &[]).await.unwrap();
        assert_eq!(customers.find(alice.id()).await.unwrap().unwrap().audit().version, 1);
        assert!(matches!(customers.update(&alice, Some(0), &[]).await, Err(RepoError::VersionMismatch)));
        assert!(matches!(customers.delete(stale.id(), Some(0), &[]).await, Err(RepoError::VersionMismatch)));
        customers.delete(alice.id(), Some(1), &[]).await.unwrap();
        assert!(matches!(customers.delete(alice.id(), Some(1), &[]).await, Err(RepoError::NotFound)));
    })
    .await;
}

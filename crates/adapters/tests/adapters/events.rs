//! The event feed: each write stores its events in its transaction, with the object as it was,
//! and the feed reads them back by type and cursor.

use chrono::Duration;
use orderdesk_adapters::testing::on_each_backend;
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmEventRepository, SeaOrmOrderRepository};
use orderdesk_domain::notification::SkipReason;
use orderdesk_domain::ports::{CustomerRepository, EventRepository, OrderRepository};
use orderdesk_domain::{
    CustomerEdit, Event, EventObject, EventSelector, EventType, NewEvent, Notification, NotificationStatus, RepoError,
};

use crate::{actor, customer, now, order};

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn each_write_stores_its_events_with_the_object_as_it_was() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let events = SeaOrmEventRepository::new(db.connection.clone());

        let mut alice = customer("EVENTS-1");
        customers.insert(&alice, None, &[NewEvent::customer(EventType::CustomerCreated, &alice, now())]).await.unwrap();
        let created = alice.clone();
        alice.change(CustomerEdit::opt_out(), now(), &actor());
        customers
            .update(&alice, Some(0), &[NewEvent::customer(EventType::CustomerUpdated, &alice, now())])
            .await
            .unwrap();

        let placed = order(&alice, "250.50", now());
        let skipped = Notification::new(placed.id(), alice.phone().clone(), "Order received".into(), now())
            .skipped(SkipReason::OptedOut);
        let written = [
            NewEvent::order(EventType::OrderCreated, &placed, now()),
            NewEvent::notification_written(&skipped, now()).expect("a skipped SMS makes an event"),
        ];
        orders.insert(&placed, std::slice::from_ref(&skipped), None, &written).await.unwrap();

        let all = events.list(&EventSelector::all(), None, now() + Duration::seconds(1), 50).await.unwrap();
        assert_eq!(
            kinds(&all),
            ["customer.created", "customer.updated", "order.created", "notification.skipped"],
            "{:?}",
            db.backend
        );
        // Each keeps its object as it was then: the first customer is not opted out yet.
        assert_eq!(all[0].object, EventObject::Customer(created));
        assert_eq!(all[1].object, EventObject::Customer(alice.clone()));
        assert_eq!(all[2].object, EventObject::Order(placed.clone()));
        let EventObject::Notification(sms) = &all[3].object else { panic!("not a notification: {:?}", all[3]) };
        assert_eq!((sms.status(), sms.skip_reason()), (NotificationStatus::Skipped, Some(SkipReason::OptedOut)));
        assert_eq!(events.find(all[2].id).await.unwrap().as_ref(), Some(&all[2]));

        // By type, after a cursor, up to a time, and at most `limit`.
        let orders_only = EventSelector::parse_list("order.*").unwrap();
        assert_eq!(kinds(&events.list(&orders_only, None, now(), 50).await.unwrap()), ["order.created"]);
        let after_first = events.list(&EventSelector::all(), Some(all[0].id), now(), 2).await.unwrap();
        assert_eq!(kinds(&after_first), ["customer.updated", "order.created"]);
        let everything = EventSelector::all();
        let before_any = events.list(&everything, None, all[0].created_at - Duration::seconds(1), 50);
        assert!(before_any.await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_refused_write_stores_no_event_and_a_deleted_object_stays_in_its_event() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let events = SeaOrmEventRepository::new(db.connection.clone());
        let bob = customer("EVENTS-2");
        customers.insert(&bob, None, &[]).await.unwrap();
        let stale = [NewEvent::customer(EventType::CustomerUpdated, &bob, now())];
        assert!(matches!(customers.update(&bob, Some(9), &stale).await, Err(RepoError::VersionMismatch)));
        let duplicate = customer("events-2");
        let refused = [NewEvent::customer(EventType::CustomerCreated, &duplicate, now())];
        assert!(matches!(customers.insert(&duplicate, None, &refused).await, Err(RepoError::Duplicate)));
        assert!(events.list(&EventSelector::all(), None, now(), 50).await.unwrap().is_empty(), "{:?}", db.backend);

        let deleted = [NewEvent::customer(EventType::CustomerDeleted, &bob, now())];
        customers.delete(bob.id(), Some(0), &deleted).await.unwrap();
        let feed = events.list(&EventSelector::all(), None, now(), 50).await.unwrap();
        assert_eq!(kinds(&feed), ["customer.deleted"]);
        assert_eq!(feed[0].object, EventObject::Customer(bob));
    })
    .await;
}

#[tokio::test]
async fn prune_deletes_only_what_is_older_than_the_cutoff() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let events = SeaOrmEventRepository::new(db.connection.clone());
        let old = customer("EVENTS-3");
        let new = customer("EVENTS-4");
        let long_ago = now() - Duration::days(40);
        customers.insert(&old, None, &[NewEvent::customer(EventType::CustomerCreated, &old, long_ago)]).await.unwrap();
        customers.insert(&new, None, &[NewEvent::customer(EventType::CustomerCreated, &new, now())]).await.unwrap();
        assert_eq!(events.prune(now() - Duration::days(30)).await.unwrap(), 1, "{:?}", db.backend);
        let left = events.list(&EventSelector::all(), None, now(), 50).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].object.id(), new.id().as_uuid());
    })
    .await;
}

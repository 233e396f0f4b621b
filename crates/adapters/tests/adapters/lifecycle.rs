//! Order numbers, status changes, history and the delete rule, on each backend.

use std::collections::BTreeSet;

use orderdesk_adapters::testing::on_each_backend;
use orderdesk_adapters::{
    SeaOrmCustomerRepository, SeaOrmNotificationRepository, SeaOrmOrderRepository, raise_first_order_number,
};
use orderdesk_domain::notification::NotificationParts;
use orderdesk_domain::ports::{CustomerRepository, NotificationRepository, OrderFilter, OrderRepository};
use orderdesk_domain::{
    CancelReason, Cancellation, Notification, OrderNumber, OrderStatus, PageRequest, RepoError, StatusNote,
};

use crate::{actor, customer, day, now, numbered, order};

#[tokio::test]
async fn fifty_concurrent_creates_get_fifty_different_numbers_from_1001() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();
        let tasks = (0..50).map(|_| {
            let orders = SeaOrmOrderRepository::new(db.connection.clone());
            let alice = alice.clone();
            tokio::spawn(async move {
                let number = orders.next_number().await?;
                orders.insert(&numbered(&alice, "10", day(1), number), &[], None, &[]).await.map(|()| number)
            })
        });
        let mut numbers = BTreeSet::new();
        for task in tasks.collect::<Vec<_>>() {
            assert!(numbers.insert(task.await.unwrap().unwrap().get()), "a number was given twice ({:?})", db.backend);
        }
        assert_eq!(numbers, (1001..=1050).collect(), "{:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn first_number_raises_the_counter_and_never_lowers_it() {
    on_each_backend(|db| async move {
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        assert_eq!(orders.next_number().await.unwrap().get(), 1001);
        raise_first_order_number(db.connection.write(), OrderNumber::new(5000).unwrap()).await.unwrap();
        assert_eq!(orders.next_number().await.unwrap().get(), 5000, "{:?}", db.backend);
        raise_first_order_number(db.connection.write(), OrderNumber::new(10).unwrap()).await.unwrap();
        raise_first_order_number(db.connection.write(), OrderNumber::new(5001).unwrap()).await.unwrap();
        assert_eq!(orders.next_number().await.unwrap().get(), 5001, "{:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn status_changes_are_stored_with_their_history_over_the_version_decided_from() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();
        let mut o = order(&alice, "5", day(1));
        orders.insert(&o, &[], None, &[]).await.unwrap();
        let stale = o.clone();

        let note = Some(StatusNote::parse("at the counter").unwrap());
        let ready = o.move_to(OrderStatus::Ready, None, note, now(), &actor()).unwrap().unwrap();
        orders.change_status(&o, &ready, &[], None, &[]).await.unwrap();
        assert_eq!(orders.find(o.id()).await.unwrap().unwrap(), o, "{:?}", db.backend);

        // A change decided from the old version loses.
        let mut late = stale.clone();
        let confirmed = late.move_to(OrderStatus::Confirmed, None, None, now(), &actor()).unwrap().unwrap();
        assert!(matches!(
            orders.change_status(&late, &confirmed, &[], None, &[]).await,
            Err(RepoError::VersionMismatch)
        ));

        let why = Cancellation { reason: CancelReason::OutOfStock, note: Some(StatusNote::parse("no flour").unwrap()) };
        let cancelled = o.move_to(OrderStatus::Cancelled, Some(why), None, now(), &actor()).unwrap().unwrap();
        orders.change_status(&o, &cancelled, &[], None, &[]).await.unwrap();
        let stored = orders.find(o.id()).await.unwrap().unwrap();
        assert_eq!(stored, o, "{:?}", db.backend);
        assert_eq!(stored.lifecycle().cancellation.as_ref().unwrap().reason, CancelReason::OutOfStock);

        let history = orders.history(o.id()).await.unwrap();
        assert_eq!(history, vec![stale.creation(), ready, cancelled], "{:?}", db.backend);
    })
    .await;
}

#[tokio::test]
async fn only_a_received_order_without_attempted_sms_is_deleted_and_attempted_sms_stay() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let outbox = SeaOrmNotificationRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();

        // Received, its SMS still waiting: both go.
        let mistake = order(&alice, "1", day(1));
        let waiting = Notification::new(mistake.id(), alice.phone().clone(), "hi".into(), now());
        orders.insert(&mistake, std::slice::from_ref(&waiting), None, &[]).await.unwrap();
        assert!(matches!(orders.delete(mistake.id(), Some(7), &[]).await, Err(RepoError::VersionMismatch)));
        orders.delete(mistake.id(), Some(0), &[]).await.unwrap();
        assert_eq!(outbox.find(waiting.id()).await.unwrap(), None);
        assert!(orders.history(mistake.id()).await.unwrap().is_empty());

        // Received, but its SMS was attempted: refused, and the SMS stays.
        let texted = order(&alice, "2", day(1));
        let sms = Notification::new(texted.id(), alice.phone().clone(), "hi".into(), now());
        orders.insert(&texted, std::slice::from_ref(&sms), None, &[]).await.unwrap();
        let attempted =
            Notification::restore(NotificationParts { attempts: 1, version: sms.version() + 1, ..sms.parts().clone() });
        assert!(outbox.store(sms.version(), &attempted, None, &[]).await.unwrap());
        assert!(matches!(orders.delete(texted.id(), None, &[]).await, Err(RepoError::ForeignKey)), "{:?}", db.backend);
        assert!(outbox.find(sms.id()).await.unwrap().is_some());
        assert!(orders.find(texted.id()).await.unwrap().is_some());

        // Moved on from received: refused.
        let mut confirmed = order(&alice, "3", day(1));
        orders.insert(&confirmed, &[], None, &[]).await.unwrap();
        let change = confirmed.move_to(OrderStatus::Confirmed, None, None, now(), &actor()).unwrap().unwrap();
        orders.change_status(&confirmed, &change, &[], None, &[]).await.unwrap();
        assert!(matches!(orders.delete(confirmed.id(), None, &[]).await, Err(RepoError::ForeignKey)));
        assert_eq!(orders.history(confirmed.id()).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn lists_filter_by_statuses_and_number() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();
        let (new, mut ready, mut done) =
            (order(&alice, "1", day(1)), order(&alice, "2", day(1)), order(&alice, "3", day(1)));
        for o in [&new, &ready, &done] {
            orders.insert(o, &[], None, &[]).await.unwrap();
        }
        for (o, to) in [(&mut ready, OrderStatus::Ready), (&mut done, OrderStatus::Completed)] {
            let change = o.move_to(to, None, None, now(), &actor()).unwrap().unwrap();
            orders.change_status(o, &change, &[], None, &[]).await.unwrap();
        }
        let ids = |filter: OrderFilter| {
            let orders = orders.clone();
            async move {
                orders
                    .list(filter, PageRequest::default())
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|o| o.id())
                    .collect::<Vec<_>>()
            }
        };
        let open = OrderFilter { statuses: vec![OrderStatus::Received, OrderStatus::Ready], ..Default::default() };
        assert_eq!(ids(open).await, [ready.id(), new.id()], "{:?}", db.backend);
        let by_number = OrderFilter { number: Some(done.number()), ..Default::default() };
        assert_eq!(ids(by_number).await, [done.id()]);
        let none =
            OrderFilter { number: Some(done.number()), statuses: vec![OrderStatus::Cancelled], ..Default::default() };
        assert!(ids(none).await.is_empty());
    })
    .await;
}

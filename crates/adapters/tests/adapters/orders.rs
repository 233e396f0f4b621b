use chrono::Duration;
use orderdesk_adapters::testing::on_each_backend;
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmEventRepository, SeaOrmOrderRepository};
use orderdesk_domain::ports::{CustomerRepository, EventRepository, OrderFilter, OrderRepository};
use orderdesk_domain::{
    Currency, EventSelector, EventType, ItemName, Money, NewEvent, Notification, OrderId, PageRequest, RepoError,
};

use crate::{actor, customer, day, now, order};

#[tokio::test]
async fn order_round_trips_with_exact_amount() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();
        // The largest amount: would lose cents through a float.
        let big = order(&alice, "9999999999999.99", day(3));
        orders.insert(&big, &[], None, &[]).await.unwrap();
        let stored = orders.find(big.id()).await.unwrap().unwrap();
        assert_eq!(stored, big, "{:?}", db.backend);
        assert_eq!(stored.amount().amount_string(), "9999999999999.99");
        assert_eq!(orders.find(OrderId::generate()).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn order_for_missing_customer_is_a_foreign_key_error() {
    on_each_backend(|db| async move {
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let ghost = customer("GHOST");
        assert!(
            matches!(orders.insert(&order(&ghost, "1", day(1)), &[], None, &[]).await, Err(RepoError::ForeignKey)),
            "{:?}",
            db.backend
        );
    })
    .await;
}

#[tokio::test]
async fn update_and_delete_report_missing_orders() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None, &[]).await.unwrap();
        let mut o = order(&alice, "5", day(1));
        orders.insert(&o, &[], None, &[]).await.unwrap();

        let usd = Money::parse("7.25", Currency::parse("USD").unwrap()).unwrap();
        o.change(Some(ItemName::parse("Sugar").unwrap()), Some(usd), Some(day(2)), now(), &actor());
        orders.update(&o, None, &[]).await.unwrap();
        assert_eq!(orders.find(o.id()).await.unwrap().unwrap(), o);

        orders.delete(o.id(), None, &[]).await.unwrap();
        assert!(matches!(orders.delete(o.id(), None, &[]).await, Err(RepoError::NotFound)));
        assert!(matches!(orders.update(&o, None, &[]).await, Err(RepoError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn list_filters_by_customer_and_half_open_time_range() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let (alice, bob) = (customer("A"), customer("B"));
        customers.insert(&alice, None, &[]).await.unwrap();
        customers.insert(&bob, None, &[]).await.unwrap();
        let a1 = order(&alice, "1", day(1));
        let a2 = order(&alice, "2", day(2));
        let a3 = order(&alice, "3", day(3));
        let b2 = order(&bob, "4", day(2));
        for o in [&a1, &a2, &a3, &b2] {
            orders.insert(o, &[], None, &[]).await.unwrap();
        }

        let by_alice = OrderFilter { customer_id: Some(alice.id()), ..Default::default() };
        let page = orders.list(by_alice, PageRequest::default()).await.unwrap();
        assert_eq!(page.items.iter().map(|o| o.id()).collect::<Vec<_>>(), [a3.id(), a2.id(), a1.id()]);
        assert_eq!(page.next, None);

        let second_day = OrderFilter { ordered_from: Some(day(2)), ordered_to: Some(day(3)), ..Default::default() };
        let page = orders.list(second_day, PageRequest::default()).await.unwrap();
        assert_eq!(page.items.iter().map(|o| o.id()).collect::<Vec<_>>(), [b2.id(), a2.id()], "{:?}", db.backend);

        let first_page = orders.list(OrderFilter::default(), PageRequest::new(None, Some(3)).unwrap()).await.unwrap();
        assert_eq!(first_page.items.len(), 3);
        let rest =
            orders.list(OrderFilter::default(), PageRequest::new(first_page.next, Some(3)).unwrap()).await.unwrap();
        assert_eq!(rest.items.iter().map(|o| o.id()).collect::<Vec<_>>(), [a1.id()]);
        assert_eq!(rest.next, None);
    })
    .await;
}

#[tokio::test]
async fn a_create_that_fails_after_its_order_row_stores_none_of_its_rows() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let events = SeaOrmEventRepository::new(db.connection.clone());
        let alice = customer("BATCH-1");
        customers.insert(&alice, None, &[]).await.unwrap();
        let placed = order(&alice, "12.00", day(2));
        // The SMS names an order that does not exist: its insert fails after the order's and
        // the history's have run (SQLite checks the key at once, PostgreSQL at the statement's end).
        let stray = Notification::new(OrderId::generate(), alice.phone().clone(), "Order received".into(), now());
        let written = [NewEvent::order(EventType::OrderCreated, &placed, now())];
        let refused = orders.insert(&placed, std::slice::from_ref(&stray), None, &written).await;
        assert!(matches!(refused, Err(RepoError::ForeignKey)), "{refused:?} on {:?}", db.backend);
        assert_eq!(orders.find(placed.id()).await.unwrap(), None, "{:?}", db.backend);
        assert!(orders.history(placed.id()).await.unwrap().is_empty(), "{:?}", db.backend);
        let all = events.list(&EventSelector::all(), None, now() + Duration::seconds(1), 50).await.unwrap();
        assert!(all.iter().all(|e| e.object.id() != placed.id().as_uuid()), "{:?}", db.backend);

        // The same create with its own SMS stores all of them.
        let sms = Notification::new(placed.id(), alice.phone().clone(), "Order received".into(), now());
        orders.insert(&placed, std::slice::from_ref(&sms), None, &written).await.unwrap();
        assert_eq!(orders.find(placed.id()).await.unwrap().as_ref(), Some(&placed));
        assert_eq!(orders.history(placed.id()).await.unwrap().len(), 1);
        let all = events.list(&EventSelector::all(), None, now() + Duration::seconds(1), 50).await.unwrap();
        assert_eq!(all.iter().filter(|e| e.object.id() == placed.id().as_uuid()).count(), 1, "{:?}", db.backend);
    })
    .await;
}

/// Concurrent creates, some of which fail on their own (an SMS for a missing order, a taken
/// idempotency key): each failure rolls back only its own rows. On SQLite the creates queued
/// together share one transaction (the test runtime runs every task up to its wait before the
/// writer task takes the queue), each under its own savepoint.
#[tokio::test]
async fn creates_committed_together_fail_alone() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let alice = customer("GROUP-1");
        customers.insert(&alice, None, &[]).await.unwrap();
        let tasks = (0..40)
            .map(|i| {
                let (orders, alice) = (orders.clone(), alice.clone());
                tokio::spawn(async move {
                    let number = orders.next_number().await?;
                    let placed = crate::numbered(&alice, "3.50", day(4), number);
                    let sms_for = if i % 10 == 3 { OrderId::generate() } else { placed.id() };
                    let sms = Notification::new(sms_for, alice.phone().clone(), "Order received".into(), now());
                    let key = (i % 10 == 7)
                        .then(|| crate::idempotency::record("group-key", std::time::Duration::from_secs(3600)));
                    let written = [NewEvent::order(EventType::OrderCreated, &placed, now())];
                    orders.insert(&placed, std::slice::from_ref(&sms), key, &written).await.map(|()| placed)
                })
            })
            .collect::<Vec<_>>();
        let (mut stored, mut refused) = (Vec::new(), Vec::new());
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Ok(placed) => stored.push(placed),
                Err(error) => refused.push((i, error)),
            }
        }
        // Four stray SMS, and three of the four creates with the same key.
        assert_eq!(refused.len(), 7, "{refused:?} on {:?}", db.backend);
        for (i, error) in &refused {
            let expected =
                if i % 10 == 3 { matches!(error, RepoError::ForeignKey) } else { matches!(error, RepoError::KeyTaken) };
            assert!(expected, "create {i}: {error:?} on {:?}", db.backend);
        }
        let listed = orders.list(OrderFilter::default(), PageRequest::new(None, Some(100)).unwrap()).await.unwrap();
        assert_eq!(listed.items.len(), 33, "{:?}", db.backend);
        for placed in &stored {
            assert_eq!(orders.history(placed.id()).await.unwrap().len(), 1, "{:?}", db.backend);
        }
        let numbers = stored.iter().map(|o| o.number().get()).collect::<std::collections::BTreeSet<_>>();
        assert_eq!(numbers.len(), 33, "every stored create has its own number ({:?})", db.backend);
    })
    .await;
}

use chrono::{Duration, TimeZone, Utc};
use orderdesk_adapters::testing::{Backend, on_each_backend};
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmOrderRepository, SqlOrderReports};
use orderdesk_domain::ports::{CustomerRepository, OrderReports, OrderRepository};
use orderdesk_domain::{Currency, Money, Notification, NotificationStatus, PageRequest};
use sea_orm::{ConnectionTrait, Statement};

use crate::{customer, day, now, order};

#[tokio::test]
async fn the_overview_gives_each_order_its_customer_name_and_newest_sms_status() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let reports = SqlOrderReports::new(db.connection.clone());
        let (alice, bob) = (customer("A"), customer("B"));
        customers.insert(&alice, None).await.unwrap();
        customers.insert(&bob, None).await.unwrap();
        let first = order(&alice, "1", day(1));
        orders
            .insert(&first, &[Notification::new(first.id(), alice.phone().clone(), "hi".into(), now())], None)
            .await
            .unwrap();
        let second = order(&bob, "2", day(2));
        orders.insert(&second, &[], None).await.unwrap();

        let page = reports.overview(PageRequest::new(None, Some(1)).unwrap()).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].order, second, "newest first, {:?}", db.backend);
        assert_eq!(page.items[0].customer_name, bob.name().as_str());
        assert_eq!(page.items[0].sms_status, None);
        let rest = reports.overview(PageRequest::new(page.next, Some(10)).unwrap()).await.unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(
            (rest.items[0].order.id(), rest.items[0].sms_status),
            (first.id(), Some(NotificationStatus::Pending))
        );
        assert_eq!(rest.next, None);
    })
    .await;
}

#[tokio::test]
async fn daily_totals_group_by_utc_day_and_currency_in_the_period() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let reports = SqlOrderReports::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None).await.unwrap();
        let late = Utc.with_ymd_and_hms(2026, 11, 2, 23, 59, 59).unwrap();
        orders.insert(&order(&alice, "10.50", late), &[], None).await.unwrap();
        orders.insert(&order(&alice, "0.25", late - Duration::hours(23)), &[], None).await.unwrap();
        let mut dollars = order(&alice, "3", late);
        let usd = Money::parse("3", Currency::parse("USD").unwrap()).unwrap();
        dollars.change(None, Some(usd), None, now(), &crate::actor());
        orders.insert(&dollars, &[], None).await.unwrap();
        orders.insert(&order(&alice, "99", late + Duration::seconds(1)), &[], None).await.unwrap();
        orders.insert(&order(&alice, "99", day(1) - Duration::seconds(1)), &[], None).await.unwrap();

        let from = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
        let totals = reports.daily_totals(from, to).await.unwrap();
        let seen: Vec<(String, &str, u64, i128)> =
            totals.iter().map(|t| (t.day.to_string(), t.currency.code(), t.orders, t.revenue_minor)).collect();
        let expected = vec![
            ("2026-11-01".to_owned(), "KES", 1, 9900),
            ("2026-11-02".to_owned(), "KES", 2, 1075),
            ("2026-11-02".to_owned(), "USD", 1, 300),
        ];
        assert_eq!(seen, expected, "{:?}", db.backend);
    })
    .await;
}

/// 9,400 orders of the largest amount on one day add up to more than an i64 holds: the
/// total must still be exact (issue: the dashboard's revenue wrapped to 0).
#[tokio::test]
async fn daily_revenue_beyond_the_64_bit_range_is_exact() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let alice = customer("A");
        customers.insert(&alice, None).await.unwrap();
        let backend = db.connection.get_database_backend();
        let (uuid, ts, customer) = match db.backend {
            Backend::Postgres => ("gen_random_uuid()", "'2026-11-05T12:00:00Z'::timestamptz", "$1"),
            Backend::Sqlite => ("randomblob(16)", "'2026-11-05T12:00:00+00:00'", "?1"),
        };
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9400) \
             INSERT INTO orders (id, customer_id, item, amount_minor, currency, ordered_at, created_at, updated_at, \
             number, reference) \
             SELECT {uuid}, {customer}, 'Gold', 999999999999999, 'KES', {ts}, {ts}, {ts}, i, 'ORD-' || i FROM n"
        );
        let statement = Statement::from_sql_and_values(backend, sql, [alice.id().as_uuid().into()]);
        db.connection.execute_raw(statement).await.unwrap();

        let from = Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap();
        let totals =
            SqlOrderReports::new(db.connection.clone()).daily_totals(from, from + Duration::days(1)).await.unwrap();
        assert_eq!(totals.len(), 1, "{:?}", db.backend);
        assert_eq!(totals[0].orders, 9400);
        assert_eq!(totals[0].revenue_minor, 999_999_999_999_999i128 * 9400);
        assert!(totals[0].revenue_minor > i128::from(i64::MAX));
    })
    .await;
}

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use orderdesk_adapters::memory::InMemoryStore;
use orderdesk_adapters::testing::{Backend, on_each_backend};
use orderdesk_adapters::{SeaOrmCustomerRepository, SeaOrmOrderRepository, SqlOrderReports};
use orderdesk_domain::ports::{BoardCursor, CustomerRepository, OrderFilter, OrderReports, OrderRepository};
use orderdesk_domain::{Currency, Money, Notification, NotificationStatus, Order, OrderStatus, PageRequest};
use sea_orm::{ConnectionTrait, Statement};

use crate::{customer, day, now, order};

#[tokio::test]
async fn the_overview_gives_each_order_its_customer_name_and_newest_sms_status() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let reports = SqlOrderReports::new(db.connection.clone());
        let (alice, bob) = (customer("A"), customer("B"));
        customers.insert(&alice, None, &[]).await.unwrap();
        customers.insert(&bob, None, &[]).await.unwrap();
        let first = order(&alice, "1", day(1));
        orders
            .insert(&first, &[Notification::new(first.id(), alice.phone().clone(), "hi".into(), now())], None, &[])
            .await
            .unwrap();
        let second = order(&bob, "2", day(2));
        orders.insert(&second, &[], None, &[]).await.unwrap();

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
        customers.insert(&alice, None, &[]).await.unwrap();
        let late = Utc.with_ymd_and_hms(2026, 11, 2, 23, 59, 59).unwrap();
        orders.insert(&order(&alice, "10.50", late), &[], None, &[]).await.unwrap();
        orders.insert(&order(&alice, "0.25", late - Duration::hours(23)), &[], None, &[]).await.unwrap();
        let mut dollars = order(&alice, "3", late);
        let usd = Money::parse("3", Currency::parse("USD").unwrap()).unwrap();
        dollars.change(None, Some(usd), None, now(), &crate::actor());
        orders.insert(&dollars, &[], None, &[]).await.unwrap();
        orders.insert(&order(&alice, "99", late + Duration::seconds(1)), &[], None, &[]).await.unwrap();
        orders.insert(&order(&alice, "99", day(1) - Duration::seconds(1)), &[], None, &[]).await.unwrap();

        let from = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
        let totals = reports.daily_totals(from, to, Tz::UTC).await.unwrap();
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
        customers.insert(&alice, None, &[]).await.unwrap();
        let backend = db.connection.backend();
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
        db.connection.write().execute_raw(statement).await.unwrap();

        let from = Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap();
        let totals = SqlOrderReports::new(db.connection.clone())
            .daily_totals(from, from + Duration::days(1), Tz::UTC)
            .await
            .unwrap();
        assert_eq!(totals.len(), 1, "{:?}", db.backend);
        assert_eq!(totals[0].orders, 9400);
        assert_eq!(totals[0].revenue_minor, 999_999_999_999_999i128 * 9400);
        assert!(totals[0].revenue_minor > i128::from(i64::MAX));
    })
    .await;
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc)
}

/// Every page of the board for `filter`, `limit` rows at a time.
async fn whole_board(reports: &dyn OrderReports, filter: &OrderFilter, limit: u64) -> Vec<Order> {
    let mut listed = Vec::new();
    let mut after: Option<BoardCursor> = None;
    loop {
        let page = reports.board(filter, after, limit).await.unwrap();
        assert!(page.items.len() as u64 <= limit);
        listed.extend(page.items.into_iter().map(|row| row.order));
        match page.next {
            Some(next) => after = Some(next),
            None => return listed,
        }
    }
}

/// The board on any store: newest `ordered_at` first, a back-dated order after today's, and
/// paging across equal `ordered_at` values losing and repeating nothing.
async fn board_scenario(
    customers: &dyn CustomerRepository,
    orders: &dyn OrderRepository,
    reports: &dyn OrderReports,
    label: &str,
) {
    let (alice, bob) = (customer("A"), customer("B"));
    customers.insert(&alice, None, &[]).await.unwrap();
    customers.insert(&bob, None, &[]).await.unwrap();
    let today = at("2026-11-30T09:00:00Z");
    let morning = order(&alice, "1", today);
    orders
        .insert(&morning, &[Notification::new(morning.id(), alice.phone().clone(), "hi".into(), now())], None, &[])
        .await
        .unwrap();
    // Seven orders at one instant (a batch entered with one time), so pages split inside it.
    let noon = at("2026-11-30T12:00:00.250000Z");
    let mut same = Vec::new();
    for i in 0..7 {
        let o = order(if i % 2 == 0 { &alice } else { &bob }, "2", noon);
        orders.insert(&o, &[], None, &[]).await.unwrap();
        same.push(o);
    }
    let evening = order(&bob, "3", at("2026-11-30T18:30:00Z"));
    orders.insert(&evening, &[], None, &[]).await.unwrap();
    // Entered last (newest id), but ordered yesterday.
    let back_dated = order(&alice, "4", at("2026-11-29T15:00:00Z"));
    orders.insert(&back_dated, &[], None, &[]).await.unwrap();

    let first = reports.board(&OrderFilter::default(), None, 3).await.unwrap();
    assert_eq!(first.items[0].order, evening, "{label}");
    assert_eq!(first.items[0].customer_name, bob.name().as_str(), "{label}");
    assert_eq!(first.items[0].sms_status, None, "{label}");
    assert!(first.next.is_some(), "{label}");

    let mut expected: Vec<&Order> = std::iter::once(&evening).chain(&same).chain([&morning, &back_dated]).collect();
    expected.sort_by_key(|o| std::cmp::Reverse((o.ordered_at(), o.id().as_uuid())));
    let expected: Vec<_> = expected.into_iter().map(Order::id).collect();
    assert_eq!(expected.last(), Some(&back_dated.id()), "{label}: the back-dated order lists last");
    for limit in [1, 2, 3, 4, 10, 11] {
        let listed: Vec<_> = whole_board(reports, &OrderFilter::default(), limit).await.iter().map(Order::id).collect();
        assert_eq!(listed, expected, "{label}: pages of {limit}");
    }

    let rows = reports.board(&OrderFilter::default(), None, 20).await.unwrap();
    let row = rows.items.iter().find(|r| r.order.id() == morning.id()).unwrap();
    assert_eq!(
        (row.sms_status, row.customer_name.as_str()),
        (Some(NotificationStatus::Pending), alice.name().as_str())
    );

    // Filters: customer, status, number, period; and paging within a filter.
    let of_bob = OrderFilter { customer_id: Some(bob.id()), ..OrderFilter::default() };
    let listed = whole_board(reports, &of_bob, 2).await;
    assert_eq!(listed.len(), 4, "{label}");
    assert!(listed.iter().all(|o| o.customer_id() == bob.id()), "{label}");
    let ready = OrderFilter { statuses: vec![OrderStatus::Ready, OrderStatus::Completed], ..OrderFilter::default() };
    assert!(reports.board(&ready, None, 10).await.unwrap().items.is_empty(), "{label}");
    let received = OrderFilter { statuses: vec![OrderStatus::Received], ..OrderFilter::default() };
    assert_eq!(whole_board(reports, &received, 5).await.len(), 10, "{label}");
    let by_number = OrderFilter { number: Some(back_dated.number()), ..OrderFilter::default() };
    let found = reports.board(&by_number, None, 10).await.unwrap();
    assert_eq!(found.items.iter().map(|r| r.order.id()).collect::<Vec<_>>(), [back_dated.id()], "{label}");
    let on_the_30th = OrderFilter {
        ordered_from: Some(at("2026-11-30T00:00:00Z")),
        ordered_to: Some(at("2026-11-30T18:30:00Z")),
        ..OrderFilter::default()
    };
    let listed: Vec<_> = whole_board(reports, &on_the_30th, 3).await.iter().map(Order::id).collect();
    assert_eq!(listed, expected[1..9], "{label}: from inclusive, to exclusive");
}

#[tokio::test]
async fn the_board_lists_by_ordered_at_and_pages_across_equal_times() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let reports = SqlOrderReports::new(db.connection.clone());
        board_scenario(&customers, &orders, &reports, &format!("{:?}", db.backend)).await;
    })
    .await;
    let store = InMemoryStore::default();
    board_scenario(&store, &store, &store, "memory").await;
}

/// Daily totals in the shop's zone on any store.
async fn zone_scenario(
    customers: &dyn CustomerRepository,
    orders: &dyn OrderRepository,
    reports: &dyn OrderReports,
    label: &str,
) {
    let alice = customer("Z");
    customers.insert(&alice, None, &[]).await.unwrap();
    for time in [
        // Nairobi (UTC+3): 01:30 on the 30th; UTC: the 29th.
        "2026-11-29T22:30:00Z",
        "2026-11-29T20:59:59.999999Z",
        // Kathmandu (UTC+5:45): 23:59 on the 29th, then midnight of the 30th.
        "2026-11-29T18:14:59.999999Z",
        "2026-11-29T18:15:00Z",
        // Berlin: 23:59 CET on the 28th; 00:30 and 01:59 CET on the 29th; 03:00 CEST (the clocks
        // skip 02:00-03:00) and 23:59 CEST on the 29th; midnight CEST of the 30th.
        "2026-03-28T22:59:00Z",
        "2026-03-28T23:30:00Z",
        "2026-03-29T00:59:00Z",
        "2026-03-29T01:00:00Z",
        "2026-03-29T21:59:00Z",
        "2026-03-29T22:00:00Z",
    ] {
        orders.insert(&order(&alice, "999999999999.99", at(time)), &[], None, &[]).await.unwrap();
    }
    let days = |zone: Tz, from: &str, to: &str| {
        let (from, to) = (at(from), at(to));
        async move {
            let totals = reports.daily_totals(from, to, zone).await.unwrap();
            assert!(totals.iter().all(|t| t.currency.code() == "KES" && t.revenue_minor == 99_999_999_999_999 * i128::from(t.orders)));
            totals.iter().map(|t| (t.day.to_string(), t.orders)).collect::<Vec<_>>()
        }
    };
    let d = |day: &str, n: u64| (day.to_owned(), n);
    let november = ("2026-11-29T00:00:00Z", "2026-12-01T00:00:00Z");
    assert_eq!(
        days(chrono_tz::Africa::Nairobi, november.0, november.1).await,
        [d("2026-11-29", 3), d("2026-11-30", 1)],
        "{label}"
    );
    assert_eq!(days(Tz::UTC, november.0, november.1).await, [d("2026-11-29", 4)], "{label}");
    assert_eq!(
        days(chrono_tz::Asia::Kathmandu, november.0, november.1).await,
        [d("2026-11-29", 1), d("2026-11-30", 3)],
        "{label}"
    );
    let march = ("2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z");
    assert_eq!(
        days(chrono_tz::Europe::Berlin, march.0, march.1).await,
        [d("2026-03-28", 1), d("2026-03-29", 4), d("2026-03-30", 1)],
        "{label}"
    );
    assert_eq!(days(Tz::UTC, march.0, march.1).await, [d("2026-03-28", 2), d("2026-03-29", 4)], "{label}");
    // The period is [from, to) in UTC instants, whatever the zone.
    assert_eq!(
        days(chrono_tz::Europe::Berlin, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z").await,
        [d("2026-03-29", 4)],
        "{label}"
    );
}

#[tokio::test]
async fn daily_totals_count_days_in_the_given_zone() {
    on_each_backend(|db| async move {
        let customers = SeaOrmCustomerRepository::new(db.connection.clone());
        let orders = SeaOrmOrderRepository::new(db.connection.clone());
        let reports = SqlOrderReports::new(db.connection.clone());
        zone_scenario(&customers, &orders, &reports, &format!("{:?}", db.backend)).await;
    })
    .await;
    let store = InMemoryStore::default();
    zone_scenario(&store, &store, &store, "memory").await;
}

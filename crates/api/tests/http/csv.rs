//! The CSV export streams: the first bytes leave before later pages are read, and memory holds
//! one page at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::StreamExt;
use orderdesk_adapters::memory::InMemoryStore;
use orderdesk_domain::ports::{BoardCursor, BoardPage, DailyTotal, OrderFilter, OrderOverview, OrderReports};
use orderdesk_domain::service::{CustomerDraft, OrderDraft};
use orderdesk_domain::{Actor, Page, PageRequest, RepoError};

use crate::{client_for, memory_services};

/// The store's reports, counting board reads.
struct Counting {
    inner: Arc<InMemoryStore>,
    boards: AtomicUsize,
}

#[async_trait]
impl OrderReports for Counting {
    async fn overview(&self, page: PageRequest) -> Result<Page<OrderOverview>, RepoError> {
        self.inner.overview(page).await
    }
    async fn board(
        &self,
        filter: &OrderFilter,
        after: Option<BoardCursor>,
        limit: u64,
    ) -> Result<BoardPage, RepoError> {
        self.boards.fetch_add(1, Ordering::SeqCst);
        self.inner.board(filter, after, limit).await
    }
    async fn daily_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: chrono_tz::Tz,
    ) -> Result<Vec<DailyTotal>, RepoError> {
        self.inner.daily_totals(from, to, zone).await
    }
}

#[tokio::test]
async fn twenty_thousand_orders_stream_one_page_at_a_time() {
    const ORDERS: usize = 20_000;
    let mut services = memory_services();
    let store = Arc::new(InMemoryStore::default());
    services.customers = orderdesk_domain::service::CustomerService::new(
        store.clone(),
        Arc::new(orderdesk_domain::ports::SystemClock),
        orderdesk_domain::PhoneRegion::default(),
    );
    services.orders = orderdesk_domain::service::OrderService::new(
        store.clone(),
        store.clone(),
        Arc::new(orderdesk_domain::ports::SystemClock),
        orderdesk_domain::Currency::parse("KES").unwrap(),
    );
    let actor = Actor::new("seed");
    let draft =
        CustomerDraft { name: "Wanjirū".into(), code: "C-1".into(), phone: "0712345678".into(), ..Default::default() };
    let customer = services.customers.create(draft, &actor, None).await.unwrap();
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for i in 0..ORDERS {
        let draft = OrderDraft {
            customer_id: customer.id(),
            item: format!("Item {i}"),
            amount: "10.50".into(),
            currency: None,
            ordered_at: Some(start + Duration::minutes(i64::try_from(i).unwrap())),
            notify: false,
        };
        services.orders.create(draft, &actor, None).await.unwrap();
    }
    let counting = Arc::new(Counting { inner: store, boards: AtomicUsize::new(0) });
    services.reports = counting.clone();
    let client = client_for(services);
    let began = Instant::now();
    let response = client
        .get("/api/v1/orders/export.csv")
        .query("ordered_from", &"2026-01-01T00:00:00Z")
        .query("ordered_to", &"2026-12-31T00:00:00Z")
        .send()
        .await;
    response.assert_status_is_ok();
    let mut stream = response.0.into_body().into_bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    let first_after = began.elapsed();
    assert!(first.starts_with(b"\xEF\xBB\xBFreference,date,time,"));
    assert!(counting.boards.load(Ordering::SeqCst) <= 2, "the first chunk left before the rest was read");
    let (mut bytes, mut lines, mut largest) = (first.len(), bytecount(&first), first.len());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        bytes += chunk.len();
        lines += bytecount(&chunk);
        largest = largest.max(chunk.len());
    }
    assert_eq!(lines, ORDERS + 1);
    let pages = ORDERS.div_ceil(500);
    assert!(counting.boards.load(Ordering::SeqCst) >= pages);
    // One page per chunk: what is held at once does not grow with the number of orders.
    assert!(largest < 64 * 1024, "largest chunk {largest} bytes");
    eprintln!(
        "export of {ORDERS} orders: {bytes} bytes in {:?}, first chunk after {first_after:?}, largest chunk {largest} bytes",
        began.elapsed()
    );
}

fn bytecount(chunk: &[u8]) -> usize {
    chunk.iter().filter(|b| **b == b'\n').count()
}

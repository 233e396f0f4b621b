//! The generated Rust client (`orderdesk-client`) drives the whole API life cycle against the
//! real `orderdesk` binary: what a Rust service generated from `docs/openapi.json` meets.
//!
//! By default the test starts the binary itself, with a fake Africa's Talking that refuses the
//! credentials (a permanent failure) so a notification reaches `failed` and its retry is accepted. With `ORDERDESK_CLIENT_TEST_BASE_URL`
//! and `ORDERDESK_CLIENT_TEST_TOKEN` it runs against that server instead (`cargo xtask clients`).

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use futures_util::StreamExt;
use orderdesk_client::types::{
    CustomerImport, Event, EventDataObject, ImportAction, Notification, Order, OrderExpand, Problem,
};
use orderdesk_client::{Client, ClientInfo, Error, ResponseValue};
use orderdesk_server::settings::Settings;
use orderdesk_server::startup::dev_issuer;
use uuid::Uuid;

use orderdesk_adapters::testing::africastalking::{FakeAfricasTalking, Mode};

use crate::process::ServerProcess;

/// A server for the test: the one named in the environment, or the real binary started here.
struct Target {
    client: Client,
    /// The server was started here with an SMS provider that always fails.
    sms_fails: bool,
    _server: Option<(ServerProcess, TempDir, FakeAfricasTalking)>,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn target() -> Target {
    let external = (std::env::var("ORDERDESK_CLIENT_TEST_BASE_URL"), std::env::var("ORDERDESK_CLIENT_TEST_TOKEN"));
    if let (Ok(base_url), Ok(token)) = external {
        println!("client life cycle against {base_url}");
        return Target {
            client: Client::with_bearer_token(&base_url, &token).unwrap(),
            sms_fails: false,
            _server: None,
        };
    }
    // Refuses the credentials (401): a permanent failure, so the SMS is `failed` at once (an
    // unreachable provider is only retried, for `sms.retry_for`).
    let fake = FakeAfricasTalking::start().await;
    fake.set_mode(Mode::Unauthorized);
    let data_dir = TempDir(std::env::temp_dir().join(format!("orderdesk-client-{}", Uuid::now_v7().simple())));
    let data_dir_text = data_dir.0.display().to_string();
    let sms_url = fake.server.uri();
    let server = ServerProcess::start(
        &[
            ("ORDERDESK_SERVER__DATA_DIR", &data_dir_text),
            ("ORDERDESK_RATE_LIMIT__ENABLED", "false"),
            ("ORDERDESK_SMS__PROVIDER", "africastalking"),
            ("ORDERDESK_SMS__AFRICASTALKING__BASE_URL", &sms_url),
            ("ORDERDESK_SMS__AFRICASTALKING__API_KEY", "client-test-key"),
            ("ORDERDESK_SMS__AFRICASTALKING__USERNAME", "sandbox"),
            ("ORDERDESK_SMS__POLL_INTERVAL_MS", "100"),
            ("ORDERDESK_SMS__REQUEST_TIMEOUT_MS", "2000"),
        ],
        None,
    );
    let address = server.address().await;
    // The token from the server's own dev issuer, as `orderdesk token` would print it.
    let mut settings = Settings::default();
    settings.server.data_dir = data_dir.0.clone();
    let token = dev_issuer(&settings, address)
        .unwrap()
        .mint("client-test", &orderdesk_domain::Permission::ALL, Duration::from_secs(600))
        .unwrap();
    let client = Client::with_bearer_token(&format!("http://{address}"), &token).unwrap();
    Target { client, sms_fails: true, _server: Some((server, data_dir, fake)) }
}

// Fields are read through `as_str()`/`to_string()` so the test compiles whether the document
// types them as plain strings, constrained strings or enums.

/// The problem of an error response; panics on any other outcome.
fn problem<T: std::fmt::Debug>(result: Result<ResponseValue<T>, Error<Problem>>) -> (u16, Problem) {
    match result {
        Err(Error::ErrorResponse(response)) => (response.status().as_u16(), response.into_inner()),
        other => panic!("expected a problem response, got {other:?}"),
    }
}

/// Hour `hour` (9 to 13) of a window that starts 20 hours ago, fixed for the run: recent enough
/// that every order is texted (`sms.max_order_age_hours`, 24), at known times for the filters.
fn at(hour: u32) -> DateTime<Utc> {
    static START: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        let then = Utc::now() - chrono::Duration::hours(20);
        Utc.with_ymd_and_hms(then.year(), then.month(), then.day(), then.hour(), 0, 0).unwrap()
    });
    start + chrono::Duration::hours(i64::from(hour) - 9)
}

fn etag<T>(response: &ResponseValue<T>) -> String {
    response.headers().get("etag").expect("an ETag header").to_str().unwrap().to_owned()
}

/// Waits (at most 30 s) until the dispatcher is done with the order's SMS for now.
async fn settled_notification(client: &Client, order: &Order) -> Notification {
    for _ in 0..300 {
        let list = client.list_order_notifications().id(order.id).send().await.unwrap().into_inner();
        assert_eq!(list.items.len(), 1, "one SMS per order: {list:?}");
        let notification = list.items.into_iter().next().unwrap();
        assert_eq!(notification.order_id, order.id);
        if !matches!(notification.status.to_string().as_str(), "pending" | "sending") {
            return notification;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the order's SMS never left pending/sending");
}

#[tokio::test]
async fn the_generated_rust_client_drives_the_whole_life_cycle() {
    let Target { client, sms_fails, _server } = target().await;
    let client = &client;
    let run = Uuid::now_v7().simple().to_string();

    // Health, then customers.
    assert_eq!(client.readiness().send().await.unwrap().into_inner().status, "ok");
    let customer = client
        .create_customer()
        .body_map(|b| b.name("Amina Wanjiru").code(format!("RS-{}", &run[20..])).phone("0712 345 678"))
        .send()
        .await
        .unwrap();
    assert_eq!(customer.status().as_u16(), 201);
    let customer = customer.into_inner();
    assert_eq!(customer.phone.as_str(), "+254712345678");
    let other = client
        .create_customer()
        .body_map(|b| b.name("Baraka Otieno").code(format!("RT-{}", &run[20..])).phone("0733 000 111"))
        .send()
        .await
        .unwrap()
        .into_inner();

    // Looking customers up: by the phone as written locally, by code ignoring case, by part
    // of a name or code, and changed since a time; filters combine. Other runs on the same
    // server may share the number and the name, never the code.
    let suffix = &run[20..];
    let by_phone = client.list_customers().phone("0712345678").send().await.unwrap().into_inner();
    assert!(by_phone.items.iter().any(|c| c.id == customer.id), "{by_phone:?}");
    assert!(by_phone.items.iter().all(|c| c.phone == "+254712345678"), "{by_phone:?}");
    let (status, not_a_phone) = problem(client.list_customers().phone("call me").send().await);
    assert_eq!((status, not_a_phone.type_.to_string().as_str()), (422, "/problems/validation-error"));
    assert!(not_a_phone.errors.iter().any(|e| e.field == "phone"), "{not_a_phone:?}");
    let by_code =
        client.list_customers().code(customer.code.to_lowercase().as_str()).send().await.unwrap().into_inner();
    assert_eq!(by_code.items, vec![customer.clone()]);
    let by_name = client.list_customers().q("wanjiru").send().await.unwrap().into_inner();
    assert!(by_name.items.iter().any(|c| c.id == customer.id), "{by_name:?}");
    let ours = client.list_customers().q(suffix).send().await.unwrap().into_inner();
    assert_eq!(ours.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![other.id, customer.id], "newest first");
    let since = client.list_customers().q(suffix).updated_since(other.updated_at).send().await.unwrap().into_inner();
    let expected: Vec<Uuid> =
        [&other, &customer].iter().filter(|c| c.updated_at >= other.updated_at).map(|c| c.id).collect();
    assert_eq!(since.items.iter().map(|c| c.id).collect::<Vec<_>>(), expected);
    let future = Utc::now() + chrono::Duration::hours(1);
    let none = client.list_customers().q(suffix).updated_since(future).send().await.unwrap().into_inner();
    assert_eq!(none.items, vec![]);

    // Orders: three for the customer at known times, one for another customer.
    let mut orders = Vec::new();
    for (hour, amount) in [(9, "250.50"), (11, "100.00"), (13, "75.25")] {
        let order = client
            .create_order()
            .body_map(|b| b.customer_id(customer.id).item("Maize flour 2kg").amount(amount).ordered_at(Some(at(hour))))
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!((order.amount.as_str(), order.currency.as_str()), (amount, "KES"));
        assert_eq!(order.ordered_at, at(hour));
        orders.push(order);
    }
    client
        .create_order()
        .body_map(|b| b.customer_id(other.id).item("Sugar 1kg").amount("120.00").ordered_at(Some(at(11))))
        .send()
        .await
        .unwrap();

    // Filters: one customer's orders in [10:00, 13:00) is the 11:00 one alone.
    let filtered = client
        .list_orders()
        .customer_id(customer.id)
        .ordered_from(at(10))
        .ordered_to(at(13))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.items.iter().map(|o| o.id).collect::<Vec<_>>(), vec![orders[1].id]);
    assert_eq!(filtered.next_cursor, None);

    // Cursor paging: pages of two cover the customer's three orders once each.
    let first = client.list_orders().customer_id(customer.id).limit(2_u64).send().await.unwrap().into_inner();
    assert_eq!(first.items.len(), 2);
    let cursor = first.next_cursor.clone().expect("a next_cursor after a full page");
    let second =
        client.list_orders().customer_id(customer.id).limit(2_u64).cursor(cursor).send().await.unwrap().into_inner();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None, "the last page has no next_cursor");
    let mut paged: Vec<Uuid> = first.items.iter().chain(&second.items).map(|o| o.id).collect();
    let mut created: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    paged.sort();
    created.sort();
    assert_eq!(paged, created);

    // Get, then patch without If-Match (last write wins) and with it (only that version).
    let got = client.get_order().id(orders[0].id).send().await.unwrap();
    let old_etag = etag(&got);
    assert_eq!(got.into_inner(), orders[0]);
    // The order with its customer embedded, exactly as getCustomer returns it; same ETag.
    let expanded = client.get_order().id(orders[0].id).expand(OrderExpand::Customer).send().await.unwrap();
    assert_eq!(etag(&expanded), old_etag);
    let expanded = expanded.into_inner();
    let read = client.get_customer().id(customer.id).send().await.unwrap().into_inner();
    assert_eq!(expanded.customer.as_ref(), Some(&read));
    assert_eq!(Order { customer: None, ..expanded }, orders[0]);
    // `try_into` also fits when the document gives amounts a pattern (a constrained type).
    #[allow(clippy::unnecessary_fallible_conversions)]
    let patched = client
        .update_order()
        .id(orders[0].id)
        .body_map(|b| b.amount(Some("300.00".try_into().unwrap())))
        .send()
        .await
        .unwrap();
    let new_etag = etag(&patched);
    assert_ne!(new_etag, old_etag);
    assert_eq!(patched.into_inner().amount.as_str(), "300.00");
    let (status, stale) = problem(
        client
            .update_order()
            .id(orders[0].id)
            .if_match(old_etag)
            .body_map(|b| b.item(Some("Maize flour 5kg".try_into().unwrap())))
            .send()
            .await,
    );
    assert_eq!((status, stale.type_.to_string().as_str()), (412, "/problems/precondition-failed"));
    let patched = client
        .update_order()
        .id(orders[0].id)
        .if_match(new_etag)
        .body_map(|b| b.item(Some("Maize flour 5kg".try_into().unwrap())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((patched.item.as_str(), patched.amount.as_str()), ("Maize flour 5kg", "300.00"));

    // The order's SMS, and its retry: accepted once failed, else refused with 409.
    let notification = settled_notification(client, &orders[0]).await;
    if sms_fails {
        assert_eq!(notification.status.to_string(), "failed", "{notification:?}");
        assert!(notification.last_error.is_some(), "{notification:?}");
    }
    let retried = client.retry_order_notification().id(orders[0].id).nid(notification.id).send().await;
    if matches!(notification.status.to_string().as_str(), "failed" | "undelivered") {
        let retried = retried.unwrap().into_inner();
        assert_eq!(retried.id, notification.id);
        assert!(matches!(retried.status.to_string().as_str(), "pending" | "sending"), "{retried:?}");
    } else {
        let (status, refused) = problem(retried);
        assert_eq!((status, refused.type_.to_string().as_str()), (409, "/problems/notification-not-retryable"));
    }

    // A validation problem, typed, with the field named.
    let (status, invalid) = problem(
        client
            .create_order()
            .body_map(|b| b.customer_id(customer.id).item("Maize flour 2kg").amount("12.345"))
            .send()
            .await,
    );
    assert_eq!((status, invalid.type_.to_string().as_str()), (422, "/problems/validation-error"));
    assert!(invalid.errors.iter().any(|e| e.field == "amount"), "{invalid:?}");

    // The lifecycle: one order walked from received to completed, another cancelled, each
    // step in its history; a forbidden move and deleting an order with a history are typed 409s.
    assert_eq!(
        (orders[1].status.as_str(), orders[1].reference.as_str()),
        ("received", &*format!("ORD-{}", orders[1].number))
    );
    for step in ["confirmed", "ready", "out_for_delivery", "completed"] {
        #[allow(clippy::unnecessary_fallible_conversions)]
        let moved = client
            .change_order_status()
            .id(orders[1].id)
            .body_map(|b| b.status(step).note(Some(format!("now {step}").try_into().unwrap())))
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(moved.status.as_str(), step);
    }
    let history = client.get_order_history().id(orders[1].id).send().await.unwrap().into_inner();
    let steps: Vec<&str> = history.items.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(steps, ["received", "confirmed", "ready", "out_for_delivery", "completed"]);
    let (status, forbidden) =
        problem(client.change_order_status().id(orders[1].id).body_map(|b| b.status("ready")).send().await);
    assert_eq!((status, forbidden.type_.to_string().as_str()), (409, "/problems/invalid-status-transition"));
    #[allow(clippy::unnecessary_fallible_conversions)]
    let cancelled = client
        .change_order_status()
        .id(orders[2].id)
        .body_map(|b| b.status("cancelled").cancel_reason(Some("customer_request".try_into().unwrap())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.status.as_str(), "cancelled");
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("customer_request"));
    let (status, kept) = problem(client.delete_order().id(orders[2].id).send().await);
    assert_eq!((status, kept.type_.to_string().as_str()), (409, "/problems/order-has-history"));
    let found = client
        .list_orders()
        .number(std::num::NonZeroU64::new(orders[2].number.into()).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.items, vec![cancelled]);

    // A mistake (received, never texted) is deleted; then it is a typed 404.
    let mistake = client
        .create_order()
        .body_map(|b| b.customer_id(customer.id).item("Typo").amount("1.00").notify(Some(false)))
        .send()
        .await
        .unwrap()
        .into_inner();
    let deleted = client.delete_order().id(mistake.id).send().await.unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let (status, missing) = problem(client.get_order().id(mistake.id).send().await);
    assert_eq!((status, missing.type_.to_string().as_str(), missing.status), (404, "/problems/not-found", 404));

    // The CSV export, streamed: the customer's three orders as they now are, newest first.
    let export = client.export_orders().ordered_from(at(9)).ordered_to(at(14)).send().await.unwrap();
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = export.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"orders-"), "{disposition}");
    let csv = csv_text(export.into_inner()).await;
    let mut lines = csv.split_terminator("\r\n");
    assert_eq!(
        lines.next(),
        Some("reference,date,time,customer_code,customer_name,customer_phone,item,amount,currency,status,sms_status")
    );
    let mine: Vec<Vec<&str>> =
        lines.filter(|l| l.contains(&format!(",{},", customer.code))).map(|l| l.split(',').collect()).collect();
    let rows: Vec<[&str; 5]> = mine.iter().map(|c| [c[0], c[5], c[6], c[7], c[9]]).collect();
    assert_eq!(
        rows,
        [
            [orders[2].reference.as_str(), "'+254712345678", "Maize flour 2kg", "75.25", "cancelled"],
            [orders[1].reference.as_str(), "'+254712345678", "Maize flour 2kg", "100.00", "completed"],
            [orders[0].reference.as_str(), "'+254712345678", "Maize flour 5kg", "300.00", "received"],
        ],
        "{csv}"
    );
    let cancelled_only =
        client.export_orders().ordered_from(at(9)).ordered_to(at(14)).status("cancelled").send().await.unwrap();
    let cancelled_only = csv_text(cancelled_only.into_inner()).await;
    assert!(cancelled_only.lines().skip(1).all(|l| l.contains(",cancelled,")), "{cancelled_only}");
    assert!(cancelled_only.contains(orders[2].reference.as_str()), "{cancelled_only}");

    // The customer import. The generated client cannot send it: progenitor has no `text/csv`
    // request bodies, so build.rs gives the operation `application/octet-stream`, which the
    // server refuses. The call is therefore made with the client's own reqwest client (its
    // token, base URL) on the document's path, and the answer read as the generated type.
    let (status, refused) = problem(client.import_customers().body("code,name,phone\n").send().await);
    assert_eq!((status, refused.type_.to_string().as_str()), (415, "/problems/unsupported-media-type"));
    let new_code = format!("RI-{suffix}");
    let file = format!(
        "\u{feff}code,name,phone\r\n{},Amina Wanjiru,0712 345 678\r\n{new_code},\"Imported, Customer\",+254 733 000 222\r\n",
        customer.code.to_lowercase()
    );
    let import = |dry_run: bool| {
        let query = if dry_run { "?dry_run=true" } else { "" };
        client
            .client()
            .post(format!("{}/api/v1/customers/import{query}", client.baseurl()))
            .header("content-type", "text/csv")
            .body(file.clone())
            .send()
    };
    let before = etag(&client.get_customer().id(customer.id).send().await.unwrap());
    let actions = |report: &CustomerImport| report.rows.iter().map(|r| (r.row, r.action)).collect::<Vec<_>>();
    let dry: CustomerImport = import(true).await.unwrap().error_for_status().unwrap().json().await.unwrap();
    assert!(dry.dry_run);
    assert_eq!((dry.created, dry.updated, dry.unchanged), (1, 0, 1));
    assert_eq!(actions(&dry), [(2, ImportAction::Unchanged), (3, ImportAction::Created)]);
    let nothing = client.list_customers().code(new_code.as_str()).send().await.unwrap().into_inner();
    assert_eq!(nothing.items, vec![], "a dry run writes nothing");
    let first: CustomerImport = import(false).await.unwrap().error_for_status().unwrap().json().await.unwrap();
    assert_eq!((first.dry_run, first.created, first.updated, first.unchanged), (false, 1, 0, 1));
    assert_eq!(first.rows[0].code, customer.code, "the stored spelling of the code is kept");
    let imported = client.list_customers().code(new_code.as_str()).send().await.unwrap().into_inner();
    assert_eq!(imported.items.len(), 1);
    assert_eq!(
        (imported.items[0].name.as_str(), imported.items[0].phone.as_str()),
        ("Imported, Customer", "+254733000222")
    );
    let again: CustomerImport = import(false).await.unwrap().error_for_status().unwrap().json().await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2), "the second run changes nothing");
    assert_eq!(etag(&client.get_customer().id(customer.id).send().await.unwrap()), before);
    let still = client.get_customer().id(imported.items[0].id).send().await.unwrap().into_inner();
    assert_eq!(still, imported.items[0]);

    // The event feed: this run's order changes, oldest first, followed by cursor; the mistaken
    // order's deletion carries it as it was.
    let mut events = Vec::new();
    for _ in 0..100 {
        events = feed(client, "order.*").await;
        if events.iter().any(|e| e.type_ == "order.deleted" && object_id(e) == Some(mistake.id)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ours: Vec<&str> =
        events.iter().filter(|e| object_id(e) == Some(orders[0].id)).map(|e| e.type_.as_str()).collect();
    assert_eq!(ours.first(), Some(&"order.created"), "{ours:?}");
    assert!(ours.contains(&"order.updated"), "{ours:?}");
    let cancelled: Vec<&str> =
        events.iter().filter(|e| object_id(e) == Some(orders[1].id)).map(|e| e.type_.as_str()).collect();
    assert!(cancelled.contains(&"order.status_changed"), "{cancelled:?}");
    let deleted = events.iter().find(|e| e.type_ == "order.deleted" && object_id(e) == Some(mistake.id));
    let Some(EventDataObject::Order(as_deleted)) = deleted.map(|e| &e.data.object) else {
        panic!("no order.deleted event with the order: {deleted:?}")
    };
    assert_eq!(as_deleted.item, "Typo");
    let (status, unknown) = problem(client.list_events().type_("order.shipped").send().await);
    assert_eq!((status, unknown.type_.to_string().as_str()), (422, "/problems/validation-error"));

    // Webhook endpoints: the secret only on create and rotate; a test delivery to a port
    // nobody listens on fails and is listed; enable, delete, then 404. (Signed deliveries to a
    // real receiver are the webhooks end-to-end test.)
    let created = client
        .create_webhook_endpoint()
        .body_map(|b| {
            b.url("http://127.0.0.1:9/orderdesk")
                .events(vec!["order.*".to_owned()])
                .description(Some(format!("client life cycle {suffix}").try_into().unwrap()))
        })
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    assert!(created.secret.starts_with("whsec_"));
    let hook = client.get_webhook_endpoint().id(created.id).send().await.unwrap().into_inner();
    assert_eq!((hook.url.as_str(), hook.status.as_str()), ("http://127.0.0.1:9/orderdesk", "enabled"));
    let listed = client.list_webhook_endpoints().send().await.unwrap().into_inner();
    assert!(listed.items.iter().any(|h| h.id == created.id));
    let rotated = client.rotate_webhook_endpoint_secret().id(created.id).send().await.unwrap().into_inner();
    assert!(rotated.secret != created.secret && rotated.previous_secret_expires_at.is_some());
    let tried = client.test_webhook_endpoint().id(created.id).send().await.unwrap().into_inner();
    assert!(!tried.delivered && tried.error.is_some(), "{tried:?}");
    let attempts = client.list_webhook_deliveries().id(created.id).send().await.unwrap().into_inner();
    assert_eq!(attempts.items.first().map(|a| a.event_id), Some(tried.event_id));
    let enabled = client.enable_webhook_endpoint().id(created.id).send().await.unwrap().into_inner();
    assert_eq!(enabled.status, "enabled");
    let (status, refused) = problem(
        client
            .create_webhook_endpoint()
            .body_map(|b| b.url("http://127.0.0.1:9/x").events(vec!["order.shipped".to_owned()]))
            .send()
            .await,
    );
    assert_eq!((status, refused.type_.to_string().as_str()), (422, "/problems/validation-error"));
    assert_eq!(client.delete_webhook_endpoint().id(created.id).send().await.unwrap().status().as_u16(), 204);
    let (status, _) = problem(client.get_webhook_endpoint().id(created.id).send().await);
    assert_eq!(status, 404);
}

/// Every event of `types` in the feed, paged through with `after`.
async fn feed(client: &Client, types: &str) -> Vec<Event> {
    let (mut events, mut after) = (Vec::new(), None::<String>);
    loop {
        let mut request = client.list_events().type_(types).limit(50_u64);
        if let Some(cursor) = after.take() {
            request = request.after(cursor);
        }
        let page = request.send().await.unwrap().into_inner();
        events.extend(page.items);
        after = page.next_cursor;
        if !page.has_more {
            return events;
        }
    }
}

/// The id of the customer, order or notification an event carries.
fn object_id(event: &Event) -> Option<Uuid> {
    match &event.data.object {
        EventDataObject::Customer(customer) => Some(customer.id),
        EventDataObject::Order(order) => Some(order.id),
        EventDataObject::Notification(notification) => Some(notification.id),
    }
}

/// The body of an export, as text without its byte-order mark.
async fn csv_text(stream: orderdesk_client::ByteStream) -> String {
    let mut bytes = Vec::new();
    let mut stream = stream.into_inner();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(bytes).unwrap();
    text.strip_prefix('\u{feff}').expect("a byte-order mark").to_owned()
}

//! The order pages over HTTP, signed in through the dev issuer: the list's filters, the order
//! page's moves, cancellation, edit with a stale version, resending a failed SMS, permissions
//! and CSRF.

use std::time::{Duration, Instant};

use orderdesk_adapters::sms::SmsProvider;
use orderdesk_adapters::testing::africastalking::{FakeAfricasTalking, Mode};
use orderdesk_adapters::testing::{Backend, on_each_backend, with_database};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::pages::{ALL, Browser, hidden_fields, sign_in};

/// A browser signed in with `permissions`, and the session's CSRF token.
async fn signed_in(app: &TestApp, permissions: &[&str]) -> (Browser, String) {
    let mut browser = Browser::new();
    sign_in(app, &mut browser, permissions).await;
    let page = browser.get(&app.url("/dashboard/orders")).await;
    let csrf = hidden(&page.body, "csrf");
    (browser, csrf)
}

fn hidden(html: &str, name: &str) -> String {
    hidden_fields(html).into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_default()
}

async fn customer(app: &TestApp, code: &str, phone: &str) -> Value {
    let body = json!({"name": format!("Customer {code}"), "code": code, "phone": phone});
    let response = app.http.post(app.url("/api/v1/customers")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn order(app: &TestApp, customer: &Value, item: &str, ordered_at: Option<&str>) -> Value {
    let mut body = json!({"customer_id": customer["id"], "item": item, "amount": "150"});
    if let Some(at) = ordered_at {
        body["ordered_at"] = json!(at);
    }
    let response = app.http.post(app.url("/api/v1/orders")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn page_of(order: &Value) -> String {
    format!("/dashboard/orders/{}", order["id"].as_str().unwrap())
}

/// Every page is one `main#main` with exactly one `h1`.
fn assert_one_h1(html: &str) {
    assert!(html.contains("<main id=\"main\">"), "{html}");
    assert_eq!(html.matches("<h1").count(), 1, "{html}");
}

#[tokio::test]
async fn the_list_filters_by_status_today_reference_and_phone() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let amina = customer(&app, "AMINA", "0712 345 678").await;
        let baraka = customer(&app, "BARAKA", "0733 000 111").await;
        let ready = order(&app, &amina, "Maize flour 2kg", None).await; // ORD-1001
        let old = order(&app, &amina, "Sugar 1kg", Some("2026-01-05T08:00:00Z")).await; // ORD-1002
        let other = order(&app, &baraka, "Cooking oil", None).await; // ORD-1003
        let moved = app
            .http
            .post(app.url(&format!("/api/v1/orders/{}/status", ready["id"].as_str().unwrap())))
            .json(&json!({"status": "ready"}))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status(), StatusCode::OK);
        let (mut clerk, _) = signed_in(&app, &ALL).await;

        let all = clerk.get(&app.url("/dashboard/orders")).await;
        assert_eq!(all.status, StatusCode::OK);
        assert_one_h1(&all.body);
        for reference in ["ORD-1001", "ORD-1002", "ORD-1003"] {
            assert!(all.body.contains(reference), "{reference}");
        }
        assert!(all.body.contains(&format!("href=\"{}\"", page_of(&ready))), "links to the order page");
        let amina_link = format!("href=\"/dashboard/customers/{}\">Customer AMINA</a>", amina["id"].as_str().unwrap());
        assert!(all.body.contains(&amina_link), "the customer, linked");
        assert!(all.body.contains("<td data-label=\"Amount\" class=\"num\">150.00 KES</td>"));
        assert!(all.body.contains("<span class=\"badge ready\">ready</span>"));
        // Newest first.
        assert!(all.body.find("ORD-1003").unwrap() < all.body.find("ORD-1001").unwrap());

        let only_ready = clerk.get(&app.url("/dashboard/orders?status=ready")).await;
        assert!(only_ready.body.contains("ORD-1001") && !only_ready.body.contains("ORD-1002"));
        assert!(!only_ready.body.contains("ORD-1003"));
        assert!(only_ready.body.contains("<option value=\"ready\" selected>"), "the filter is kept");

        let today = clerk.get(&app.url("/dashboard/orders?today=1")).await;
        assert!(today.body.contains("ORD-1001") && today.body.contains("ORD-1003"));
        assert!(!today.body.contains("ORD-1002"), "ordered in January");

        for q in ["ORD-1002", "1002", "ord-1002"] {
            let found = clerk.get(&app.url(&format!("/dashboard/orders?q={q}"))).await;
            assert_eq!(found.status, StatusCode::OK);
            assert!(found.body.contains(&page_of(&old)), "{q}");
            assert!(!found.body.contains("ORD-1001") && !found.body.contains("ORD-1003"), "{q}");
        }

        let by_phone = clerk.get(&app.url("/dashboard/orders?q=0733+000+111")).await;
        assert!(by_phone.body.contains(&page_of(&other)));
        assert!(!by_phone.body.contains("ORD-1001") && !by_phone.body.contains("ORD-1002"));
        let nobody = clerk.get(&app.url("/dashboard/orders?q=0799+999+999")).await;
        assert_eq!(nobody.status, StatusCode::OK);
        assert!(nobody.body.contains("No customer has the phone number +254799999999."));

        let nonsense = clerk.get(&app.url("/dashboard/orders?q=%3Cb%3Eflour")).await;
        assert_eq!(nonsense.status, StatusCode::OK);
        assert!(
            nonsense.body.contains("No order matches “&#60;b&#62;flour”")
                || nonsense.body.contains("No order matches “&lt;b&gt;flour”"),
            "{}",
            nonsense.body
        );
        let too_big = clerk.get(&app.url("/dashboard/orders?q=ORD-123456789")).await;
        assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(too_big.body.contains("href=\"#filter-q\""), "the summary links to the search box");
        let bad_status = clerk.get(&app.url("/dashboard/orders?status=lost")).await;
        assert_eq!(bad_status.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad_status.body.contains("id=\"filter-status-error\""));

        // Without read:customers: no names, no customer column, no search by phone.
        let (mut reader, _) = signed_in(&app, &["read:orders"]).await;
        let list = reader.get(&app.url("/dashboard/orders")).await;
        assert!(list.body.contains("ORD-1001") && !list.body.contains("Customer AMINA"));
        assert!(!list.body.contains("<th scope=\"col\">Customer</th>"));
        let phone = reader.get(&app.url("/dashboard/orders?q=0712345678")).await;
        assert!(phone.body.contains("needs the read:customers permission") && !phone.body.contains("ORD-1001"));
    })
    .await;
}

#[tokio::test]
async fn the_list_pages_with_the_filters_kept() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let amina = customer(&app, "PAGE", "0712 345 678").await;
        for i in 0..21 {
            order(&app, &amina, &format!("Item {i}"), None).await;
        }
        let (mut clerk, _) = signed_in(&app, &ALL).await;
        let first = clerk.get(&app.url("/dashboard/orders?status=received&today=1")).await;
        assert!(first.body.contains("ORD-1021") && !first.body.contains("ORD-1001<"));
        let older = older_link(&first.body).unwrap();
        assert!(older.contains("status=received") && older.contains("today=1"), "{older}");
        let second = clerk.get(&app.url(&older)).await;
        assert!(second.body.contains("ORD-1001<") && !second.body.contains("ORD-1021"));
    })
    .await;
}

/// The "Older orders" link of a list page, if any.
fn older_link(html: &str) -> Option<String> {
    let link = html.split("href=\"").find(|s| s.contains("after="))?.split('"').next()?;
    Some(link.replace("&amp;", "&").replace("&#38;", "&"))
}

#[tokio::test]
async fn the_list_is_newest_by_ordered_at_so_a_back_dated_order_lists_after_todays() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn_app(&db).await;
        let amina = customer(&app, "DATED", "0712 345 678").await;
        order(&app, &amina, "Maize flour 2kg", None).await; // ORD-1001
        order(&app, &amina, "Sugar 1kg", None).await; // ORD-1002
        let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
        order(&app, &amina, "Cooking oil", Some(&yesterday)).await; // ORD-1003, entered last
        let (mut clerk, _) = signed_in(&app, &ALL).await;
        let list = clerk.get(&app.url("/dashboard/orders")).await;
        assert_eq!(list.status, StatusCode::OK);
        let at = |reference: &str| list.body.find(&format!(">{reference}</a>")).unwrap();
        assert!(at("ORD-1002") < at("ORD-1001"), "{backend:?}");
        assert!(at("ORD-1001") < at("ORD-1003"), "{backend:?}: yesterday's order after today's");
    })
    .await;
}

#[tokio::test]
async fn paging_across_orders_of_one_time_loses_and_repeats_nothing() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn_app(&db).await;
        let amina = customer(&app, "SAME", "0712 345 678").await;
        // 45 orders, 30 of them at one instant, so page boundaries fall inside the tie.
        for i in 0..45 {
            let at = if i % 3 == 0 { "2026-11-20T10:00:00Z" } else { "2026-11-20T10:00:00.5Z" };
            order(&app, &amina, &format!("Item {i}"), Some(at)).await;
        }
        let (mut clerk, _) = signed_in(&app, &ALL).await;
        let mut url = "/dashboard/orders".to_owned();
        let mut seen = String::new();
        let mut pages = 0;
        loop {
            let page = clerk.get(&app.url(&url)).await;
            assert_eq!(page.status, StatusCode::OK);
            pages += 1;
            seen.push_str(&page.body);
            match older_link(&page.body) {
                Some(next) => url = next,
                None => break,
            }
        }
        assert_eq!(pages, 3, "{backend:?}: 20 + 20 + 5");
        for n in 1001..=1045 {
            assert_eq!(seen.matches(&format!(">ORD-{n}</a>")).count(), 1, "{backend:?}: ORD-{n}");
        }
        // The later instant lists first.
        assert!(seen.find(">ORD-1002</a>").unwrap() < seen.find(">ORD-1001</a>").unwrap(), "{backend:?}");

        // A cursor this server did not issue starts from the newest.
        let forged = clerk.get(&app.url("/dashboard/orders?after=AAAA")).await;
        assert_eq!(forged.status, StatusCode::OK);
        assert!(forged.body.contains(">ORD-1045</a>"), "{backend:?}");
    })
    .await;
}

#[tokio::test]
async fn the_order_page_moves_cancels_and_keeps_the_history_in_local_time() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let amina = customer(&app, "MOVE", "0712 345 678").await;
        // 21:30 UTC is 00:30 the next day in Nairobi, the shop's zone.
        let order = order(&app, &amina, "Maize flour 2kg", Some("2026-11-30T21:30:00Z")).await;
        let url = app.url(&page_of(&order));
        let (mut clerk, csrf) = signed_in(&app, &ALL).await;

        let page = clerk.get(&url).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_one_h1(&page.body);
        assert!(page.body.contains("<h1 class=\"token\">ORD-1001</h1>"));
        assert!(page.body.contains("id=\"ordered-at\">01 Dec 2026 00:30</dd>"), "{}", page.body);
        assert!(page.body.contains("Times are in Africa/Nairobi."));
        for allowed in ["confirmed", "ready", "out for delivery", "completed"] {
            assert!(page.body.contains(&format!("Move to {allowed}</button>")), "{allowed}");
        }
        assert!(!page.body.contains("Move to received") && !page.body.contains("Move to cancelled"));

        let status = format!("{url}/status");
        let moved = clerk.post(&status, &[("csrf", &csrf), ("status", "ready")]).await;
        assert_eq!(moved.status, StatusCode::SEE_OTHER);
        assert_eq!(moved.location.as_deref(), Some(format!("{}?done=moved", page_of(&order)).as_str()));
        let page = clerk.get(&app.url(moved.location.as_deref().unwrap())).await;
        assert!(page.body.contains("Order moved to ready."));
        assert!(page.body.contains("Move to out for delivery") && !page.body.contains("Move to confirmed"));

        let no_reason = clerk.post(&status, &[("csrf", &csrf), ("status", "cancelled"), ("note", "kept")]).await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_reason.body.contains("id=\"cancel-reason-error\""));
        assert!(no_reason.body.contains("href=\"#cancel-reason\""), "the summary links to the field");
        assert!(no_reason.body.contains("value=\"kept\""), "input kept");

        let cancel = [
            ("csrf", csrf.as_str()),
            ("status", "cancelled"),
            ("cancel_reason", "out_of_stock"),
            ("note", "Supplier late"),
        ];
        let cancelled = clerk.post(&status, &cancel).await;
        assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
        let page = clerk.get(&app.url(cancelled.location.as_deref().unwrap())).await;
        assert!(page.body.contains("Order cancelled."));
        let history = page.body.split("id=\"history-table\"").nth(1).unwrap().split("</table>").next().unwrap();
        assert!(history.contains("Out of stock") && history.contains("Supplier late"), "{history}");
        assert_eq!(history.matches("<tr>").count(), 4, "header, received, ready, cancelled");
        assert!(!page.body.contains("Move to") && !page.body.contains("id=\"cancel-form\""), "final");

        let refused = clerk.post(&status, &[("csrf", &csrf), ("status", "ready")]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert!(refused.body.contains("the order is cancelled and cannot move to ready"), "{}", refused.body);

        let missing = clerk.get(&app.url("/dashboard/orders/0190f0f0-0000-7000-8000-000000000000")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(clerk.get(&app.url("/dashboard/orders/not-an-id")).await.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn saving_over_a_newer_version_is_a_412_showing_both_values() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let amina = customer(&app, "EDIT", "0712 345 678").await;
        let order = order(&app, &amina, "Maize flour 2kg", None).await;
        let url = app.url(&page_of(&order));
        let (mut clerk, csrf) = signed_in(&app, &ALL).await;
        let page = clerk.get(&url).await;
        let version = hidden(&page.body, "version");
        assert_eq!(version, "0");
        let edit = format!("{url}/edit");

        let invalid =
            clerk.post(&edit, &[("csrf", &csrf), ("version", &version), ("item", "Rice"), ("amount", "1.005")]).await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(invalid.body.contains("id=\"order-amount-error\"") && invalid.body.contains("value=\"1.005\""));

        let first =
            clerk.post(&edit, &[("csrf", &csrf), ("version", &version), ("item", "Rice 5kg"), ("amount", "300")]).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER);
        assert!(clerk.get(&app.url(first.location.as_deref().unwrap())).await.body.contains("Changes saved."));

        // A second clerk's form, shown at version 0, saved after the first.
        let stale = clerk
            .post(&edit, &[("csrf", &csrf), ("version", &version), ("item", "Beans 1kg"), ("amount", "99.50")])
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        assert!(stale.body.contains("Changed by someone else"));
        assert!(stale.body.contains("value=\"Beans 1kg\"") && stale.body.contains("value=\"99.50\""), "typed kept");
        assert!(stale.body.contains("Saved now: Rice 5kg") && stale.body.contains("300.00 KES"), "stored shown");
        assert_eq!(hidden(&stale.body, "version"), "1", "saving again replaces the current version");
        let api = app.get_json(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap())).await;
        assert_eq!(api["item"], "Rice 5kg", "nothing overwritten");
    })
    .await;
}

#[tokio::test]
async fn a_failed_sms_can_be_resent_from_the_order_page() {
    let fake = FakeAfricasTalking::start().await;
    fake.set_mode(Mode::Unauthorized);
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |s| {
            s.sms.provider = Some(SmsProvider::Africastalking);
            s.sms.africastalking = fake.settings();
            s.sms.initial_backoff_ms = 100;
            s.sms.max_backoff_ms = 200;
            s.sms.poll_interval_ms = 100;
        })
        .await;
        let amina = customer(&app, "SMS", "0712 345 678").await;
        let order = order(&app, &amina, "Maize flour 2kg", None).await;
        let url = app.url(&page_of(&order));
        let (mut clerk, csrf) = signed_in(&app, &ALL).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut page = clerk.get(&url).await;
        while !page.body.contains("<span class=\"badge failed\">failed</span>") && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            page = clerk.get(&url).await;
        }
        assert!(page.body.contains("order.created") && page.body.contains("+254712345678"), "{}", page.body);
        assert!(page.body.contains("gsm7, 1 segment"));
        assert!(page.body.contains("401"), "the attempt's error");
        let resend = page
            .body
            .split("action=\"")
            .find(|s| s.contains("/resend\""))
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();

        fake.set_mode(Mode::Normal);
        let resent = clerk.post(&app.url(&resend), &[("csrf", &csrf)]).await;
        assert_eq!(resent.status, StatusCode::SEE_OTHER);
        assert_eq!(resent.location.as_deref(), Some(format!("{}?done=resent", page_of(&order)).as_str()));
        assert!(
            clerk.get(&app.url(resent.location.as_deref().unwrap())).await.body.contains("The SMS will be sent again.")
        );
        fake.wait_for_accepted(1, Duration::from_secs(5)).await;
        let again = clerk.post(&app.url(&resend), &[("csrf", &csrf)]).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "only a failed or undelivered SMS");
        assert!(again.body.contains("Not resent"));
    })
    .await;
}

#[tokio::test]
async fn read_only_users_see_no_actions_and_their_posts_are_refused() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let amina = customer(&app, "READ", "0712 345 678").await;
        let order = order(&app, &amina, "Maize flour 2kg", None).await;
        let url = app.url(&page_of(&order));

        let (mut viewer, csrf) = signed_in(&app, &["read:orders", "read:customers"]).await;
        let page = viewer.get(&url).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("/status\"") && !page.body.contains("/edit\"") && !page.body.contains("/resend\""));
        let refused = viewer.post(&format!("{url}/status"), &[("csrf", &csrf), ("status", "ready")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("You need the write:orders permission"));
        let refused = viewer
            .post(&format!("{url}/edit"), &[("csrf", &csrf), ("version", "0"), ("item", "X"), ("amount", "1")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        let (mut stranger, _) = signed_in(&app, &["read:customers"]).await;
        let list = stranger.get(&app.url("/dashboard/orders")).await;
        assert_eq!(list.status, StatusCode::FORBIDDEN);
        assert!(list.body.contains("read:orders"));
        assert_eq!(stranger.get(&url).await.status, StatusCode::FORBIDDEN);

        let (mut clerk, _) = signed_in(&app, &ALL).await;
        let forged = clerk.post(&format!("{url}/status"), &[("status", "ready")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");
        let forged = clerk.post(&format!("{url}/status"), &[("csrf", "forged"), ("status", "ready")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let api = app.get_json(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap())).await;
        assert_eq!(api["status"], "received", "nothing moved");

        let anonymous = Browser::new().get(&url).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "signed out: to the start page");
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_counts_days_in_the_shops_zone() {
    use chrono::TimeZone;
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn_app(&db).await;
        let amina = customer(&app, "ZONE", "0712 345 678").await;
        // Half a minute after the shop's midnight (Africa/Nairobi, UTC+3): yesterday in UTC.
        let zone = chrono_tz::Africa::Nairobi;
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        let just_after_midnight = zone
            .from_local_datetime(&today.and_hms_opt(0, 0, 30).unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
            .to_rfc3339();
        order(&app, &amina, "Maize flour 2kg", Some(&just_after_midnight)).await;
        let (mut clerk, _) = signed_in(&app, &ALL).await;
        let home = clerk.get(&app.url("/dashboard")).await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("<strong id=\"orders-today\">1</strong>"), "{backend:?}");
        let row = |day: chrono::NaiveDate, orders: u32| format!("<tr><td>{day}</td><td class=\"num\">{orders}</td>");
        assert!(home.body.contains(&row(today, 1)), "{backend:?}: the chart's last day is the shop's today");
        assert!(home.body.contains(&row(today - chrono::Days::new(1), 0)), "{backend:?}");
    })
    .await;
}

#[tokio::test]
async fn the_months_orders_download_as_csv_from_the_dashboard() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let amina = customer(&app, "CSV-1", "0712 345 600").await;
        let taken = order(&app, &amina, "=HYPERLINK(\"x\")", None).await;
        let (mut clerk, _) = signed_in(&app, &ALL).await;
        let today = clerk.get(&app.url("/dashboard")).await;
        assert!(today.body.contains("href=\"/dashboard/orders/export.csv\""), "the Today page links the export");
        let file = clerk.get(&app.url("/dashboard/orders/export.csv")).await;
        assert_eq!(file.status, StatusCode::OK);
        assert!(file.body.starts_with('\u{feff}'), "a byte-order mark for spreadsheets");
        assert!(file.body.contains(taken["reference"].as_str().unwrap()), "{}", file.body);
        assert!(file.body.contains("'=HYPERLINK"), "formulas are neutralised: {}", file.body);
        let bad = clerk.get(&app.url("/dashboard/orders/export.csv?month=2026-13")).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let empty = clerk.get(&app.url("/dashboard/orders/export.csv?month=2020-01")).await;
        assert_eq!(empty.status, StatusCode::OK);
        assert!(!empty.body.contains(taken["reference"].as_str().unwrap()), "another month");
        let (mut reader, _) = signed_in(&app, &["read:customers"]).await;
        assert_eq!(reader.get(&app.url("/dashboard/orders/export.csv")).await.status, StatusCode::FORBIDDEN);
    })
    .await;
}

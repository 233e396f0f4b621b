//! The customer pages over HTTP: finding a customer by phone, code or name, taking an order
//! for them, editing over a stale version, deleting, and the messages they sent.

use orderdesk_adapters::secret::Secret;
use orderdesk_adapters::testing::{Backend, TestDatabase, on_each_backend, with_database};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};
use crate::pages::{ALL, Browser, Page, hidden_fields, sign_in};

const SECRET: &str = "e2e-pages-webhook-secret-0123";

async fn spawn(db: &TestDatabase) -> TestApp {
    spawn_app_with(db, |s| s.sms.webhook_secret = Some(Secret::new(SECRET))).await
}

/// A customer made through the API.
async fn customer(app: &TestApp, name: &str, code: &str, phone: &str) -> String {
    let body = json!({"name": name, "code": code, "phone": phone});
    let response = app.http.post(app.url("/api/v1/customers")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn find(browser: &mut Browser, app: &TestApp, query: &str) -> Page {
    let query: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    browser.get(&app.url(&format!("/dashboard/customers?q={query}"))).await
}

fn link(id: &str) -> String {
    format!("href=\"/dashboard/customers/{id}\"")
}

fn csrf(page: &Page) -> String {
    hidden_fields(&page.body).into_iter().find(|(k, _)| k == "csrf").unwrap().1
}

/// The value of the hidden field `name` in the form posting to `action`.
fn form_field(page: &Page, action: &str, name: &str) -> String {
    let form = page.body.split(&format!("action=\"{action}\"")).nth(1).unwrap().split("</form>").next().unwrap();
    hidden_fields(form).into_iter().find(|(k, _)| k == name).unwrap().1
}

#[tokio::test]
async fn a_customer_is_found_by_local_phone_code_or_name_on_each_database() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn(&db).await;
        let amina = customer(&app, "Amina Wanjiru", "AM-1", "+254712345678").await;
        let shop = customer(&app, "Mama Mboga Shop", "AM-2", "0712 345 678").await;
        let baraka = customer(&app, "Baraka Otieno", "B-9", "+254733000111").await;
        let mut clerk = Browser::new();
        sign_in(&app, &mut clerk, &ALL).await;

        let before = clerk.get(&app.url("/dashboard/customers")).await;
        assert_eq!(before.status, StatusCode::OK);
        assert!(!before.body.contains(&link(&amina)), "no list of every customer before a search");

        let by_phone = find(&mut clerk, &app, "0712 345 678").await;
        assert_eq!(by_phone.status, StatusCode::OK, "{backend:?}");
        assert!(by_phone.body.contains(&link(&amina)) && by_phone.body.contains(&link(&shop)), "{backend:?}");
        assert!(!by_phone.body.contains(&link(&baraka)));
        assert!(by_phone.body.contains("254712345678") && by_phone.body.contains("data-label=\"Phone\""));
        assert!(!by_phone.body.contains("value=\"0712 345 678\" type=\"tel\""), "nothing prefilled");

        let by_code = find(&mut clerk, &app, "b-9").await;
        assert!(by_code.body.contains(&link(&baraka)) && !by_code.body.contains(&link(&amina)), "{backend:?}");
        let by_name = find(&mut clerk, &app, "wanjiru").await;
        assert!(by_name.body.contains(&link(&amina)) && !by_name.body.contains(&link(&baraka)), "{backend:?}");

        let nobody = find(&mut clerk, &app, "+254 700 000 001").await;
        assert!(nobody.body.contains("id=\"no-results\""), "{backend:?}");
        assert!(
            nobody.body.contains("name=\"phone\" value=\"&#43;254 700 000 001\"")
                || nobody.body.contains("name=\"phone\" value=\"+254 700 000 001\""),
            "the searched number is prefilled"
        );
        let by_unknown_name = find(&mut clerk, &app, "Zawadi").await;
        assert!(by_unknown_name.body.contains("id=\"no-results\""));
        assert!(by_unknown_name.body.contains("name=\"phone\" value=\"\""), "a name is not a phone");
    })
    .await;
}

#[tokio::test]
async fn an_order_is_taken_on_the_customers_page_and_listed_there() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn(&db).await;
        let amina = customer(&app, "Amina Wanjiru", "AM-1", "0712 345 678").await;
        let mut clerk = Browser::new();
        sign_in(&app, &mut clerk, &ALL).await;
        let page = clerk.get(&app.url(&format!("/dashboard/customers/{amina}"))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("id=\"take-order\"") && page.body.contains("id=\"no-orders\""));
        assert_eq!(page.body.matches("<h1").count(), 1);
        assert!(page.body.contains("<main id=\"main\">"));
        let take = app.url(&format!("/dashboard/customers/{amina}/orders"));
        let csrf = csrf(&page);
        let mut order_ids = Vec::new();
        for (item, amount) in [("Maize flour 2kg", "250"), ("Sugar 1kg", "180.50")] {
            let taken = clerk.post(&take, &[("csrf", &csrf), ("item", item), ("amount", amount)]).await;
            assert_eq!(taken.status, StatusCode::SEE_OTHER);
            let location = taken.location.unwrap();
            let id = location.strip_prefix("/dashboard/orders/").unwrap().strip_suffix("?done=created").unwrap();
            order_ids.push(id.to_owned());
        }
        let api = app.get_json(&format!("/api/v1/orders/{}", order_ids[1])).await;
        assert_eq!((api["customer_id"].as_str(), api["amount"].as_str()), (Some(amina.as_str()), Some("180.50")));

        let page = clerk.get(&app.url(&format!("/dashboard/customers/{amina}"))).await;
        let newest = page.body.find(&format!("/dashboard/orders/{}", order_ids[1])).unwrap();
        let oldest = page.body.find(&format!("/dashboard/orders/{}", order_ids[0])).unwrap();
        assert!(newest < oldest, "newest first");
        assert!(page.body.contains("180.50 KES") && page.body.contains("data-label=\"Ordered\""));
        assert!(page.body.contains("id=\"cannot-delete\""), "no delete button for a customer with orders");

        // An unknown customer and a malformed id are 404 pages, with the header.
        let missing = clerk.get(&app.url("/dashboard/customers/0190a3c4-0000-7000-8000-000000000000")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains("Customer not found") && missing.body.contains("id=\"user-name\""));
        assert_eq!(clerk.get(&app.url("/dashboard/customers/nope")).await.status, StatusCode::NOT_FOUND);
        let nowhere = clerk.post(&app.url("/dashboard/customers/nope/orders"), &[("csrf", &csrf)]).await;
        assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn an_edit_over_a_stale_version_shows_both_values_and_saves_only_when_repeated() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn(&db).await;
        let amina = customer(&app, "Amina Wanjiru", "AM-1", "0712 345 678").await;
        let mut clerk = Browser::new();
        sign_in(&app, &mut clerk, &ALL).await;
        let page = clerk.get(&app.url(&format!("/dashboard/customers/{amina}"))).await;
        let edit_path = format!("/dashboard/customers/{amina}/edit");
        let version = form_field(&page, &edit_path, "version");
        assert_eq!(version, "0");

        // Someone else renames her while the form is open.
        let url = app.url(&format!("/api/v1/customers/{amina}"));
        let renamed = app.http.patch(&url).json(&json!({"name": "Amina W. Kamau"})).send().await.unwrap();
        assert_eq!(renamed.status(), StatusCode::OK);

        let form = [
            ("csrf", csrf(&page)),
            ("version", version),
            ("name", "Amina Njeri".to_owned()),
            ("phone", "0712 345 678".to_owned()),
            ("language", "sw".to_owned()),
            ("sms_opt_out", "on".to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let stale = clerk.post(&app.url(&edit_path), &form).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{backend:?}");
        assert!(stale.body.contains("Changed by someone else"));
        assert!(stale.body.contains("value=\"Amina Njeri\""), "input kept");
        assert!(stale.body.contains("Name was changed by someone else to “Amina W. Kamau”"), "current value");
        assert!(stale.body.contains("href=\"#customer-name\""), "in the summary");
        let stored: Value = app.http.get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!(stored["name"], "Amina W. Kamau", "nothing written");

        // Saving again, having seen the current values, overwrites them.
        assert_eq!(form_field(&stale, &edit_path, "version"), "1");
        let mut again = form.clone();
        again[1].1 = "1";
        let saved = clerk.post(&app.url(&edit_path), &again).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{backend:?}");
        assert_eq!(saved.location.as_deref(), Some(format!("/dashboard/customers/{amina}?done=saved").as_str()));
        let stored: Value = app.http.get(&url).send().await.unwrap().json().await.unwrap();
        assert_eq!((stored["name"].as_str(), stored["language"].as_str()), (Some("Amina Njeri"), Some("sw")));
        assert_eq!(stored["sms_opt_out"], true);
        let page = clerk.get(&app.url(saved.location.as_deref().unwrap())).await;
        assert!(page.body.contains("Changes saved.") && page.body.contains("No SMS (opted out)"));

        let mut invalid = again.clone();
        (invalid[1].1, invalid[3].1) = ("2", "12");
        let refused = clerk.post(&app.url(&edit_path), &invalid).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("id=\"customer-phone-error\"") && refused.body.contains("value=\"12\""));
    })
    .await;
}

#[tokio::test]
async fn a_customer_with_orders_is_not_deleted_one_without_is_on_each_database() {
    on_each_backend(|db| async move {
        let backend = db.backend;
        let app = spawn(&db).await;
        let amina = customer(&app, "Amina Wanjiru", "AM-1", "0712 345 678").await;
        let baraka = customer(&app, "Baraka Otieno", "B-9", "+254733000111").await;
        assert_eq!(app.post_order(&json!(amina), "100").await.status(), StatusCode::CREATED);
        let mut clerk = Browser::new();
        sign_in(&app, &mut clerk, &ALL).await;
        let page = clerk.get(&app.url(&format!("/dashboard/customers/{baraka}"))).await;
        let csrf = csrf(&page);

        let refused = clerk
            .post(&app.url(&format!("/dashboard/customers/{amina}/delete")), &[("csrf", &csrf), ("version", "0")])
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{backend:?}");
        assert!(refused.body.contains("has orders") && refused.body.contains("id=\"alert\""));
        assert_eq!(clerk.get(&app.url(&format!("/dashboard/customers/{amina}"))).await.status, StatusCode::OK);

        let delete = format!("/dashboard/customers/{baraka}/delete");
        let version = form_field(&page, &delete, "version");
        let stale = clerk.post(&app.url(&delete), &[("csrf", &csrf), ("version", "7")]).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{backend:?}");
        let deleted = clerk.post(&app.url(&delete), &[("csrf", &csrf), ("version", &version)]).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{backend:?}");
        let back = clerk.get(&app.url(deleted.location.as_deref().unwrap())).await;
        assert!(back.body.contains("Customer deleted."));
        assert_eq!(clerk.get(&app.url(&format!("/dashboard/customers/{baraka}"))).await.status, StatusCode::NOT_FOUND);
        let again = clerk.post(&app.url(&delete), &[("csrf", &csrf), ("version", &version)]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_messages_a_customer_sent_are_listed_on_their_page() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn(&db).await;
        let amina = customer(&app, "Amina Wanjiru", "AM-1", "0712 345 678").await;
        for (id, text) in [("ATXid_pages_1", "Habari, nataka <unga>"), ("ATXid_pages_2", "stop")] {
            let form = [
                ("id", id),
                ("from", "+254712345678"),
                ("to", "22384"),
                ("text", text),
                ("date", "2026-11-30 09:30:12"),
            ];
            let url = app.url(&format!("/webhooks/africastalking/incoming/{SECRET}"));
            let response = app.anonymous.post(url).form(&form).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let mut clerk = Browser::new();
        sign_in(&app, &mut clerk, &["read:customers"]).await;
        let page = clerk.get(&app.url(&format!("/dashboard/customers/{amina}"))).await;
        assert_eq!(page.status, StatusCode::OK);
        let hello = page.body.split("Habari").nth(1).unwrap_or_default();
        assert!(
            hello.starts_with(", nataka &lt;unga&gt;") || hello.starts_with(", nataka &#60;unga&#62;"),
            "escaped: {hello}"
        );
        assert!(page.body.contains("Stop: opted out") && page.body.contains("No SMS (opted out)"));
        let stop = page.body.find(">stop</td>").unwrap();
        let hello = page.body.find("Habari").unwrap();
        assert!(stop < hello, "newest first");
    })
    .await;
}

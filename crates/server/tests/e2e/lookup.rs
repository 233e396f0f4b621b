//! Issue #24: looking customers up by phone, code and text, incremental sync with
//! `updated_since`, and `expand=customer` on order reads, through the real server on each
//! database.

use std::time::Duration;

use orderdesk_adapters::testing::on_each_backend;
use orderdesk_domain::Permission;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn create(app: &TestApp, name: &str, code: &str, phone: &str) -> Value {
    let body = json!({"name": name, "code": code, "phone": phone});
    let response = app.http.post(app.url("/api/v1/customers")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// `GET path` with `query`, as the given client; the status and the JSON body.
async fn get(client: &reqwest::Client, app: &TestApp, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client.get(app.url(path)).query(query).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The codes of a customer list's items, in order.
fn codes(list: &Value) -> Vec<&str> {
    list["items"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect()
}

/// The ids of a list's items, in order.
fn ids(list: &Value) -> Vec<&str> {
    list["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect()
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap()
}

/// A 422 naming `field`.
fn assert_refused(response: &(StatusCode, Value), field: &str) {
    assert_eq!(response.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.1);
    assert_eq!(response.1["type"], "/problems/validation-error", "{}", response.1);
    assert_eq!(response.1["errors"][0]["field"], field, "{}", response.1);
}

#[tokio::test]
async fn customers_are_looked_up_by_phone_code_and_name_with_paging() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let amina = create(&app, "Amina Wanjiru", "AMINA-01", "0712 345 678").await;
        let baraka = create(&app, "Baraka Otieno", "BARAKA", "+254712345678").await;
        let chebet = create(&app, "Chebet Wanjiru", "CHEBET", "0733 000 111").await;
        let list = |query: Vec<(&'static str, String)>| {
            let query: Vec<(&str, String)> = query;
            let app = &app;
            async move {
                let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                get(&app.http, app, "/api/v1/customers", &pairs).await
            }
        };
        let backend = format!("{:?}", db.backend);

        // A local number and the E.164 one find both customers sharing it, newest first.
        for phone in ["0712 345 678", "+254712345678", "0712345678"] {
            let (status, found) = list(vec![("phone", phone.into())]).await;
            assert_eq!(status, StatusCode::OK, "{backend}: {found}");
            assert_eq!(codes(&found), ["BARAKA", "AMINA-01"], "{backend}: {phone}");
        }
        let (_, none) = list(vec![("phone", "0799 999 999".into())]).await;
        assert_eq!(codes(&none), Vec::<&str>::new());

        // The code exactly, in another case; a part of it is no match.
        let (_, by_code) = list(vec![("code", "amina-01".into())]).await;
        assert_eq!(by_code["items"], json!([amina]), "{backend}");
        let (_, part) = list(vec![("code", "amina".into())]).await;
        assert_eq!(codes(&part), Vec::<&str>::new());

        // q: a word of the name (any case), or part of the code.
        let (_, word) = list(vec![("q", "WANJIRU".into())]).await;
        assert_eq!(codes(&word), ["CHEBET", "AMINA-01"], "{backend}");
        let (_, in_code) = list(vec![("q", "arak".into())]).await;
        assert_eq!(codes(&in_code), ["BARAKA"]);
        let (_, literal) = list(vec![("q", "%a".into())]).await;
        assert_eq!(codes(&literal), Vec::<&str>::new(), "% is no wildcard");

        // Filters combine, and paging keeps them.
        let (_, both) = list(vec![("phone", "0712345678".into()), ("q", "wanjiru".into())]).await;
        assert_eq!(codes(&both), ["AMINA-01"], "{backend}");
        let (_, first) = list(vec![("phone", "0712 345 678".into()), ("limit", "1".into())]).await;
        assert_eq!(codes(&first), ["BARAKA"]);
        let cursor = str_of(&first["next_cursor"]).to_owned();
        let (status, second) =
            list(vec![("phone", "0712 345 678".into()), ("limit", "1".into()), ("cursor", cursor)]).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(codes(&second), ["AMINA-01"]);
        assert!(second.get("next_cursor").is_none(), "{second}");

        // updated_since: created or changed at or after the time given.
        let since = str_of(&chebet["updated_at"]).to_owned();
        let (_, recent) = list(vec![("updated_since", since.clone())]).await;
        assert_eq!(codes(&recent), ["CHEBET"], "{backend}");
        tokio::time::sleep(Duration::from_millis(5)).await;
        let url = app.url(&format!("/api/v1/customers/{}", str_of(&amina["id"])));
        let patched = app.http.patch(url).json(&json!({"name": "Amina W. Kamau"})).send().await.unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
        let (_, changed) = list(vec![("updated_since", since.clone())]).await;
        assert_eq!(codes(&changed), ["CHEBET", "AMINA-01"], "{backend}");
        let (_, synced) = list(vec![("updated_since", since), ("phone", "0712345678".into())]).await;
        assert_eq!(codes(&synced), ["AMINA-01"], "{backend}");
        let (_, everyone) = list(vec![]).await;
        assert_eq!(codes(&everyone), ["CHEBET", "BARAKA", "AMINA-01"]);
        let _ = baraka;

        // 422s naming the parameter.
        assert_refused(&list(vec![("phone", "Amina".into())]).await, "phone");
        assert_refused(&list(vec![("q", "a".into())]).await, "q");
        assert_refused(&list(vec![("q", "  a  ".into())]).await, "q");
        assert_refused(&list(vec![("q", "x".repeat(101))]).await, "q");
        assert_refused(&list(vec![("updated_since", "2026-11-26T09:30:00+0300".into())]).await, "updated_since");
        assert_refused(&list(vec![("updated_since", "yesterday".into())]).await, "updated_since");
        let (ok, _) = list(vec![("q", "x".repeat(100))]).await;
        assert_eq!(ok, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn order_lists_take_updated_since_and_order_reads_expand_the_customer() {
    on_each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let backend = format!("{:?}", db.backend);
        let amina = create(&app, "Amina Wanjiru", "AMINA-01", "0712 345 678").await;
        let post = |amount: &'static str| {
            let body = json!({"customer_id": amina["id"], "item": "Tea", "amount": amount, "notify": false});
            app.http.post(app.url("/api/v1/orders")).json(&body).send()
        };
        let first: Value = post("10").await.unwrap().json().await.unwrap();
        let second: Value = post("20").await.unwrap().json().await.unwrap();
        let customer_orders = format!("/api/v1/customers/{}/orders", str_of(&amina["id"]));

        // updated_since on both order lists; a status change moves updated_at.
        let since = str_of(&second["updated_at"]).to_owned();
        for path in ["/api/v1/orders", customer_orders.as_str()] {
            let (status, recent) = get(&app.http, &app, path, &[("updated_since", &since)]).await;
            assert_eq!(status, StatusCode::OK, "{backend} {path}: {recent}");
            assert_eq!(ids(&recent), [str_of(&second["id"])], "{backend} {path}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let status_url = app.url(&format!("/api/v1/orders/{}/status", str_of(&first["id"])));
        let confirmed = app.http.post(status_url).json(&json!({"status": "confirmed"})).send().await.unwrap();
        assert_eq!(confirmed.status(), StatusCode::OK);
        for path in ["/api/v1/orders", customer_orders.as_str()] {
            let (_, changed) = get(&app.http, &app, path, &[("updated_since", &since)]).await;
            assert_eq!(ids(&changed), [str_of(&second["id"]), str_of(&first["id"])], "{backend} {path}");
            let (_, combined) = get(&app.http, &app, path, &[("updated_since", &since), ("status", "confirmed")]).await;
            assert_eq!(ids(&combined), [str_of(&first["id"])], "{backend} {path}");
            let (_, paged) = get(&app.http, &app, path, &[("updated_since", &since), ("limit", "1")]).await;
            assert_eq!(ids(&paged), [str_of(&second["id"])]);
            let cursor = str_of(&paged["next_cursor"]);
            let query = [("updated_since", since.as_str()), ("limit", "1"), ("cursor", cursor)];
            let (_, rest) = get(&app.http, &app, path, &query).await;
            assert_eq!(ids(&rest), [str_of(&first["id"])], "{backend} {path}");
            assert!(rest.get("next_cursor").is_none());
            assert_refused(
                &get(&app.http, &app, path, &[("updated_since", "2026-11-26 09:30:00Z")]).await,
                "updated_since",
            );
        }

        // expand=customer embeds the customer as getCustomer returns it.
        let customer_url = format!("/api/v1/customers/{}", str_of(&amina["id"]));
        let (_, customer) = get(&app.http, &app, &customer_url, &[]).await;
        let order_url = format!("/api/v1/orders/{}", str_of(&first["id"]));
        let (status, plain) = get(&app.http, &app, &order_url, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(plain.get("customer").is_none(), "only when asked: {plain}");
        let (status, expanded) = get(&app.http, &app, &order_url, &[("expand", "customer")]).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {expanded}");
        assert_eq!(expanded["customer"], customer, "{backend}");
        let mut without = expanded.clone();
        without.as_object_mut().unwrap().remove("customer");
        assert_eq!(without, plain);
        for path in ["/api/v1/orders", customer_orders.as_str()] {
            let (status, list) = get(&app.http, &app, path, &[("expand", "customer")]).await;
            assert_eq!(status, StatusCode::OK, "{backend} {path}: {list}");
            let items = list["items"].as_array().unwrap();
            assert_eq!(items.len(), 2);
            assert!(items.iter().all(|o| o["customer"] == customer), "{backend} {path}: {list}");
            let (_, plain) = get(&app.http, &app, path, &[]).await;
            assert!(plain["items"].as_array().unwrap().iter().all(|o| o.get("customer").is_none()));
        }
        assert_refused(&get(&app.http, &app, &order_url, &[("expand", "notifications")]).await, "expand");
        assert_refused(&get(&app.http, &app, "/api/v1/orders", &[("expand", "Customer")]).await, "expand");

        // Without read:customers: the orders, but no customer in them.
        let token = orderdesk_server::startup::dev_issuer(&app.settings, app.address)
            .unwrap()
            .mint("clerk", &[Permission::ReadOrders], Duration::from_secs(600))
            .unwrap();
        for path in [order_url.as_str(), "/api/v1/orders", customer_orders.as_str()] {
            let plain = app.anonymous.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
            assert_eq!(plain.status(), StatusCode::OK, "{path}");
            let refused = app
                .anonymous
                .get(app.url(path))
                .query(&[("expand", "customer")])
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
            let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_owned();
            assert!(challenge.contains("insufficient_scope") && challenge.contains("read:customers"), "{challenge}");
            let problem: Value = refused.json().await.unwrap();
            assert!(problem["detail"].as_str().unwrap_or_default().contains("read:customers"), "{problem}");
        }
    })
    .await;
}

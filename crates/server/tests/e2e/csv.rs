//! CSV export and customer import through the real server, on SQLite and PostgreSQL.

use std::time::Duration;

use orderdesk_adapters::testing::on_each_backend;
use orderdesk_domain::Permission;
use orderdesk_server::startup::dev_issuer;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

async fn order(app: &TestApp, customer: &Value, item: &str, amount: &str, at: &str) -> Value {
    let body =
        json!({"customer_id": customer["id"], "item": item, "amount": amount, "ordered_at": at, "notify": false});
    let response = app.http.post(app.url("/api/v1/orders")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn token_with(app: &TestApp, permissions: &[Permission]) -> String {
    let token = dev_issuer(&app.settings, app.address).unwrap().mint("clerk", permissions, Duration::from_secs(600));
    format!("Bearer {}", token.unwrap())
}

async fn import(app: &TestApp, csv: &str, dry_run: bool) -> reqwest::Response {
    let url = if dry_run { "/api/v1/customers/import?dry_run=true" } else { "/api/v1/customers/import" };
    app.http.post(app.url(url)).header("content-type", "text/csv").body(csv.to_owned()).send().await.unwrap()
}

#[tokio::test]
async fn the_export_is_excel_ready_csv_in_the_shops_time() {
    on_each_backend(|db| async move {
        let app = spawn_app_with(&db, |s| s.shop.time_zone = "Africa/Nairobi".into()).await;
        let body = json!({"name": "Wanjirū, \"Shiro\"", "code": "-K1", "phone": "0712 345 678"});
        let customer: Value =
            app.http.post(app.url("/api/v1/customers")).json(&body).send().await.unwrap().json().await.unwrap();
        let first = order(&app, &customer, "=cmd|' /C calc'!A0", "1250.50", "2026-03-01T21:30:00Z").await;
        order(&app, &customer, "Maize flour 2kg", "99", "2026-03-02T08:00:00Z").await;
        order(&app, &customer, "Outside the period", "5", "2026-04-01T08:00:00Z").await;
        let url = "/api/v1/orders/export.csv?ordered_from=2026-03-01T00:00:00Z&ordered_to=2026-03-31T00:00:00%2B03:00";
        let response = app.http.get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            response.headers()["content-disposition"],
            "attachment; filename=\"orders-2026-03-01-2026-03-31.csv\""
        );
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "byte-order mark");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            "reference,date,time,customer_code,customer_name,customer_phone,item,amount,currency,status,sms_status"
        );
        assert_eq!(lines[1], "ORD-1002,2026-03-02,11:00:00,'-K1,\"Wanjirū, \"\"Shiro\"\"\",'+254712345678,Maize flour 2kg,99.00,KES,received,");
        // 21:30 UTC is 00:30 the next day in Nairobi; the formula is neutralised.
        assert_eq!(
            lines[2],
            format!(
                "{},2026-03-02,00:30:00,'-K1,\"Wanjirū, \"\"Shiro\"\"\",'+254712345678,'=cmd|' /C calc'!A0,1250.50,KES,received,",
                first["reference"].as_str().unwrap()
            )
        );

        let status = app.http.get(app.url(&format!("{url}&status=cancelled"))).send().await.unwrap();
        assert_eq!(status.text().await.unwrap().lines().count(), 1, "only the header");

        let too_long = "/api/v1/orders/export.csv?ordered_from=2026-01-01T00:00:00Z&ordered_to=2027-01-03T00:00:00Z";
        let refused = app.http.get(app.url(too_long)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "ordered_to");
        let missing = app.http.get(app.url("/api/v1/orders/export.csv?ordered_from=2026-01-01T00:00:00Z")).send();
        assert_eq!(missing.await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);

        let clerk = token_with(&app, &[Permission::ReadCustomers]);
        let forbidden = app.anonymous.get(app.url(url)).header("authorization", clerk).send().await.unwrap();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn an_import_creates_updates_and_twice_changes_nothing() {
    on_each_backend(|db| async move {
        let app = spawn_app_with(&db, |_| {}).await;
        let existing: Value = app.post_customer("amina-1").await.json().await.unwrap();
        let csv = "code,name,phone,language,sms_opt_out\r\n\
                   AMINA-1,Amina Wanjiru,0712 345 678,,\r\n\
                   k-2,Kamau Njoroge,+254 722 000 111,sw,no\r\n\
                   k-3,\"Otieno, Brian\",0733000222,,yes\r\n";

        let dry: Value = import(&app, csv, true).await.json().await.unwrap();
        assert_eq!(
            (dry["dry_run"].clone(), dry["created"].clone(), dry["unchanged"].clone()),
            (json!(true), json!(2), json!(1))
        );
        let listed: Value = app.http.get(app.url("/api/v1/customers")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "a dry run writes nothing");

        let first = import(&app, csv, false).await;
        assert_eq!(first.status(), StatusCode::OK);
        let first: Value = first.json().await.unwrap();
        assert_eq!(
            (first["created"].clone(), first["updated"].clone(), first["unchanged"].clone()),
            (json!(2), json!(0), json!(1))
        );
        assert_eq!(first["rows"][0], json!({"row": 2, "code": "amina-1", "action": "unchanged"}));
        let customers: Value = app.http.get(app.url("/api/v1/customers")).send().await.unwrap().json().await.unwrap();
        let versions = |list: &Value| -> Vec<(String, Value)> {
            let mut v: Vec<_> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (c["code"].as_str().unwrap().to_owned(), json!([c["updated_at"], c["language"], c["sms_opt_out"]]))
                })
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let before = versions(&customers);
        assert_eq!(before.len(), 3);

        let again: Value = import(&app, csv, false).await.json().await.unwrap();
        assert_eq!(
            (again["created"].clone(), again["updated"].clone(), again["unchanged"].clone()),
            (json!(0), json!(0), json!(3))
        );
        let after: Value = app.http.get(app.url("/api/v1/customers")).send().await.unwrap().json().await.unwrap();
        assert_eq!(versions(&after), before, "a second run changes nothing");
        let url = app.url(&format!("/api/v1/customers/{}", existing["id"].as_str().unwrap()));
        let etag = app.http.get(&url).send().await.unwrap().headers()["etag"].clone();
        assert_eq!(etag, "\"0\"");

        let renamed: Value =
            import(&app, "code,name,phone\nK-2,Kamau N.,+254722000111\n", false).await.json().await.unwrap();
        assert_eq!(renamed["rows"][0], json!({"row": 2, "code": "k-2", "action": "updated"}));
    })
    .await;
}

#[tokio::test]
async fn bad_rows_are_all_reported_and_nothing_is_written() {
    on_each_backend(|db| async move {
        let app = spawn_app_with(&db, |_| {}).await;
        let csv =
            "code,name,phone\nok-1,Good Row,0712345678\nbad code,,12\nok-2,Fine,0712345679\nok-1,Twice,0712345670\n";
        let response = import(&app, csv, false).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/validation-error");
        let errors: Vec<(u64, String)> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            errors,
            [(3, "name".into()), (3, "code".into()), (3, "phone".into()), (5, "code".into())],
            "{problem}"
        );
        let listed: Value = app.http.get(app.url("/api/v1/customers")).send().await.unwrap().json().await.unwrap();
        assert!(listed["items"].as_array().unwrap().is_empty(), "nothing written");

        let reader = token_with(&app, &[Permission::ReadCustomers]);
        let forbidden = app
            .anonymous
            .post(app.url("/api/v1/customers/import"))
            .header("authorization", reader)
            .header("content-type", "text/csv")
            .body("code,name,phone\n")
            .send()
            .await
            .unwrap();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let json = app.http.post(app.url("/api/v1/customers/import")).json(&json!({})).send().await.unwrap();
        assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    })
    .await;
}

//! Running in production: built-in profiles, metrics, CORS and trace context.

use std::process::Command;

use orderdesk_adapters::testing::{Backend, with_database};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};
use crate::process::ServerProcess;

/// `orderdesk config` from a directory with no `config/`: the production profile's values are
/// built into the binary, and the output says where the values came from.
#[test]
fn the_binary_carries_its_profiles() {
    let dir = std::env::temp_dir().join(format!("orderdesk-elsewhere-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |extra: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_orderdesk"))
            .arg("config")
            .current_dir(&dir)
            .env_clear()
            .env("ORDERDESK_PROFILE", "production")
            .env("ORDERDESK_DATABASE__URL", "postgres://orderdesk@db.example/orderdesk")
            .env("ORDERDESK_AUTH__ISSUER", "https://tenant.eu.auth0.com/")
            .env("ORDERDESK_AUTH__AUDIENCE", "https://api.orderdesk.example")
            .env("ORDERDESK_SMS__PROVIDER", "disabled")
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    };
    let output = run(&[]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for expected in [
        "#   built-in config/default.toml",
        "#   built-in config/production.toml",
        "ORDERDESK_CONFIG_DIR is not set",
        "format = \"json\"",
        "migrate_on_start = false",
        "max_connections = 16",
        "bind = \"0.0.0.0:8080\"",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing from:\n{shown}");
    }

    let missing = dir.join("etc-orderdesk");
    let output = run(&[("ORDERDESK_CONFIG_DIR", missing.to_str().unwrap())]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && error.contains("ORDERDESK_CONFIG_DIR"), "{error}");

    std::fs::create_dir_all(&missing).unwrap();
    std::fs::write(missing.join("production.toml"), "[database]\nmax_connections = 40\n").unwrap();
    let output = run(&[("ORDERDESK_CONFIG_DIR", missing.to_str().unwrap())]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("max_connections = 40") && shown.contains("etc-orderdesk/production.toml"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of the sample `name{labels}` in a text exposition, if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_sample_the_pool_and_outbox() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("METRICS-1").await.json().await.unwrap();
        let id = customer["id"].as_str().unwrap();
        for _ in 0..3 {
            assert_eq!(app.http.get(app.url(&format!("/api/v1/customers/{id}"))).send().await.unwrap().status(), 200);
        }
        let order = app.post_order(&customer["id"], "10.00").await;
        assert_eq!(order.status(), StatusCode::CREATED);
        let refused = app.anonymous.get(app.url("/api/v1/customers")).bearer_auth("not-a-jwt").send().await.unwrap();
        app.anonymous.get(app.url("/dashboard")).send().await.unwrap();
        assert_eq!(app.anonymous.get(app.url("/no/such/route")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

        let response = app.anonymous.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "loopback peers need no token");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = response.text().await.unwrap();
        let get_by_id = r#"orderdesk_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="200"}"#;
        assert!(sample(&text, get_by_id).is_some_and(|n| n >= 3.0), "{text}");
        let created = r#"orderdesk_http_requests_total{method="POST",route="/api/v1/customers",status="201"}"#;
        assert!(sample(&text, created).is_some_and(|n| n >= 1.0), "{text}");
        assert!(!text.contains(id), "no ids in labels");
        assert!(!text.contains("param0"), "{text}");
        let page = r#"orderdesk_http_requests_total{method="GET",route="/dashboard",status="#;
        assert!(text.lines().any(|l| l.starts_with(page)), "{text}");
        let lost = r#"orderdesk_http_requests_total{method="GET",route="unmatched",status="404"}"#;
        assert!(sample(&text, lost).is_some(), "{text}");
        for name in ["orderdesk_http_requests_total", "orderdesk_sms_outbox", "orderdesk_db_pool_connections"] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name} has no HELP:\n{text}");
        }
        let bucket =
            r#"orderdesk_http_request_duration_seconds_bucket{method="GET",route="/api/v1/customers/{id}",le="+Inf"}"#;
        assert!(sample(&text, bucket).is_some_and(|n| n >= 3.0), "{text}");
        assert!(sample(&text, r#"orderdesk_token_rejections_total{reason="Malformed"}"#).is_some(), "{text}");
        assert!(sample(&text, r#"orderdesk_jwks_refreshes_total{result="ok"}"#).is_some(), "{text}");
        for gauge in [
            r#"orderdesk_db_pool_connections{state="in_use"}"#,
            r#"orderdesk_db_pool_connections{state="idle"}"#,
            "orderdesk_db_pool_max_connections",
            r#"orderdesk_sms_outbox{status="pending"}"#,
            r#"orderdesk_sms_outbox{status="failed"}"#,
            "orderdesk_sms_oldest_due_age_seconds",
        ] {
            assert!(sample(&text, gauge).is_some(), "{gauge} missing:\n{text}");
        }
        let openapi: Value = app.anonymous.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(openapi["paths"].get("/metrics").is_none(), "not an API operation");

        let off = spawn_app_with(&db, |s| s.metrics.enabled = false).await;
        assert_eq!(off.anonymous.get(off.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn cors_answers_listed_origins_only() {
    const SHOP: &str = "https://shop.example";
    with_database(Backend::Sqlite, |db| async move {
        let app =
            spawn_app_with(&db, |s| s.cors.allowed_origins = vec![SHOP.into(), "http://localhost:3000".into()]).await;
        let preflight = |origin: &'static str| {
            app.anonymous
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/orders"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization, content-type, idempotency-key")
                .send()
        };
        let allowed = preflight(SHOP).await.unwrap();
        assert_eq!(allowed.status(), StatusCode::NO_CONTENT, "answered without a token");
        let headers = allowed.headers();
        assert_eq!(headers["access-control-allow-origin"], SHOP);
        let methods = headers["access-control-allow-methods"].to_str().unwrap();
        assert!(["GET", "POST", "PATCH", "DELETE"].iter().all(|m| methods.contains(m)), "{methods}");
        let allowed_headers = headers["access-control-allow-headers"].to_str().unwrap();
        for header in ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match"] {
            assert!(allowed_headers.contains(header), "{allowed_headers}");
        }
        assert!(headers.get("access-control-allow-credentials").is_none());

        let refused = preflight("https://evil.example").await.unwrap();
        assert!(refused.headers().get("access-control-allow-origin").is_none());
        assert!(refused.headers().get("access-control-allow-methods").is_none());

        let customer = app.http.get(app.url("/api/v1/customers")).header("origin", SHOP).send().await.unwrap();
        assert_eq!(customer.status(), StatusCode::OK);
        assert_eq!(customer.headers()["access-control-allow-origin"], SHOP);
        let exposed = customer.headers()["access-control-expose-headers"].to_str().unwrap();
        for header in ["Location", "ETag", "x-request-id", "Idempotent-Replayed", "Retry-After"] {
            assert!(exposed.contains(header), "{exposed}");
        }
        assert!(customer.headers()["vary"].to_str().unwrap().contains("Origin"));
        let unauthenticated =
            app.anonymous.get(app.url("/api/v1/customers")).header("origin", SHOP).send().await.unwrap();
        assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(unauthenticated.headers()["access-control-allow-origin"], SHOP, "a page can read the 401");
        let other =
            app.http.get(app.url("/api/v1/customers")).header("origin", "https://evil.example").send().await.unwrap();
        assert_eq!(other.status(), StatusCode::OK);
        assert!(other.headers().get("access-control-allow-origin").is_none());
        assert!(other.headers().get("access-control-expose-headers").is_none());

        let closed = spawn_app(&db).await;
        let none = closed.http.get(closed.url("/api/v1/customers")).header("origin", SHOP).send().await.unwrap();
        assert!(none.headers().get("access-control-allow-origin").is_none(), "no origins by default");
    })
    .await;
}

#[tokio::test]
async fn an_incoming_traceparent_is_logged_and_returned() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let server = ServerProcess::start(&[], None);
    let address = server.address().await;
    // The project's client installs the TLS provider reqwest needs, whichever test runs first.
    let client = orderdesk_adapters::http::client(std::time::Duration::from_secs(10)).unwrap();
    let response = client
        .get(format!("http://{address}/healthz"))
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    let returned = response.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(returned.starts_with(&format!("00-{TRACE}-")) && !returned.contains("00f067aa0ba902b7"), "{returned}");
    let log = server.wait_for_log(|log| log.contains(&format!("\"trace_id\":\"{TRACE}\""))).await;
    let line = log.lines().find(|l| l.contains(TRACE)).unwrap();
    assert!(line.contains("request finished") && line.contains("/healthz"), "{line}");

    let fresh = client.get(format!("http://{address}/healthz")).header("traceparent", "garbage").send().await.unwrap();
    let fresh = fresh.headers()["traceparent"].to_str().unwrap().to_owned();
    assert_eq!(fresh.len(), 55, "{fresh}");
    assert!(!fresh.contains(TRACE));
}

/// `promtool check metrics` (Debian package `prometheus`) accepts `GET /metrics`: HELP and TYPE
/// lines, names and units. Skipped with a reason where promtool is missing; CI installs it.
#[tokio::test]
async fn the_metrics_pass_promtool() {
    let Ok(version) = Command::new("promtool").arg("--version").output() else {
        assert!(std::env::var_os("CI").is_none(), "CI must run promtool: install the Debian package prometheus");
        eprintln!("note: promtool is not installed; skipped (apt-get install prometheus)");
        return;
    };
    assert!(version.status.success());
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let customer: Value = app.post_customer("PROMTOOL-1").await.json().await.unwrap();
        app.post_order(&customer["id"], "10.00").await;
        app.anonymous.get(app.url("/api/v1/customers")).bearer_auth("not-a-jwt").send().await.unwrap();
        let text = app.anonymous.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let mut check = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        check.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let output = check.wait_with_output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success() && said.trim().is_empty(), "promtool: {said}\n{text}");
    })
    .await;
}

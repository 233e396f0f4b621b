//! Slow and idle clients are cut off on time, while the server keeps answering others.

use std::time::Duration;

use orderdesk_adapters::testing::{Backend, with_database};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::{TestApp, spawn_app_with};

const EACH_KIND: usize = 25;

async fn spawn_with_one_second_timeouts(db: &orderdesk_adapters::testing::TestDatabase) -> TestApp {
    spawn_app_with(db, |settings| {
        settings.server.header_read_timeout_seconds = 1;
        settings.server.body_read_timeout_seconds = 1;
        settings.server.keep_alive_timeout_seconds = 1;
        // The slow clients all come from 127.0.0.1: more than one client's cap.
        settings.server.max_connections_per_client = 1024;
    })
    .await
}

async fn open(app: &TestApp, sends: &str) -> TcpStream {
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(sends.as_bytes()).await.unwrap();
    stream
}

/// Reads until the server closes the connection or `deadline` passes; returns what arrived,
/// or `None` when the connection was still open at the deadline.
async fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> Option<String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    for _ in 0..1000 {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(String::from_utf8_lossy(&received).into_owned()),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
    None
}

#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_on_time_while_healthz_answers() {
    with_database(Backend::Sqlite, |db| async move {
        // Arrange: connections that send nothing, half a head, half a body, or one request
        // and then nothing.
        let app = spawn_with_one_second_timeouts(&db).await;
        let opened = Instant::now();
        let mut idle = Vec::new();
        let mut half_head = Vec::new();
        let mut half_body = Vec::new();
        let mut kept_alive = Vec::new();
        for _ in 0..EACH_KIND {
            idle.push(open(&app, "").await);
            half_head.push(open(&app, "GET /healthz HTTP/1.1\r\nHost: orderdesk\r\nAccept: */").await);
            half_body.push(
                open(
                    &app,
                    "POST /api/v1/customers HTTP/1.1\r\nHost: orderdesk\r\ncontent-type: application/json\r\n\
                     content-length: 100\r\n\r\n{\"name\": \"Am",
                )
                .await,
            );
            kept_alive.push(open(&app, "GET /healthz HTTP/1.1\r\nHost: orderdesk\r\n\r\n").await);
        }

        // Act + Assert: others are served at once meanwhile. (No pooled connections: the
        // server closes idle ones after a second, which a pooled client could race.)
        let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        for _ in 0..5 {
            let started = Instant::now();
            let response = fresh.get(app.url("/healthz")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(started.elapsed() < Duration::from_secs(1), "/healthz took {:?}", started.elapsed());
        }

        // Each slow connection is closed within its one-second timeout (plus scheduling slack).
        let deadline = opened + Duration::from_millis(3500);
        for stream in &mut idle {
            assert_eq!(read_until_closed(stream, deadline).await.as_deref(), Some(""), "idle connection left open");
        }
        for stream in &mut half_head {
            assert!(read_until_closed(stream, deadline).await.is_some(), "half-sent head left open");
        }
        for stream in &mut half_body {
            let answer = read_until_closed(stream, deadline).await.expect("half-sent body left open");
            assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
            assert!(answer.contains("/problems/request-timeout"), "{answer}");
        }
        for stream in &mut kept_alive {
            let answer = read_until_closed(stream, deadline).await.expect("idle keep-alive connection left open");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        assert_eq!(fresh.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_request_that_keeps_to_the_timeouts_is_served_whole() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_with_one_second_timeouts(&db).await;
        // A head and a body that each arrive in pieces, but in time.
        let mut stream = open(&app, "GET /healthz HTTP/1.1\r\nHost: orderdesk\r\n").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(b"\r\n").await.unwrap();
        let mut buffer = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));

        // The same connection, kept alive, serves a second request within the idle timeout.
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: orderdesk\r\nConnection: close\r\n\r\n").await.unwrap();
        let answer = read_until_closed(&mut stream, Instant::now() + Duration::from_secs(2)).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await;
}

#[tokio::test]
async fn over_max_connections_a_client_waits_until_a_slot_frees_up() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.server.header_read_timeout_seconds = 1;
            settings.server.max_connections = 4;
        })
        .await;
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(open(&app, "").await);
        }
        // None of the four is idle (each waits for its head), so none makes room: the fifth
        // waits until they time out, then is served.
        let started = Instant::now();
        let response = app.anonymous.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(500) && waited < Duration::from_secs(3), "took {waited:?}");
    })
    .await;
}

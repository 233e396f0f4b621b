//! One client cannot hold every connection: over its own cap its connections are closed, and
//! when the server is full the connection idle the longest makes room for a newcomer.

use std::net::SocketAddr;
use std::time::Duration;

use orderdesk_adapters::testing::{Backend, with_database};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::helpers::TestApp;
use crate::helpers::spawn_app_with;

const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: orderdesk\r\n\r\n";

/// A connection from `source` (a loopback address) to the server.
async fn connect_from(source: &str, app: &TestApp) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.parse().unwrap(), 0)).unwrap();
    socket.connect(app.address).await.unwrap()
}

/// Sends one request and reads its whole response; the connection stays open (idle).
async fn request(stream: &mut TcpStream) -> String {
    stream.write_all(REQUEST).await.unwrap();
    let mut buffer = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

/// Whether the server closes the connection (end of file or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 64];
    matches!(tokio::time::timeout(within, stream.read(&mut buffer)).await, Ok(Ok(0) | Err(_)))
}

/// A client from `source` with no pooled connections.
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<std::net::IpAddr>().unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn healthz_answers_at_once_while_one_client_holds_every_connection_idle() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.server.max_connections = 8;
            settings.server.max_connections_per_client = 8;
        })
        .await;
        // The hoarder: every slot, each kept alive by one answered request, oldest first.
        let mut held = Vec::new();
        for _ in 0..8 {
            let mut stream = connect_from("127.0.0.1", &app).await;
            assert!(request(&mut stream).await.starts_with("HTTP/1.1 200"));
            held.push(stream);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        let started = Instant::now();
        let answered =
            tokio::time::timeout(Duration::from_secs(2), client_from("127.0.0.2").get(app.url("/healthz")).send())
                .await;
        let response = answered.expect("/healthz answers within 2 s").unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        println!("/healthz with every connection held idle: {:?}", started.elapsed());

        // The connection idle the longest made room; the others are still open and served.
        assert!(closed_within(&mut held[0], Duration::from_secs(2)).await, "the oldest idle connection was closed");
        for stream in &mut held[1..] {
            assert!(request(stream).await.starts_with("HTTP/1.1 200"));
        }
    })
    .await;
}

#[tokio::test]
async fn connections_over_the_per_client_cap_are_closed_while_other_clients_get_in() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.server.max_connections = 8;
            settings.server.max_connections_per_client = 3;
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(connect_from("127.0.0.1", &app).await);
        }
        for _ in 0..2 {
            let mut extra = connect_from("127.0.0.1", &app).await;
            assert!(closed_within(&mut extra, Duration::from_secs(1)).await, "a fourth connection was left open");
        }
        for stream in &mut held {
            assert!(request(stream).await.starts_with("HTTP/1.1 200"), "the first three are served");
        }
        let response = client_from("127.0.0.2").get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_trusted_proxy_may_hold_more_connections_than_the_per_client_cap() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.server.max_connections = 8;
            settings.server.max_connections_per_client = 2;
            settings.server.trusted_proxies = vec!["127.0.0.0/30".into()];
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(connect_from("127.0.0.1", &app).await);
        }
        for stream in &mut held {
            assert!(request(stream).await.starts_with("HTTP/1.1 200"));
        }
        // 127.0.0.5 is not in the range: capped.
        let _first = [connect_from("127.0.0.5", &app).await, connect_from("127.0.0.5", &app).await];
        let mut third = connect_from("127.0.0.5", &app).await;
        assert!(closed_within(&mut third, Duration::from_secs(1)).await);
    })
    .await;
}

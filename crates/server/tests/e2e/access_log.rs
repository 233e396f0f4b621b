//! The delivery-report webhook's secret is in its path; the server's log never shows it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::ServerProcess;

const SECRET: &str = "Zq7secretWebhookToken42";

/// Sends `path` exactly as written (no client normalises it) and waits for the answer.
async fn post_raw(address: SocketAddr, path: &str) -> String {
    let body = "id=ATXid_1&status=Success&phoneNumber=%2B254711000001";
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: orderdesk\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn the_webhook_secret_never_reaches_the_log_whatever_the_path_looks_like() {
    // Arrange
    let server = ServerProcess::start(&[("ORDERDESK_SMS__WEBHOOK_SECRET", SECRET)], None);
    let address = server.address().await;
    let encoded: String = SECRET.bytes().map(|b| format!("%{b:02X}")).collect();
    let paths = [
        format!("/webhooks/africastalking/delivery-reports/{SECRET}"),
        format!("/webhooks/africastalking/delivery-reports/{SECRET}/"),
        format!("/webhooks/africastalking/delivery-reports/{SECRET}/x"),
        format!("/webhooks//africastalking//delivery-reports//{SECRET}"),
        format!("//webhooks/africastalking/delivery-reports/{SECRET}//"),
        format!("/webhooks/africastalking/delivery-reports/{encoded}"),
        format!("/webhooks/africastalking/delivery%2Dreports/{SECRET}"),
        format!("/webhooks/africastalking/delivery%2dreports/{SECRET}/"),
        format!("/WEBHOOKS/AfricasTalking/Delivery-Reports/{SECRET}"),
        format!("/webhooks/africastalking/delivery-reports%2F{SECRET}"),
        format!("/webhooks%2Fafricastalking%2Fdelivery-reports%2F{SECRET}"),
        format!("/webhooks/africastalking/{SECRET}"),
        format!("/webhooks/{SECRET}/delivery-reports"),
    ];

    // Act
    let accepted = post_raw(address, &paths[0]).await;
    assert!(accepted.starts_with("HTTP/1.1 2"), "the real route answers: {accepted}");
    for path in &paths[1..] {
        let answer = post_raw(address, path).await;
        assert!(answer.starts_with("HTTP/1.1 "), "{path}: {answer}");
    }

    // Assert
    let log = server.wait_for_log(|log| log.matches("request finished").count() >= paths.len()).await;
    assert!(log.contains("/webhooks/africastalking/delivery-reports/***"), "{log}");
    for needle in [SECRET.to_owned(), SECRET.to_ascii_lowercase(), encoded.clone(), encoded[..12].to_owned()] {
        assert!(!log.contains(&needle), "{needle:?} in the log:\n{log}");
    }
}

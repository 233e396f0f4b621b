//! `telemetry.otlp_endpoint`: request spans exported over OTLP/HTTP to a fake collector.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt, Request, Route, Server};

use crate::process::ServerProcess;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// One request as the collector saw it: path, content type, body.
type Export = (String, String, Vec<u8>);

/// A loopback OTLP/HTTP collector that records every request; its base URL.
async fn fake_collector() -> (String, Arc<Mutex<Vec<Export>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let record = received.clone();
    let collector = poem::endpoint::make(move |req: Request| {
        let record = record.clone();
        async move {
            let path = req.uri().path().to_owned();
            let content_type = req.header("content-type").unwrap_or_default().to_owned();
            let body = req.into_body().into_vec().await.unwrap_or_default();
            record.lock().unwrap().push((path, content_type, body));
        }
    });
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let address = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(Route::new().at("/*path", collector.map_to_response())));
    (format!("http://{address}"), received)
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Sends a traced, authorized request; returns the `traceparent` the server answered with.
async fn traced_request(server: &ServerProcess) -> String {
    let address = server.address().await;
    let response = orderdesk_adapters::http::client(Duration::from_secs(10))
        .unwrap()
        .get(format!("http://{address}/healthz"))
        .header("traceparent", format!("00-{TRACE}-{CALLER_SPAN}-01"))
        .header("authorization", "Bearer not-to-be-exported-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["traceparent"].to_str().unwrap().to_owned()
}

/// Batches wait a minute here, so the export seen proves the flush on shutdown.
#[tokio::test]
async fn request_spans_continue_the_callers_trace_and_are_flushed_on_shutdown() {
    let (endpoint, received) = fake_collector().await;
    let mut server = ServerProcess::start(
        &[("ORDERDESK_TELEMETRY__OTLP_ENDPOINT", &endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "60000")],
        None,
    );
    let returned = traced_request(&server).await;
    assert!(returned.starts_with(&format!("00-{TRACE}-")) && returned.ends_with("-01"), "{returned}");
    let own_span = &returned[36..52];
    let log = server.wait_for_log(|log| log.contains(&format!("\"trace_id\":\"{TRACE}\""))).await;
    assert!(log.contains("exporting request spans over OTLP/HTTP"), "{log}");

    assert!(server.terminate().await, "{}", server.log());
    let exports = received.lock().unwrap().clone();
    let (path, content_type, body) = exports
        .iter()
        .find(|(_, _, body)| contains(body, &hex(TRACE)))
        .unwrap_or_else(|| panic!("no export carries the trace id; {} requests seen", exports.len()));
    assert_eq!(path, "/v1/traces");
    assert_eq!(content_type, "application/x-protobuf");
    // The exported span is the one the response named, and its parent is the caller's span.
    assert!(contains(body, &hex(own_span)), "the exported span id differs from the traceparent's");
    assert!(contains(body, &hex(CALLER_SPAN)), "the caller's span is not the parent");
    assert!(contains(body, b"orderdesk") && contains(body, b"GET /healthz"));
    assert!(!contains(body, b"not-to-be-exported-7f3a"), "a credential was exported");
}

/// Without the setting nothing is exported, even with the SDK's own variable set.
#[tokio::test]
async fn nothing_is_exported_without_the_setting() {
    let (endpoint, received) = fake_collector().await;
    let mut server = ServerProcess::start(
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint)],
        None,
    );
    traced_request(&server).await;
    assert!(server.terminate().await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(received.lock().unwrap().is_empty());
    assert!(!server.log().contains("OTLP"));
}

#[test]
fn an_invalid_endpoint_is_refused_at_startup() {
    let output = Command::new(env!("CARGO_BIN_EXE_orderdesk"))
        .arg("config")
        .env("ORDERDESK_TELEMETRY__OTLP_ENDPOINT", "collector:4318")
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && error.contains("telemetry.otlp_endpoint"), "{error}");
}

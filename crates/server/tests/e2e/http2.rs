//! HTTP/2 without TLS ("prior knowledge"): refused unless configured, then with a bounded
//! number of streams per connection.

use orderdesk_adapters::testing::{Backend, with_database};
use poem::http::Request;
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app_with};

/// Opens an HTTP/2 connection with prior knowledge and sends `GET /healthz` on it.
async fn h2_healthz(app: &TestApp) -> (Result<u16, h2::Error>, h2::client::SendRequest<&'static [u8]>) {
    let tcp = TcpStream::connect(app.address).await.unwrap();
    let (mut client, connection) = h2::client::Builder::new().handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let request = Request::get(app.url("/healthz")).body(()).unwrap();
    let status = match client.send_request(request, true) {
        Ok((response, _)) => response.await.map(|r| r.status().as_u16()),
        Err(error) => Err(error),
    };
    (status, client)
}

#[tokio::test]
async fn http2_without_tls_is_refused_by_default_with_http_1_1_required() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |_| {}).await;
        let (status, _) = h2_healthz(&app).await;
        let error = status.expect_err("served over HTTP/2 without TLS");
        assert_eq!(error.reason(), Some(h2::Reason::HTTP_1_1_REQUIRED), "{error}");
        // HTTP/1.1 is served as before.
        assert_eq!(app.anonymous.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    })
    .await;
}

#[tokio::test]
async fn http2_without_tls_when_allowed_bounds_the_streams_per_connection() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |settings| {
            settings.server.http2_prior_knowledge = true;
            settings.server.http2_max_concurrent_streams = 7;
        })
        .await;
        let (status, client) = h2_healthz(&app).await;
        assert_eq!(status.unwrap(), 200);
        // The server's SETTINGS_MAX_CONCURRENT_STREAMS, as the client received it.
        assert_eq!(client.current_max_send_streams(), 7);
    })
    .await;
}

//! Calls to the API through the generated client (`orderdesk-client`), on one tokio runtime
//! shared by the checks; [`block_on`] runs a call from the checks' plain threads.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use orderdesk_client::types::{Customer, Order};
use orderdesk_client::{Client, Error, reqwest};
use uuid::Uuid;

/// The harness's runtime (two workers: the load comes from the callers' threads).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // reqwest is built without a default TLS provider in this workspace: ring, as the server.
        let _ = rustls::crypto::ring::default_provider().install_default();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("cannot start the harness's tokio runtime: {error}"))
    })
}

/// Runs `future` to completion on the harness's runtime (callable from any plain thread).
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// An HTTP client for 127.0.0.1 (no proxy, 15 s per request) sending `token` as a bearer token.
pub fn http_builder(token: &str) -> anyhow::Result<reqwest::ClientBuilder> {
    let _ = runtime();
    let mut authorization = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?;
    authorization.set_sensitive(true);
    let headers = reqwest::header::HeaderMap::from_iter([(reqwest::header::AUTHORIZATION, authorization)]);
    Ok(reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(15)).no_proxy())
}

/// The typed client for `base_url` with `token`.
pub fn client(base_url: &str, token: &str) -> anyhow::Result<Client> {
    Ok(Client::new_with_client(base_url, http_builder(token)?.build()?))
}

/// An HTTP client for 127.0.0.1 without credentials (no proxy, 5 s per request): probes and
/// `/metrics`.
pub fn plain_http() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).no_proxy().build()
}

/// Whether `GET <base_url>/readyz` answers 200 now.
pub async fn is_ready(base_url: &str) -> bool {
    match plain_http() {
        Ok(http) => is_ready_with(&http, base_url).await,
        Err(_) => false,
    }
}

/// [`is_ready`] through `http` (TLS with a test CA).
pub async fn is_ready_with(http: &reqwest::Client, base_url: &str) -> bool {
    http.get(format!("{base_url}/readyz")).send().await.is_ok_and(|r| r.status().is_success())
}

/// Creates a customer with this code (name and phone derived from it).
pub async fn create_customer(client: &Client, code: &str, phone: &str) -> anyhow::Result<Customer> {
    let name = format!("System test {code}");
    let created = client.create_customer().body_map(|b| b.name(name).code(code).phone(phone)).send().await;
    Ok(created.map_err(|e| anyhow::anyhow!("creating the customer {code}: {e}"))?.into_inner())
}

/// What the server said to one create-order request.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The order, on a 2xx answer (a replay repeats the first one).
    pub order: Option<Order>,
    /// The answer was marked `Idempotent-Replayed: true`.
    pub replayed: bool,
}

fn replayed(headers: &reqwest::header::HeaderMap) -> bool {
    headers.get("idempotent-replayed").is_some_and(|v| v.as_bytes() == b"true")
}

/// `POST /api/v1/orders` for `item` of `amount`, with `key` as its Idempotency-Key if any.
/// Fails only when no answer came (the server is gone); an error status is an [`Answer`].
pub async fn create_order(
    client: &Client,
    customer: Uuid,
    item: &str,
    amount: &str,
    key: Option<&str>,
) -> anyhow::Result<Answer> {
    let mut request = client.create_order().body_map(|b| b.customer_id(customer).item(item).amount(amount));
    if let Some(key) = key {
        request = request.idempotency_key(key);
    }
    match request.send().await {
        Ok(response) => Ok(Answer {
            status: response.status().as_u16(),
            replayed: replayed(response.headers()),
            order: Some(response.into_inner()),
        }),
        Err(Error::ErrorResponse(response)) => {
            Ok(Answer { status: response.status().as_u16(), replayed: replayed(response.headers()), order: None })
        }
        Err(Error::UnexpectedResponse(response)) => {
            Ok(Answer { status: response.status().as_u16(), replayed: replayed(response.headers()), order: None })
        }
        Err(error) => Err(anyhow::anyhow!("no answer to POST /api/v1/orders: {error}")),
    }
}

/// Every order, following the cursor (at most 1,000 pages of 200).
pub async fn all_orders(client: &Client) -> anyhow::Result<Vec<Order>> {
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut request = client.list_orders().limit(200_u64);
        if let Some(cursor) = cursor.take() {
            request = request.cursor(cursor);
        }
        let page = request.send().await.map_err(|e| anyhow::anyhow!("listing orders: {e}"))?.into_inner();
        orders.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok(orders),
        }
    }
    anyhow::bail!("more than 1000 pages of orders")
}

/// How many notifications the order has.
pub async fn notification_count(client: &Client, order: Uuid) -> anyhow::Result<usize> {
    let list = client.list_order_notifications().id(order).send().await;
    Ok(list.map_err(|e| anyhow::anyhow!("listing the notifications of {order}: {e}"))?.into_inner().items.len())
}

/// The order's id as text (what logs and SQL compare).
pub fn id_of(order: &Order) -> String {
    order.id.to_string()
}

/// The created order of an answer, or why there is none.
pub fn created(answer: Answer) -> anyhow::Result<Order> {
    let status = answer.status;
    answer.order.with_context(|| format!("creating an order answered {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_is_read_from_its_header() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert!(!replayed(&headers));
        headers.insert("idempotent-replayed", "true".parse().unwrap());
        assert!(replayed(&headers));
    }

    #[test]
    fn nothing_answers_on_a_closed_port_and_calls_run_from_plain_threads() {
        let port = crate::server::free_port().unwrap();
        let ready = std::thread::spawn(move || block_on(is_ready(&format!("http://127.0.0.1:{port}"))));
        assert!(!ready.join().unwrap());
        let client = client(&format!("http://127.0.0.1:{port}"), "token").unwrap();
        let answer = block_on(create_order(&client, Uuid::nil(), "x", "1.00", Some("k")));
        assert!(answer.unwrap_err().to_string().contains("no answer"));
    }
}

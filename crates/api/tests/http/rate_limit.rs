//! Per-client rate limits: per token subject, per address without a token, probes exempt.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use orderdesk_api::rate_limit::RateLimitOptions;
use orderdesk_api::{HttpOptions, app};
use orderdesk_domain::auth::TokenVerifier;
use orderdesk_domain::{Permission, Principal, TokenRejection};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, EndpointExt, IntoEndpoint, Request, RequestParts};

use orderdesk_api::pages::WebOptions;
use orderdesk_signin::Session;
use orderdesk_signin::ports::MockSessionRepository;

use crate::{Client, assert_problem, memory_services};

const BURST: u32 = 3;

/// Each token is its own subject ("alice", "bob"); "bad" is refused. Counts verifications.
#[derive(Default)]
struct SubjectTokens {
    verified: AtomicUsize,
}

#[async_trait]
impl TokenVerifier for SubjectTokens {
    async fn verify(&self, token: &str) -> Result<Principal, TokenRejection> {
        self.verified.fetch_add(1, Ordering::SeqCst);
        match token {
            "bad" => Err(TokenRejection::Expired),
            subject => Ok(Principal::new(subject, Permission::ALL)),
        }
    }
}

/// Requests carry their client address in `x-test-peer` (the test client has no socket).
fn with_peer(req: Request) -> Request {
    let Some(peer) = req.header("x-test-peer").and_then(|p| p.parse::<SocketAddr>().ok()) else {
        return req;
    };
    let (parts, body) = req.into_parts();
    let mut head = poem::http::Request::new(());
    *head.method_mut() = parts.method;
    *head.uri_mut() = parts.uri;
    *head.headers_mut() = parts.headers;
    let (head, ()) = head.into_parts();
    let remote = RemoteAddr(Addr::SocketAddr(peer));
    let parts = RequestParts::from((head, LocalAddr(Addr::default()), remote, poem::http::uri::Scheme::HTTP));
    Request::from_parts(parts, body)
}

/// A client of an app limited to one request per second with bursts of [`BURST`].
fn limited_client(tokens: Arc<SubjectTokens>) -> Client {
    limited_client_with(tokens, None)
}

/// The same, with the dashboard: every session cookie `<subject>-session` is a live session.
fn limited_client_with(tokens: Arc<SubjectTokens>, web: Option<WebOptions>) -> Client {
    let mut services = memory_services();
    services.tokens = tokens;
    let one = NonZeroU32::MIN;
    let rate_limit = RateLimitOptions { requests_per_second: one, burst: NonZeroU32::new(BURST).unwrap() };
    let options = HttpOptions { rate_limit: Some(rate_limit), web, ..HttpOptions::default() };
    let endpoint = app(services, options).into_endpoint().before(|req| async move { Ok(with_peer(req)) });
    TestClient::new(endpoint.map_to_response().boxed())
}

async fn list_customers(client: &Client, token: Option<&str>, peer: &str) -> TestResponse {
    let request = client.get("/api/v1/customers").header("x-test-peer", peer);
    match token {
        Some(token) => request.header("authorization", format!("Bearer {token}")).send().await,
        None => request.send().await,
    }
}

#[tokio::test]
async fn a_subject_over_its_burst_gets_429_with_retry_after_and_others_are_not_limited() {
    // Arrange
    let tokens = Arc::new(SubjectTokens::default());
    let client = limited_client(tokens.clone());
    for _ in 0..BURST {
        list_customers(&client, Some("alice"), "192.0.2.1:4000").await.assert_status_is_ok();
    }
    // Each request's token was verified once, by the limiter; the security scheme reused it.
    assert_eq!(tokens.verified.load(Ordering::SeqCst), BURST as usize);

    // Act: one more, from another address (the key is the subject, not the address)
    let limited = list_customers(&client, Some("alice"), "192.0.2.99:4000").await;
    let other = list_customers(&client, Some("bob"), "192.0.2.1:4000").await;

    // Assert
    let retry_after: u64 = limited.0.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body = assert_problem(limited, 429, "rate-limited").await;
    assert!(body["detail"].as_str().unwrap().contains("retry after"), "{body}");
    other.assert_status_is_ok();
}

#[tokio::test]
async fn calls_without_a_valid_token_are_limited_per_address() {
    // Arrange
    let client = limited_client(Arc::new(SubjectTokens::default()));
    for _ in 0..BURST {
        list_customers(&client, None, "192.0.2.1:4000").await.assert_status(StatusCode::UNAUTHORIZED);
    }

    // Act: the same address (another port, and with a refused token), then other addresses
    let same_host = list_customers(&client, None, "192.0.2.1:5000").await;
    let refused_token = list_customers(&client, Some("bad"), "192.0.2.1:4000").await;
    let other_host = list_customers(&client, None, "192.0.2.2:4000").await;

    // Assert
    assert_problem(same_host, 429, "rate-limited").await;
    assert_problem(refused_token, 429, "rate-limited").await;
    other_host.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_64_prefix() {
    let client = limited_client(Arc::new(SubjectTokens::default()));
    for host in 1..=BURST {
        let peer = format!("[2001:db8:1:2::{host}]:4000");
        list_customers(&client, None, &peer).await.assert_status(StatusCode::UNAUTHORIZED);
    }

    let same_prefix = list_customers(&client, None, "[2001:db8:1:2:ffff::1]:4000").await;
    let other_prefix = list_customers(&client, None, "[2001:db8:1:3::1]:4000").await;

    assert_problem(same_prefix, 429, "rate-limited").await;
    other_prefix.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn probes_are_never_limited() {
    let client = limited_client(Arc::new(SubjectTokens::default()));
    for _ in 0..BURST * 3 {
        for path in ["/healthz", "/readyz"] {
            client.get(path).header("x-test-peer", "192.0.2.1:4000").send().await.assert_status_is_ok();
        }
    }
    // The probes took nothing from the address's bucket.
    for _ in 0..BURST {
        list_customers(&client, None, "192.0.2.1:4000").await.assert_status(StatusCode::UNAUTHORIZED);
    }
    assert_problem(list_customers(&client, None, "192.0.2.1:4000").await, 429, "rate-limited").await;
}

fn dashboard() -> WebOptions {
    let mut sessions = MockSessionRepository::new();
    sessions.expect_find().returning(|token, now| {
        Ok(token.strip_suffix("-session").map(|subject| Session {
            subject: subject.to_owned(),
            name: subject.to_owned(),
            email: None,
            picture: None,
            permissions: Permission::ALL.into_iter().collect(),
            csrf_token: "csrf".into(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
        }))
    });
    WebOptions {
        public_url: "http://127.0.0.1:8080".into(),
        secure_cookies: false,
        session_ttl: std::time::Duration::from_secs(3600),
        cookie_key: vec![7; 64],
        oidc: None,
        sessions: Arc::new(sessions),
        dev_issuer: None,
        time_zone: chrono_tz::Africa::Nairobi,
    }
}

async fn dashboard_page(client: &Client, session: Option<&str>, peer: &str) -> TestResponse {
    let request = client.get("/dashboard").header("x-test-peer", peer);
    match session {
        Some(token) => request.header("cookie", format!("orderdesk_session={token}")).send().await,
        None => request.send().await,
    }
}

/// Behind the documented nginx every client has its address: signed-in users are limited as
/// themselves, not with every anonymous client; a 429 on a page is a page.
#[tokio::test]
async fn dashboard_users_are_limited_by_their_session_and_a_page_429_is_html() {
    let client = limited_client_with(Arc::new(SubjectTokens::default()), Some(dashboard()));
    let proxy = "127.0.0.1:4000";
    for _ in 0..BURST {
        dashboard_page(&client, None, proxy).await;
    }
    let anonymous = dashboard_page(&client, None, proxy).await;
    anonymous.assert_status(StatusCode::TOO_MANY_REQUESTS);
    anonymous.assert_content_type("text/html; charset=utf-8");
    assert!(anonymous.0.headers().contains_key("retry-after"));
    let page = anonymous.0.into_body().into_string().await.unwrap();
    assert!(page.contains("<h1>") && page.contains("try again"), "{page}");

    // The same address, signed in: each user has a bucket of their own.
    for _ in 0..BURST {
        let alice = dashboard_page(&client, Some("alice-session"), proxy).await;
        assert_ne!(alice.0.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    dashboard_page(&client, Some("alice-session"), proxy).await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_ne!(dashboard_page(&client, Some("bob-session"), proxy).await.0.status(), StatusCode::TOO_MANY_REQUESTS);
    // An unknown session is the address.
    dashboard_page(&client, Some("forged"), proxy).await.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

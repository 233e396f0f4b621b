//! Per-client rate limits (GCRA through `governor`, one bucket per client): a client is the
//! subject of a valid bearer token, else the user of a live dashboard session, else its
//! address (behind the documented nginx every anonymous client shares one). Limits are per
//! process. Depends on the domain's `TokenVerifier` and the sign-in `SessionRepository` ports.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use orderdesk_domain::Principal;
use orderdesk_domain::auth::TokenVerifier;
use orderdesk_signin::SessionRepository;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::headers::authorization::Bearer;
use poem::web::headers::{Authorization, HeaderMapExt};
use poem::{IntoResponse, Request, Response};

use crate::problem::ApiError;

/// Probes and scrapes must keep working while a client is throttled.
const EXEMPT_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];
/// The SMS provider's callbacks (delivery reports, incoming messages, opt-outs) come from a
/// few provider addresses in bursts; a 429 would lose them. A wrong path secret costs one constant-time comparison.
const EXEMPT_PREFIX: &str = "/webhooks/";
/// How often buckets that have refilled are dropped, which bounds the keyed map.
const SWEEP_INTERVAL_MS: u64 = 10_000;

/// The limit each client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitOptions {
    /// Sustained requests per second.
    pub requests_per_second: NonZeroU32,
    /// Requests a client may send at once after being idle.
    pub burst: NonZeroU32,
}

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    Subject(String),
    /// An IPv6 client is keyed by its /64, which one host usually holds whole.
    Address(IpAddr),
    /// Not a TCP peer (in-process calls).
    Unknown,
}

/// A bearer token the limiter has already verified, left in the request data so that the
/// security scheme does not verify it a second time.
#[derive(Clone)]
pub struct VerifiedBearer {
    pub token: String,
    pub principal: Principal,
}

/// The limiter shared by every request of a process.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    buckets: DefaultKeyedRateLimiter<Client>,
    options: RateLimitOptions,
    tokens: Arc<dyn TokenVerifier>,
    sessions: Option<Arc<dyn SessionRepository>>,
    started: Instant,
    next_sweep_ms: AtomicU64,
}

impl RateLimiter {
    /// `sessions`: the dashboard's sessions, so a signed-in user is limited as themselves.
    pub fn new(
        options: RateLimitOptions,
        tokens: Arc<dyn TokenVerifier>,
        sessions: Option<Arc<dyn SessionRepository>>,
    ) -> Self {
        let quota = Quota::per_second(options.requests_per_second).allow_burst(options.burst);
        let inner = Inner {
            buckets: DefaultKeyedRateLimiter::keyed(quota),
            options,
            tokens,
            sessions,
            started: Instant::now(),
            next_sweep_ms: AtomicU64::new(SWEEP_INTERVAL_MS),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Who is calling: a valid token's subject, else the peer address.
    async fn client(&self, req: &mut Request) -> Client {
        if let Some(Authorization(bearer)) = req.headers().typed_get::<Authorization<Bearer>>()
            && let Ok(principal) = self.inner.tokens.verify(bearer.token()).await
        {
            let client = Client::Subject(principal.subject().to_owned());
            req.set_data(VerifiedBearer { token: bearer.token().to_owned(), principal });
            return client;
        }
        if let Some(sessions) = &self.inner.sessions
            && let Some(token) = session_cookie(req)
            && let Ok(Some(session)) = sessions.find(&token, chrono::Utc::now()).await
        {
            return Client::Subject(session.subject);
        }
        match req.remote_addr().as_socket_addr().map(std::net::SocketAddr::ip) {
            Some(IpAddr::V6(ip)) if ip.to_ipv4_mapped().is_none() => {
                let prefix = u128::from(ip) & !((1u128 << 64) - 1);
                Client::Address(IpAddr::V6(prefix.into()))
            }
            Some(IpAddr::V6(ip)) => Client::Address(ip.to_canonical()),
            Some(ip) => Client::Address(ip),
            None => Client::Unknown,
        }
    }

    /// Takes one request from the client's bucket, or says how long until one is available.
    fn check(&self, client: &Client) -> Result<(), Duration> {
        self.sweep_if_due();
        let buckets = &self.inner.buckets;
        buckets.check_key(client).map_err(|not_until| not_until.wait_time_from(buckets.clock().now()))
    }

    /// Drops buckets that have refilled, at most once per interval, by one caller.
    fn sweep_if_due(&self) {
        let now_ms = u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let due = self.inner.next_sweep_ms.load(Ordering::Relaxed);
        if now_ms >= due
            && self
                .inner
                .next_sweep_ms
                .compare_exchange(due, now_ms.saturating_add(SWEEP_INTERVAL_MS), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.inner.buckets.retain_recent();
            self.inner.buckets.shrink_to_fit();
        }
    }

    /// 429 with `Retry-After` in whole seconds, rounded up, at least 1: problem+json for the
    /// API, an HTML page for the dashboard's pages.
    fn too_many_requests(&self, wait: Duration, page: bool) -> Response {
        let seconds = retry_after_seconds(wait);
        let RateLimitOptions { requests_per_second, burst } = self.inner.options;
        let detail = format!(
            "this client sent more than {requests_per_second} requests per second (bursts of {burst}); \
             retry after {seconds} s"
        );
        if !page {
            return ApiError::rate_limited(detail, seconds).into_response();
        }
        let text = format!("Too many requests came from you at once. Please wait {seconds} s and try again.");
        let mut response = crate::pages::message(StatusCode::TOO_MANY_REQUESTS, "Please slow down", text);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        response
    }

    /// Number of clients currently tracked.
    pub fn tracked_clients(&self) -> usize {
        self.inner.buckets.len()
    }
}

/// Whole seconds, rounded up (a client that waits exactly this long gets through), at least 1.
fn retry_after_seconds(wait: Duration) -> u32 {
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

/// The dashboard session token from the `Cookie` header, if any.
fn session_cookie(req: &Request) -> Option<String> {
    req.headers().get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == crate::pages::SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
    })
}

fn is_exempt(path: &str) -> bool {
    EXEMPT_PATHS.contains(&path) || path.starts_with(EXEMPT_PREFIX)
}

/// The 429 `/problems/rate-limited` answer when the caller is over its limit; `None` when it
/// may go on (or no limiter is set, or the path is exempt).
pub async fn refusal(limiter: Option<&RateLimiter>, req: &mut Request) -> Option<Response> {
    let limiter = limiter.filter(|_| !is_exempt(req.uri().path()))?;
    let client = limiter.client(req).await;
    let wait = limiter.check(&client).err()?;
    Some(limiter.too_many_requests(wait, crate::pages::is_page(req.uri().path())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_metrics_and_webhooks_are_exempt() {
        for path in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/webhooks/africastalking/delivery-reports/x",
            "/webhooks/africastalking/incoming/x",
            "/webhooks/africastalking/opt-outs/x",
        ] {
            assert!(is_exempt(path), "{path}");
        }
        for path in ["/", "/api/v1/orders", "/healthz/x", "/docs", "/webhooks"] {
            assert!(!is_exempt(path), "{path}");
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(100)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
    }
}

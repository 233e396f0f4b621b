//! Outgoing webhooks over reqwest: the [`WebhookSender`] that POSTs signed events, the rules
//! for which URLs it calls, and the [`SecretGenerator`] on the operating system's generator.
//!
//! With `webhooks.allow_private_targets` off (production), a URL must be https, carry no
//! credentials, and lead only to public addresses ([`target::non_public`]). Names are checked
//! by the resolver the HTTP client connects through, so the addresses checked are the ones
//! connected to: a name that resolves to a public address at creation and to 127.0.0.1 later
//! (DNS rebinding) is refused at that delivery. No redirect is followed and no proxy is used.

mod dispatcher;
pub mod target;

pub use dispatcher::run_webhook_dispatcher;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use async_trait::async_trait;
use orderdesk_domain::ports::{SecretGenerator, WebhookSender};
use orderdesk_domain::webhook::{DELIVERY_TIMEOUT, EVENT_ID_HEADER, SIGNATURE_HEADER, SendResult, WebhookRequest};
use orderdesk_domain::webhook::{WebhookUrl, describe_duration};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use rsa::rand_core::{OsRng, RngCore};

/// Why a URL may not be called, in words that complete "url …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RefusedTarget(pub String);

/// Posts webhooks; see the module documentation for what it refuses.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private_targets: bool,
}

impl HttpWebhookSender {
    /// A sender waiting at most [`DELIVERY_TIMEOUT`] per POST; `allow_private_targets`
    /// (`webhooks.allow_private_targets`) lifts the https and public-address rules.
    ///
    /// # Errors
    /// The TLS configuration cannot be built.
    pub fn new(allow_private_targets: bool) -> Result<Self, crate::setup::SetupError> {
        // Installing twice is harmless: the first provider stays; reqwest panics if none is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, out of the address check's reach.
            .no_proxy()
            .user_agent(concat!("orderdesk-webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private_targets {
            builder = builder.dns_resolver(PublicOnlyResolver);
        }
        let client = builder.build()?;
        Ok(Self { client, allow_private_targets })
    }

    /// The checks that need no DNS: a URL that parses, http(s), no credentials, a host, and
    /// in production https and a public address when the host is one.
    fn check_url(&self, url: &WebhookUrl) -> Result<reqwest::Url, RefusedTarget> {
        let parsed =
            reqwest::Url::parse(url.as_str()).map_err(|e| RefusedTarget(format!("is not a valid URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RefusedTarget("must use http or https".into()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(RefusedTarget("must not contain credentials (user:password@)".into()));
        }
        let host = parsed.host().ok_or_else(|| RefusedTarget("must name a host".into()))?;
        if self.allow_private_targets {
            return Ok(parsed);
        }
        if parsed.scheme() != "https" {
            return Err(RefusedTarget("must use https (webhooks.allow_private_targets is off)".into()));
        }
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = literal {
            refuse_non_public(&ip.to_string(), ip)?;
        }
        Ok(parsed)
    }

    /// What went wrong with a POST, without the URL (its query may hold a token) and with the
    /// innermost cause, which is the one that says what happened.
    fn describe(error: &reqwest::Error) -> String {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        let mut innermost = String::new();
        while let Some(cause) = source {
            if let Some(refused) = cause.downcast_ref::<RefusedTarget>() {
                return format!("refused: {refused}");
            }
            innermost = cause.to_string();
            source = cause.source();
        }
        if error.is_timeout() {
            format!("no answer within {}", describe_duration(DELIVERY_TIMEOUT))
        } else if error.is_connect() {
            format!("cannot connect: {innermost}")
        } else {
            format!("the request failed: {innermost}")
        }
    }
}

/// Refuses `ip` (named `host` in the message) unless it is public.
fn refuse_non_public(host: &str, ip: IpAddr) -> Result<(), RefusedTarget> {
    match target::non_public(ip) {
        Some(kind) if host == ip.to_string() => Err(RefusedTarget(format!(
            "points to {ip}, a {kind} address; webhooks go to public addresses only (webhooks.allow_private_targets is off)"
        ))),
        Some(kind) => Err(RefusedTarget(format!(
            "{host} resolves to {ip}, a {kind} address; webhooks go to public addresses only (webhooks.allow_private_targets is off)"
        ))),
        None => Ok(()),
    }
}

/// The addresses of `host`, if every one is public (one private address is enough to refuse:
/// the connection could pick it).
async fn resolve_public(host: &str) -> Result<Vec<SocketAddr>, RefusedTarget> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| RefusedTarget(format!("names a host that does not resolve ({host}: {e})")))?
        .collect();
    if addresses.is_empty() {
        return Err(RefusedTarget(format!("names a host that does not resolve ({host}: no address)")));
    }
    for address in &addresses {
        refuse_non_public(host, address.ip().to_canonical())?;
    }
    Ok(addresses)
}

/// The client's resolver in production: the system's, refusing names with a non-public address.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses =
                resolve_public(&host).await.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), String> {
        let parsed = self.check_url(url).map_err(|e| e.0)?;
        if let (false, Some(url::Host::Domain(host))) = (self.allow_private_targets, parsed.host()) {
            resolve_public(host).await.map_err(|e| e.0)?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(event_id = %request.event_id))]
    async fn send(&self, request: &WebhookRequest) -> SendResult {
        let started = Instant::now();
        let url = match self.check_url(&request.url) {
            Ok(url) => url,
            Err(refused) => {
                return SendResult { status: Err(format!("refused: {refused}")), duration: started.elapsed() };
            }
        };
        let mut headers = crate::trace_context::outgoing_headers();
        let values = [
            (reqwest::header::CONTENT_TYPE.as_str(), "application/json".to_owned()),
            (EVENT_ID_HEADER, request.event_id.to_string()),
            (SIGNATURE_HEADER, request.signature.clone()),
        ];
        for (name, value) in values {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes());
            if let (Ok(name), Ok(value)) = (name, reqwest::header::HeaderValue::from_str(&value)) {
                headers.insert(name, value);
            }
        }
        let sent = self.client.post(url).headers(headers).body(request.body.clone()).send().await;
        let status = match sent {
            // The body is not read: the status says it all, and a large answer costs nothing.
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) => Err(Self::describe(&error)),
        };
        SendResult { status, duration: started.elapsed() }
    }
}

/// 32 bytes from the operating system's generator (getrandom).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecretGenerator;

impl SecretGenerator for OsSecretGenerator {
    fn random_bytes(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        OsRng.fill_bytes(&mut bytes);
        bytes
    }
}

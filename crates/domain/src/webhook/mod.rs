//! Webhook endpoints (#24): where events are POSTed, with the secrets that sign them, and every
//! rule of their life (rotation, disabling, re-enabling), with their deliveries ([`Delivery`],
//! [`WebhookRetryPolicy`]) and the signature ([`signature_header`]).
//!
//! Pure: no I/O. Secrets come from the [`crate::ports::SecretGenerator`] port; whether a URL may
//! be called (https, public addresses) is the [`crate::ports::WebhookSender`] adapter's check.

mod delivery;
mod signature;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::audit::AuditTrail;
use crate::auth::Actor;
use crate::error::InvalidValue;
use crate::event::{EventId, EventSelector};
use crate::text::bounded_text;

pub use delivery::{
    AttemptId, AttemptOutcome, DELIVERY_TIMEOUT, Delivery, DeliveryAttempt, DeliveryId, DeliveryLeaseLost,
    DeliveryParts, DeliveryStatus, SendResult, WebhookRequest, WebhookRetryPolicy, describe_duration,
};
pub use signature::{EVENT_ID_HEADER, SIGNATURE_HEADER, SignatureError, signature_header, verify_signature};

/// Identifies a webhook endpoint (UUIDv7, so ids sort by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookEndpointId(Uuid);

impl WebhookEndpointId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
    /// Wraps an id that came from storage or a request.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for WebhookEndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where deliveries are POSTed: an absolute `http://` or `https://` URL of at most 2048
/// characters with no whitespace or control characters. Whether it may be called (https only,
/// no credentials, no private addresses in production) is decided by the sender adapter
/// ([`crate::ports::WebhookSender::check_target`]), which owns URL parsing and DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The longest URL accepted, in characters (what browsers and proxies reliably carry).
    pub const MAX_CHARS: usize = 2048;

    /// Reads a URL as the caller sent it, trimming surrounding whitespace.
    ///
    /// # Errors
    /// [`InvalidValue::Empty`], [`InvalidValue::TooLong`], or [`InvalidValue::WebhookUrl`] for
    /// anything but `http://…` or `https://…` without spaces or control characters.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let url = input.trim();
        if url.is_empty() {
            return Err(InvalidValue::Empty);
        }
        if url.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong { max: Self::MAX_CHARS });
        }
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
        if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidValue::WebhookUrl);
        }
        Ok(Self(url.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an endpoint is for, in the owner's words: 1-200 visible characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDescription(String);

impl WebhookDescription {
    /// The longest description accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a description (trimmed).
    ///
    /// # Errors
    /// As [`crate::CustomerName::parse`]: empty, too long, control or direction-changing characters.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        bounded_text(input, Self::MAX_CHARS).map(Self)
    }

    /// The trimmed description.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signing secret: `whsec_` and 64 hex digits (32 random bytes). The HMAC key is the whole
/// string's UTF-8 bytes, prefix included, so a receiver uses it exactly as shown. `Debug`
/// never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// What every secret starts with, so one is recognisable in a configuration file.
    pub const PREFIX: &'static str = "whsec_";

    /// A secret made of `bytes` (from the [`crate::ports::SecretGenerator`] port).
    pub fn from_random(bytes: [u8; 32]) -> Self {
        let mut secret = String::with_capacity(Self::PREFIX.len() + 64);
        secret.push_str(Self::PREFIX);
        for byte in bytes {
            secret.push_str(&format!("{byte:02x}"));
        }
        Self(secret)
    }

    /// A secret read back from storage.
    ///
    /// # Errors
    /// [`InvalidValue::WebhookSecret`] unless it is `whsec_` and at least 32 more characters.
    pub fn from_stored(secret: &str) -> Result<Self, InvalidValue> {
        match secret.strip_prefix(Self::PREFIX) {
            Some(rest) if rest.len() >= 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(Self(secret.to_owned()))
            }
            _ => Err(InvalidValue::WebhookSecret),
        }
    }

    /// The secret itself: only for signing, storing, and the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

/// Whether an endpoint receives deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointStatus {
    /// New events are delivered to it.
    Enabled,
    /// No new deliveries: its deliveries kept failing for the whole retry window (see
    /// [`WebhookEndpoint::disabled`]). Re-enabled by hand.
    Disabled,
}

impl EndpointStatus {
    /// The stored and wire name: `enabled` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }

    /// Parses a name given by [`EndpointStatus::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Enabled, Self::Disabled].into_iter().find(|s| s.as_str() == name)
    }
}

/// The secret that signed until a rotation, and until when it still signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    /// The secret before the rotation.
    pub secret: WebhookSecret,
    /// When it stops signing: [`WebhookEndpoint::ROTATION_OVERLAP`] after the rotation.
    pub until: DateTime<Utc>,
}

/// Why and since when an endpoint is disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// In words, for its owner (what kept failing, and the last answer).
    pub reason: String,
    /// When it was disabled.
    pub at: DateTime<Utc>,
}

/// A URL that receives signed events of the types it selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    id: WebhookEndpointId,
    url: WebhookUrl,
    events: EventSelector,
    description: Option<WebhookDescription>,
    secret: WebhookSecret,
    previous: Option<PreviousSecret>,
    disabled: Option<Disabled>,
    audit: AuditTrail,
}

impl WebhookEndpoint {
    /// How long the secret before a rotation keeps signing beside the new one (issue #24: 24 hours).
    pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

    /// A new, enabled endpoint created by `actor` at `now`.
    pub fn new(
        url: WebhookUrl,
        events: EventSelector,
        description: Option<WebhookDescription>,
        secret: WebhookSecret,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Self {
        let audit = AuditTrail::new(now, actor);
        Self {
            id: WebhookEndpointId::generate(),
            url,
            events,
            description,
            secret,
            previous: None,
            disabled: None,
            audit,
        }
    }

    /// Rebuilds an endpoint from stored, already valid parts.
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        id: WebhookEndpointId,
        url: WebhookUrl,
        events: EventSelector,
        description: Option<WebhookDescription>,
        secret: WebhookSecret,
        previous: Option<PreviousSecret>,
        disabled: Option<Disabled>,
        audit: AuditTrail,
    ) -> Self {
        Self { id, url, events, description, secret, previous, disabled, audit }
    }

    /// The endpoint's id.
    pub fn id(&self) -> WebhookEndpointId {
        self.id
    }
    /// Where deliveries go.
    pub fn url(&self) -> &WebhookUrl {
        &self.url
    }
    /// Which event types it receives.
    pub fn events(&self) -> &EventSelector {
        &self.events
    }
    /// What it is for, if its owner said.
    pub fn description(&self) -> Option<&WebhookDescription> {
        self.description.as_ref()
    }
    /// The current signing secret.
    pub fn secret(&self) -> &WebhookSecret {
        &self.secret
    }
    /// The secret before the last rotation, as stored (it may have stopped signing already:
    /// see [`WebhookEndpoint::signing_secrets`]).
    pub fn previous_secret(&self) -> Option<&PreviousSecret> {
        self.previous.as_ref()
    }
    /// Enabled, or disabled since [`WebhookEndpoint::disabled`].
    pub fn status(&self) -> EndpointStatus {
        if self.disabled.is_some() { EndpointStatus::Disabled } else { EndpointStatus::Enabled }
    }
    /// Why and when it was disabled; `None` while enabled.
    pub fn disabled(&self) -> Option<&Disabled> {
        self.disabled.as_ref()
    }
    /// Who created and last changed it, when, and its version.
    pub fn audit(&self) -> &AuditTrail {
        &self.audit
    }

    /// The secrets that sign a delivery made at `now`: the current one, then the one before
    /// the last rotation while its [`Self::ROTATION_OVERLAP`] lasts.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&WebhookSecret> {
        let previous = self.previous.as_ref().filter(|p| now < p.until).map(|p| &p.secret);
        std::iter::once(&self.secret).chain(previous).collect()
    }

    /// Whether an event of `kind` created at `created_at` goes to this endpoint: it is enabled,
    /// selects the type, and existed when the event happened (an endpoint receives what
    /// happens after its creation, not the backlog).
    pub fn wants(&self, kind: crate::EventType, created_at: DateTime<Utc>) -> bool {
        self.disabled.is_none() && self.events.selects(kind) && created_at >= self.audit.created_at
    }

    /// A new current secret from `now`; the one it replaces keeps signing for
    /// [`Self::ROTATION_OVERLAP`]. A second rotation within that time drops the oldest secret
    /// at once (two secrets at most sign a delivery).
    #[must_use]
    pub fn rotate(&self, secret: WebhookSecret, now: DateTime<Utc>, actor: &Actor) -> Self {
        let mut next = self.clone();
        next.previous = Some(PreviousSecret { secret: self.secret.clone(), until: now + Self::ROTATION_OVERLAP });
        next.secret = secret;
        next.audit.touch(now, actor);
        next
    }

    /// Enabled again by `actor` (after fixing the receiver); `None` when it is enabled already
    /// (nothing changes). Events that happened while it was disabled are not delivered; read
    /// them from the feed.
    pub fn enable(&self, now: DateTime<Utc>, actor: &Actor) -> Option<Self> {
        self.disabled.as_ref()?;
        let mut next = self.clone();
        next.disabled = None;
        next.audit.touch(now, actor);
        Some(next)
    }

    /// Disabled because `failed` (one of its deliveries) used its whole retry window without a
    /// 2xx, unless the endpoint answered 2xx to something since that delivery was created
    /// (`last_success`): then it is not failing throughout, and stays enabled. `None` when
    /// nothing changes (also when it is disabled already). The reason names the window and
    /// the last answer; it is stamped by the system, so `updated_by` stays as it was.
    pub fn disable_after(
        &self,
        failed: &Delivery,
        retry_for: std::time::Duration,
        last_success: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        if self.disabled.is_some() || failed.status() != DeliveryStatus::Failed {
            return None;
        }
        if last_success.is_some_and(|at| at >= failed.created_at()) {
            return None;
        }
        let answer = match (failed.last_status_code(), failed.last_error()) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(error)) => error.to_owned(),
            (None, None) => "no answer".to_owned(),
        };
        let reason = format!(
            "deliveries kept failing for {} (webhooks.retry_for); last answer: {answer} at {}",
            describe_duration(retry_for),
            failed.updated_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        let mut next = self.clone();
        next.disabled = Some(Disabled { reason, at: now });
        next.audit.updated_at = now;
        next.audit.version = next.audit.version.wrapping_add(1);
        Some(next)
    }
}

/// The body of `POST /api/v1/webhook-endpoints/{id}/test`: a ping of type
/// [`WebhookTestEvent::TYPE`] about the endpoint itself (without its secrets), signed and sent
/// like any event but never stored in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTestEvent {
    /// A fresh id, carried in `Orderdesk-Event-Id` like a real event's.
    pub id: EventId,
    /// When the test was asked for.
    pub created_at: DateTime<Utc>,
    /// The endpoint being tested.
    pub endpoint: WebhookEndpoint,
}

impl WebhookTestEvent {
    /// The test's event type on the wire; no real event has it, so receivers can tell.
    pub const TYPE: &'static str = "webhook_endpoint.test";
}

//! Webhook endpoints (managed through the API) and the dispatcher that routes events to them
//! and delivers, signed. The rules are [`WebhookEndpoint`]'s and [`Delivery`]'s methods; these
//! use cases load, apply and store.

use std::sync::Arc;

use crate::auth::Actor;
use crate::error::{Collector, InvalidValue, RepoError, ValidationErrors};
use crate::event::{EventId, EventSelector};
use crate::notification::Claim;
use crate::ports::{
    Clock, EventEncoder, EventRepository, OutboxMetrics, SecretGenerator, WebhookDeliveryRepository,
    WebhookEndpointRepository, WebhookSender,
};
use crate::webhook::{
    AttemptOutcome, DELIVERY_TIMEOUT, Delivery, DeliveryAttempt, DeliveryStatus, SendResult, WebhookDescription,
    WebhookEndpoint, WebhookEndpointId, WebhookRequest, WebhookRetryPolicy, WebhookSecret, WebhookTestEvent,
    WebhookUrl, signature_header,
};
use crate::{Page, PageRequest};

/// How often a change is re-read and re-applied when another writer got there first.
const STORE_TRIES: usize = 3;

/// The most event patterns one endpoint may list.
pub const MAX_EVENT_PATTERNS: usize = 20;

/// Failures of the webhook use cases.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// One or more input fields are invalid (including a URL deliveries may not go to).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// No endpoint has this id.
    #[error("webhook endpoint {0} not found")]
    NotFound(WebhookEndpointId),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// A new endpoint as the caller sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookEndpointDraft {
    /// Where to POST.
    pub url: String,
    /// Event types, `<object>.*` wildcards or `*` (see [`EventSelector`]).
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
}

/// What a test POST came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDelivery {
    /// The test event's id (also in `Orderdesk-Event-Id`).
    pub event_id: EventId,
    /// The attempt, as the deliveries list shows it.
    pub attempt: DeliveryAttempt,
}

/// Creating, reading, rotating, testing and deleting webhook endpoints (`manage:webhooks`).
#[derive(Clone)]
pub struct WebhookService {
    endpoints: Arc<dyn WebhookEndpointRepository>,
    deliveries: Arc<dyn WebhookDeliveryRepository>,
    sender: Arc<dyn WebhookSender>,
    secrets: Arc<dyn SecretGenerator>,
    encoder: Arc<dyn EventEncoder>,
    clock: Arc<dyn Clock>,
}

impl WebhookService {
    /// `sender` checks URLs at creation and sends tests; `encoder` writes test bodies.
    pub fn new(
        endpoints: Arc<dyn WebhookEndpointRepository>,
        deliveries: Arc<dyn WebhookDeliveryRepository>,
        sender: Arc<dyn WebhookSender>,
        secrets: Arc<dyn SecretGenerator>,
        encoder: Arc<dyn EventEncoder>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { endpoints, deliveries, sender, secrets, encoder, clock }
    }

    /// Creates an enabled endpoint with a fresh secret (returned once, in the endpoint).
    ///
    /// # Errors
    /// [`WebhookError::Validation`] naming each bad field: `url` (not http(s), too long, or
    /// refused by the sender: plain http, a private address in production, ...), `events`
    /// (none, more than [`MAX_EVENT_PATTERNS`], an unknown type), `description`; or storage.
    #[tracing::instrument(skip_all)]
    pub async fn create(&self, draft: WebhookEndpointDraft, actor: &Actor) -> Result<WebhookEndpoint, WebhookError> {
        let mut errors = Collector::default();
        let url = errors.check("url", WebhookUrl::parse(&draft.url));
        let events = errors.check("events", selector(&draft.events));
        let description = match draft.description.as_deref() {
            Some(text) => errors.check("description", WebhookDescription::parse(text).map(Some)),
            None => Some(None),
        };
        // The target is checked for a URL that reads, and refused together with the other fields.
        let url = match url {
            Some(url) => match self.sender.check_target(&url).await {
                Ok(()) => Some(url),
                Err(reason) => errors.check("url", Err(InvalidValue::RefusedTarget(reason))),
            },
            None => None,
        };
        let (url, (events, description)) = errors.finish(url.zip(events.zip(description)))?;
        let secret = WebhookSecret::from_random(self.secrets.random_bytes());
        let endpoint = WebhookEndpoint::new(url, events, description, secret, self.clock.now(), actor);
        self.endpoints.insert(&endpoint).await?;
        tracing::info!(webhook_endpoint_id = %endpoint.id(), "webhook endpoint created");
        Ok(endpoint)
    }

    /// Endpoints newest first.
    ///
    /// # Errors
    /// Storage.
    pub async fn list(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>, WebhookError> {
        Ok(self.endpoints.list(page).await?)
    }

    /// One endpoint.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], or storage.
    pub async fn get(&self, id: WebhookEndpointId) -> Result<WebhookEndpoint, WebhookError> {
        self.endpoints.find(id).await?.ok_or(WebhookError::NotFound(id))
    }

    /// Deletes an endpoint with its deliveries and their attempts; nothing more is sent to it.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], or storage.
    pub async fn delete(&self, id: WebhookEndpointId) -> Result<(), WebhookError> {
        if self.endpoints.delete(id).await? { Ok(()) } else { Err(WebhookError::NotFound(id)) }
    }

    /// A new signing secret (returned once, in the endpoint); the previous one keeps signing
    /// for [`WebhookEndpoint::ROTATION_OVERLAP`].
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], or storage.
    #[tracing::instrument(skip_all, fields(webhook_endpoint_id = %id))]
    pub async fn rotate_secret(&self, id: WebhookEndpointId, actor: &Actor) -> Result<WebhookEndpoint, WebhookError> {
        let secret = WebhookSecret::from_random(self.secrets.random_bytes());
        self.change(id, |endpoint, now| Some(endpoint.rotate(secret.clone(), now, actor))).await
    }

    /// Enables a disabled endpoint again (after its receiver was fixed); an enabled one is
    /// returned unchanged.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], or storage.
    #[tracing::instrument(skip_all, fields(webhook_endpoint_id = %id))]
    pub async fn enable(&self, id: WebhookEndpointId, actor: &Actor) -> Result<WebhookEndpoint, WebhookError> {
        self.change(id, |endpoint, now| endpoint.enable(now, actor)).await
    }

    /// Applies `change` to the stored endpoint and stores it over the version it was read at,
    /// re-reading when another writer got there first. `None` from `change`: nothing to store.
    async fn change(
        &self,
        id: WebhookEndpointId,
        change: impl Fn(&WebhookEndpoint, chrono::DateTime<chrono::Utc>) -> Option<WebhookEndpoint>,
    ) -> Result<WebhookEndpoint, WebhookError> {
        for _ in 0..STORE_TRIES {
            let current = self.get(id).await?;
            let Some(next) = change(&current, self.clock.now()) else { return Ok(current) };
            if self.endpoints.store(current.audit().version, &next).await? {
                return Ok(next);
            }
        }
        Err(WebhookError::Storage(RepoError::Unavailable("the webhook endpoint kept changing".into())))
    }

    /// Sends a signed `webhook_endpoint.test` event to the endpoint now (enabled or not, so a
    /// fixed receiver can be checked before enabling it) and logs the attempt in its
    /// deliveries. Never retried.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], or storage (the POST itself failing is a result, not an error).
    #[tracing::instrument(skip_all, fields(webhook_endpoint_id = %id))]
    pub async fn test(&self, id: WebhookEndpointId) -> Result<TestDelivery, WebhookError> {
        let endpoint = self.get(id).await?;
        let now = self.clock.now();
        let test = WebhookTestEvent { id: EventId::generate(), created_at: now, endpoint };
        let body = self.encoder.encode_test(&test);
        let result = send_signed(self.sender.as_ref(), &test.endpoint, test.id, body, now).await;
        let attempt = DeliveryAttempt::test(&test, &result, self.clock.now());
        match self.deliveries.log_attempt(&attempt).await {
            Ok(()) => {}
            // Deleted while the test was in flight.
            Err(RepoError::ForeignKey) => return Err(WebhookError::NotFound(id)),
            Err(e) => return Err(e.into()),
        }
        Ok(TestDelivery { event_id: test.id, attempt })
    }

    /// Forgets finished deliveries and attempts older than `keep` (the event feed's
    /// retention, `events.retention_days`); returns how many rows went.
    ///
    /// # Errors
    /// Storage.
    pub async fn prune(&self, keep: chrono::Duration) -> Result<u64, RepoError> {
        self.deliveries.prune(self.clock.now() - keep).await
    }

    /// An endpoint's attempts (deliveries and tests), newest first.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], or storage.
    pub async fn deliveries(
        &self,
        id: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>, WebhookError> {
        self.get(id).await?;
        Ok(self.deliveries.attempts(id, page).await?)
    }
}

fn selector(patterns: &[String]) -> Result<EventSelector, InvalidValue> {
    if patterns.len() > MAX_EVENT_PATTERNS {
        return Err(InvalidValue::TooMany { max: MAX_EVENT_PATTERNS });
    }
    if patterns.iter().any(|p| p.contains(',')) {
        return Err(InvalidValue::UnknownEventType);
    }
    EventSelector::parse(patterns.iter().map(String::as_str))
}

/// Signs `body` with the endpoint's live secrets at `now` and POSTs it.
async fn send_signed(
    sender: &dyn WebhookSender,
    endpoint: &WebhookEndpoint,
    event_id: EventId,
    body: Vec<u8>,
    now: chrono::DateTime<chrono::Utc>,
) -> SendResult {
    let signature = signature_header(&endpoint.signing_secrets(now), now.timestamp(), &body);
    let request = WebhookRequest { url: endpoint.url().clone(), event_id, signature, body };
    sender.send(&request).await
}

/// Routes new events to the endpoints that want them, then claims due deliveries under a
/// lease, signs and POSTs them, and records each outcome; a delivery that fails for its
/// whole window disables its endpoint. Several dispatchers may share one database.
#[derive(Clone)]
pub struct WebhookDispatcher {
    endpoints: Arc<dyn WebhookEndpointRepository>,
    deliveries: Arc<dyn WebhookDeliveryRepository>,
    events: Arc<dyn EventRepository>,
    sender: Arc<dyn WebhookSender>,
    encoder: Arc<dyn EventEncoder>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn OutboxMetrics>,
    policy: WebhookRetryPolicy,
    worker: String,
}

impl WebhookDispatcher {
    /// Deliveries claimed at once. The lease covers them all sent one after another, each
    /// waiting up to [`DELIVERY_TIMEOUT`], so no claim expires while its batch is in hand.
    pub const BATCH: u32 = 10;
    /// Events routed at once.
    pub const ROUTE_BATCH: u64 = 200;

    /// `worker` names this dispatcher in leases; `metrics` counts each delivery attempt stored.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        endpoints: Arc<dyn WebhookEndpointRepository>,
        deliveries: Arc<dyn WebhookDeliveryRepository>,
        events: Arc<dyn EventRepository>,
        sender: Arc<dyn WebhookSender>,
        encoder: Arc<dyn EventEncoder>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn OutboxMetrics>,
        policy: WebhookRetryPolicy,
        worker: impl Into<String>,
    ) -> Self {
        Self { endpoints, deliveries, events, sender, encoder, clock, metrics, policy, worker: worker.into() }
    }

    /// How long a claim is held: the batch sent one after another, plus half a minute.
    pub fn lease() -> chrono::Duration {
        let batch = DELIVERY_TIMEOUT.saturating_mul(Self::BATCH) + std::time::Duration::from_secs(30);
        chrono::Duration::from_std(batch).unwrap_or(chrono::Duration::minutes(3))
    }

    /// Routes one batch of events and sends one batch of deliveries; returns how much it
    /// handled (events routed plus deliveries claimed), so a caller goes again at once while
    /// there is work.
    ///
    /// # Errors
    /// Storage failures (claims then expire and another run picks them up).
    pub async fn run_once(&self) -> Result<usize, RepoError> {
        self.run_once_unless(&|| false).await
    }

    /// Like [`Self::run_once`], but checks `stopping` before each POST: once it says yes, the
    /// rest of the batch is released for other dispatchers.
    ///
    /// # Errors
    /// Storage failures (claims then expire and another run picks them up).
    pub async fn run_once_unless(&self, stopping: &(dyn Fn() -> bool + Sync)) -> Result<usize, RepoError> {
        let now = self.clock.now();
        let routed = self.deliveries.route(Self::ROUTE_BATCH, now).await?;
        let claim = Claim { worker: self.worker.clone(), now, lease_until: now + Self::lease() };
        let claimed = self.deliveries.claim_due(&claim, u64::from(Self::BATCH)).await?;
        for (sent, delivery) in claimed.iter().enumerate() {
            if stopping() {
                self.release(&claimed[sent..]).await?;
                return Ok(usize::try_from(routed).unwrap_or(usize::MAX).saturating_add(sent));
            }
            self.deliver(delivery).await?;
        }
        Ok(usize::try_from(routed).unwrap_or(usize::MAX).saturating_add(claimed.len()))
    }

    async fn release(&self, unsent: &[Delivery]) -> Result<(), RepoError> {
        let now = self.clock.now();
        for delivery in unsent {
            if let Some(released) = delivery.release(&self.worker, now) {
                self.deliveries.store(delivery.version(), &released, None).await?;
            }
        }
        Ok(())
    }

    async fn abandon(&self, delivery: &Delivery, reason: &str) -> Result<(), RepoError> {
        if let Some(failed) = delivery.abandon(&self.worker, reason, self.clock.now()) {
            tracing::info!(delivery_id = %delivery.id(), reason, "webhook delivery abandoned");
            self.deliveries.store(delivery.version(), &failed, None).await?;
        }
        Ok(())
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<(), RepoError> {
        // Deleting an endpoint deletes its deliveries: a missing one has nothing left to store.
        let Some(endpoint) = self.endpoints.find(delivery.endpoint_id()).await? else { return Ok(()) };
        if endpoint.disabled().is_some() {
            return self.abandon(delivery, "the endpoint was disabled before this delivery was sent").await;
        }
        let Some(event) = self.events.find(delivery.event_id()).await? else {
            return self.abandon(delivery, "the event is no longer stored (events.retention_days)").await;
        };
        let body = self.encoder.encode(&event);
        let result = send_signed(self.sender.as_ref(), &endpoint, event.id, body, self.clock.now()).await;
        let now = self.clock.now();
        let Ok((next, attempt)) = delivery.record_attempt(&self.worker, &result, &self.policy, now) else {
            tracing::warn!(delivery_id = %delivery.id(), "not holding the lease; webhook outcome dropped");
            return Ok(());
        };
        let answer = match &result.status {
            Ok(code) => format!("HTTP {code}"),
            Err(error) => error.clone(),
        };
        let id = delivery.id();
        let outcome = attempt.outcome;
        match outcome {
            AttemptOutcome::Delivered => {
                tracing::info!(delivery_id = %id, webhook_endpoint_id = %endpoint.id(), %answer, "webhook delivered")
            }
            AttemptOutcome::Retry => {
                tracing::warn!(delivery_id = %id, attempt = attempt.number, %answer, retry_at = %next.next_attempt_at(), "webhook delivery failed; will retry")
            }
            AttemptOutcome::Failed => {
                tracing::error!(delivery_id = %id, attempt = attempt.number, %answer, "webhook delivery failed for its whole retry window")
            }
        }
        if !self.deliveries.store(delivery.version(), &next, Some(attempt)).await? {
            tracing::warn!(delivery_id = %id, "lease lost before the webhook outcome was recorded");
            return Ok(());
        }
        self.metrics.webhook_attempt(outcome);
        if next.status() == DeliveryStatus::Failed {
            self.disable_endpoint(endpoint.id(), &next).await?;
        }
        Ok(())
    }

    /// Disables the endpoint of `failed` unless it answered 2xx since the delivery was made.
    async fn disable_endpoint(&self, id: WebhookEndpointId, failed: &Delivery) -> Result<(), RepoError> {
        for _ in 0..STORE_TRIES {
            let Some(current) = self.endpoints.find(id).await? else { return Ok(()) };
            let last_success = self.deliveries.last_success(id).await?;
            let Some(disabled) = current.disable_after(failed, self.policy.retry_for, last_success, self.clock.now())
            else {
                return Ok(());
            };
            if self.endpoints.store(current.audit().version, &disabled).await? {
                let reason = disabled.disabled().map(|d| d.reason.as_str()).unwrap_or_default();
                tracing::error!(webhook_endpoint_id = %id, reason, "webhook endpoint disabled");
                return Ok(());
            }
        }
        Err(RepoError::Unavailable("the webhook endpoint kept changing".into()))
    }
}

#[cfg(test)]
mod tests;

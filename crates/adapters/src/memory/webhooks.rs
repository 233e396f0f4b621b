//! The webhook ports in memory, with the database's constraints: one delivery per event and
//! endpoint, writes only over the version they started from, an endpoint's deliveries and
//! attempts deleted with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderdesk_domain::notification::Claim;
use orderdesk_domain::ports::{WebhookDeliveryRepository, WebhookEndpointRepository};
use orderdesk_domain::webhook::{AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus};
use orderdesk_domain::{Page, PageRequest, RepoError, WebhookEndpoint, WebhookEndpointId};

use super::InMemoryStore;

#[async_trait]
impl WebhookEndpointRepository for InMemoryStore {
    async fn insert(&self, endpoint: &WebhookEndpoint) -> Result<(), RepoError> {
        self.tables().webhook_endpoints.insert(endpoint.id().as_uuid(), endpoint.clone());
        Ok(())
    }

    async fn find(&self, id: WebhookEndpointId) -> Result<Option<WebhookEndpoint>, RepoError> {
        Ok(self.tables().webhook_endpoints.get(&id.as_uuid()).cloned())
    }

    async fn list(&self, page: PageRequest) -> Result<Page<WebhookEndpoint>, RepoError> {
        let rows = super::newest_first(self.tables().webhook_endpoints.iter(), page, |_| true);
        Ok(Page::from_overfetch(rows, page.limit, |e| e.id().as_uuid()))
    }

    async fn store(&self, previous_version: u32, next: &WebhookEndpoint) -> Result<bool, RepoError> {
        let mut tables = self.tables();
        match tables.webhook_endpoints.get_mut(&next.id().as_uuid()) {
            Some(stored) if stored.audit().version == previous_version => {
                *stored = next.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, id: WebhookEndpointId) -> Result<bool, RepoError> {
        let mut tables = self.tables();
        let existed = tables.webhook_endpoints.remove(&id.as_uuid()).is_some();
        tables.webhook_deliveries.retain(|_, d| d.endpoint_id() != id);
        tables.webhook_attempts.retain(|_, a| a.endpoint_id != id);
        Ok(existed)
    }
}

#[async_trait]
impl WebhookDeliveryRepository for InMemoryStore {
    async fn route(&self, limit: u64, now: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut tables = self.tables();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let events: Vec<_> = tables
            .events
            .values()
            .filter(|e| !tables.routed.contains(&e.id.as_uuid()))
            .take(limit)
            .map(|e| (e.id, e.kind, e.created_at))
            .collect();
        let endpoints: Vec<WebhookEndpoint> = tables.webhook_endpoints.values().cloned().collect();
        for (id, kind, created_at) in &events {
            for endpoint in &endpoints {
                let taken =
                    tables.webhook_deliveries.values().any(|d| d.endpoint_id() == endpoint.id() && d.event_id() == *id);
                if let Some(delivery) = Delivery::route(endpoint, *id, *kind, *created_at, now).filter(|_| !taken) {
                    tables.webhook_deliveries.insert(delivery.id().as_uuid(), delivery);
                }
            }
            tables.routed.insert(id.as_uuid());
        }
        Ok(events.len() as u64)
    }

    async fn claim_due(&self, claim: &Claim, limit: u64) -> Result<Vec<Delivery>, RepoError> {
        let mut tables = self.tables();
        let mut due: Vec<Delivery> = tables.webhook_deliveries.values().filter_map(|d| d.claim(claim)).collect();
        due.sort_by_key(|d| d.next_attempt_at());
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        for delivery in &due {
            tables.webhook_deliveries.insert(delivery.id().as_uuid(), delivery.clone());
        }
        Ok(due)
    }

    async fn store(
        &self,
        previous_version: u32,
        next: &Delivery,
        attempt: Option<DeliveryAttempt>,
    ) -> Result<bool, RepoError> {
        let mut tables = self.tables();
        match tables.webhook_deliveries.get_mut(&next.id().as_uuid()) {
            Some(stored) if stored.version() == previous_version => *stored = next.clone(),
            _ => return Ok(false),
        }
        if let Some(attempt) = attempt {
            tables.webhook_attempts.insert(attempt.id.as_uuid(), attempt);
        }
        Ok(true)
    }

    async fn log_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), RepoError> {
        let mut tables = self.tables();
        if !tables.webhook_endpoints.contains_key(&attempt.endpoint_id.as_uuid()) {
            return Err(RepoError::ForeignKey);
        }
        tables.webhook_attempts.insert(attempt.id.as_uuid(), attempt.clone());
        Ok(())
    }

    async fn attempts(
        &self,
        endpoint: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>, RepoError> {
        let rows = super::newest_first(self.tables().webhook_attempts.iter(), page, |a| a.endpoint_id == endpoint);
        Ok(Page::from_overfetch(rows, page.limit, |a| a.id.as_uuid()))
    }

    async fn last_success(&self, endpoint: WebhookEndpointId) -> Result<Option<DateTime<Utc>>, RepoError> {
        Ok(self
            .tables()
            .webhook_attempts
            .values()
            .filter(|a| a.endpoint_id == endpoint && a.outcome == AttemptOutcome::Delivered)
            .map(|a| a.attempted_at)
            .max())
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut tables = self.tables();
        let count = tables.webhook_attempts.len() + tables.webhook_deliveries.len();
        tables.webhook_attempts.retain(|_, a| a.attempted_at >= before);
        let finished = |d: &Delivery| matches!(d.status(), DeliveryStatus::Delivered | DeliveryStatus::Failed);
        tables.webhook_deliveries.retain(|_, d| !(finished(d) && d.updated_at() < before));
        Ok((count - tables.webhook_attempts.len() - tables.webhook_deliveries.len()) as u64)
    }
}

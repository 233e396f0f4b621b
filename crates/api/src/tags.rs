use poem_openapi::Tags;

/// Groups of operations in the OpenAPI document.
#[derive(Tags)]
pub enum ApiTags {
    /// People and businesses that order.
    Customers,
    /// What customers ordered.
    Orders,
    /// Every change, as a feed to poll and as signed webhooks.
    Events,
    /// Where signed events are POSTed: endpoints, their secrets, tests and delivery attempts.
    WebhookEndpoints,
    /// Liveness and readiness probes.
    Health,
    /// Callbacks from the SMS provider (authenticated by a secret in the path, not a token).
    Webhooks,
}

//! Liveness and readiness probes for orchestrators and load balancers.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::Services;
use crate::problem::{ApiError, Errors, ProblemType, error_sets};
use crate::tags::ApiTags;

error_sets! {
    /// `readiness` (probes are not rate limited).
    ReadinessErrors: [Internal, Unavailable];
}

/// Probe endpoints.
pub struct HealthApi;

/// Probe result.
#[derive(Debug, Object)]
#[oai(rename = "Health")]
pub struct HealthBody {
    /// Always `ok` when the probe passes.
    pub status: String,
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness
    ///
    /// 200 while the process serves requests.
    #[oai(path = "/healthz", method = "get", operation_id = "liveness")]
    async fn healthz(&self) -> Json<HealthBody> {
        Json(HealthBody { status: "ok".into() })
    }

    /// Readiness
    ///
    /// 200 when the database answers, else 503.
    #[oai(path = "/readyz", method = "get", operation_id = "readiness")]
    async fn readyz(&self, services: Data<&Services>) -> Result<Json<HealthBody>, Errors<ReadinessErrors>> {
        services.health.ping().await.map_err(|e| {
            tracing::warn!(error.cause_chain = ?e, "readiness check failed");
            ApiError::new(ProblemType::Unavailable, "the database does not answer")
        })?;
        Ok(Json(HealthBody { status: "ok".into() }))
    }
}

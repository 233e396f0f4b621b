//! Bearer authentication (RFC 6750, `Authorization` header only) and per-operation permissions.

use std::sync::Arc;

use orderdesk_domain::auth::TokenVerifier;
use orderdesk_domain::{Permission, Principal};
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::problem::ApiError;
use crate::rate_limit::VerifiedBearer;

/// An Auth0 (or dev issuer) access token: `Authorization: Bearer <JWT>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    if let Some(verified) = req.data::<VerifiedBearer>()
        && verified.token == bearer.token
    {
        tracing::Span::current().record("subject", verified.principal.subject());
        return Ok(verified.principal.clone());
    }
    let verifier =
        req.data::<Arc<dyn TokenVerifier>>().ok_or_else(|| ApiError::internal("no token verifier is configured"))?;
    match verifier.verify(&bearer.token).await {
        Ok(principal) => {
            tracing::Span::current().record("subject", principal.subject());
            Ok(principal)
        }
        Err(rejection) => {
            tracing::info!(reason = %rejection, "token refused");
            Err(ApiError::invalid_token(rejection).into())
        }
    }
}

impl BearerAuth {
    /// The caller, if it holds `permission`; else 403 naming the missing permission.
    pub fn require(&self, permission: Permission) -> Result<&Principal, ApiError> {
        if self.0.has(permission) { Ok(&self.0) } else { Err(ApiError::insufficient_permission(permission)) }
    }
}

/// The `WWW-Authenticate` challenge (RFC 6750 §3): bare when no token was sent, else with
/// the error code, its description and, for `insufficient_scope`, the permission needed.
pub fn www_authenticate(error: Option<(&str, &str, Option<&str>)>) -> String {
    match error {
        None => "Bearer realm=\"orderdesk\"".to_owned(),
        Some((code, description, scope)) => {
            let description = description.replace(['"', '\\'], "'");
            let scope = scope.map(|s| format!(", scope=\"{s}\"")).unwrap_or_default();
            format!("Bearer realm=\"orderdesk\", error=\"{code}\", error_description=\"{description}\"{scope}")
        }
    }
}

//! Bearer authentication (RFC 6750, `Authorization` header only) and per-operation permissions.

use std::collections::BTreeSet;
use std::sync::Arc;

use orderdesk_domain::auth::TokenVerifier;
use orderdesk_domain::{Permission, Principal};
use orderdesk_signin::Session;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::problem::ApiError;
use crate::rate_limit::VerifiedBearer;

/// An Auth0 (or dev issuer) access token: `Authorization: Bearer <JWT>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

/// Tells the access log who is calling ([`crate::middleware::RequestSubject`]).
fn note_subject(req: &Request, subject: &str) {
    if let Some(cell) = req.data::<crate::middleware::RequestSubject>() {
        cell.set(subject);
    }
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    if let Some(verified) = req.data::<VerifiedBearer>()
        && verified.token == bearer.token
    {
        note_subject(req, verified.principal.subject());
        return Ok(verified.principal.clone());
    }
    let verifier =
        req.data::<Arc<dyn TokenVerifier>>().ok_or_else(|| ApiError::internal("no token verifier is configured"))?;
    match verifier.verify(&bearer.token).await {
        Ok(principal) => {
            note_subject(req, principal.subject());
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
        require(&self.0, permission)
    }
}

/// Whoever holds permissions: a bearer token's principal, or a dashboard session (which took
/// them from the access token it signed in with).
pub trait Holder {
    fn permissions(&self) -> &BTreeSet<Permission>;
}

impl Holder for Principal {
    fn permissions(&self) -> &BTreeSet<Permission> {
        Principal::permissions(self)
    }
}

impl<H: Holder + ?Sized> Holder for &H {
    fn permissions(&self) -> &BTreeSet<Permission> {
        (**self).permissions()
    }
}

impl Holder for Session {
    fn permissions(&self) -> &BTreeSet<Permission> {
        &self.permissions
    }
}

/// The one permission check of the API and the dashboard: `holder`, if it holds
/// `permission`; else the 403 naming it (`insufficient_scope`), which a page shows as its
/// refusal.
///
/// # Errors
/// 403 `insufficient-permission`.
pub fn require<H: Holder>(holder: &H, permission: Permission) -> Result<&H, ApiError> {
    if holder.permissions().contains(&permission) {
        Ok(holder)
    } else {
        Err(ApiError::insufficient_permission(permission))
    }
}

/// Whether `holder` passes [`require`] for `permission` (what a page may show or do).
pub fn holds(holder: &impl Holder, permission: Permission) -> bool {
    require(holder, permission).is_ok()
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

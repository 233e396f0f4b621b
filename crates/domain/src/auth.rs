//! Who is calling and what they may do. Tokens are checked by an adapter behind the
//! [`TokenVerifier`] port; the domain only sees the resulting [`Principal`].

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use std::fmt;

use async_trait::async_trait;

/// A permission an operation can require. Names match Auth0 RBAC permissions and OAuth scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `read:customers`: get, list and search customers.
    ReadCustomers,
    /// `write:customers`: create, change and delete customers.
    WriteCustomers,
    /// `read:orders`: get and list orders and their notifications.
    ReadOrders,
    /// `write:orders`: create, change and delete orders, and re-queue their notifications.
    WriteOrders,
    /// `read:events`: read the event feed (`GET /api/v1/events`).
    ReadEvents,
    /// `manage:webhooks`: create, list, rotate, test and delete webhook endpoints.
    ManageWebhooks,
}

impl Permission {
    /// Every permission this API knows.
    pub const ALL: [Permission; 6] = [
        Self::ReadCustomers,
        Self::WriteCustomers,
        Self::ReadOrders,
        Self::WriteOrders,
        Self::ReadEvents,
        Self::ManageWebhooks,
    ];

    /// The wire name, e.g. `write:orders`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadCustomers => "read:customers",
            Self::WriteCustomers => "write:customers",
            Self::ReadOrders => "read:orders",
            Self::WriteOrders => "write:orders",
            Self::ReadEvents => "read:events",
            Self::ManageWebhooks => "manage:webhooks",
        }
    }

    /// Parses a wire name; unknown names (other APIs' permissions) give `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performed a change; stored as `created_by` / `updated_by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor(String);

impl Actor {
    /// An actor named by a token subject (`auth0|abc`, `client@clients`).
    pub fn new(subject: impl Into<String>) -> Self {
        Self(subject.into())
    }
    /// The token subject.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    actor: Actor,
    permissions: BTreeSet<Permission>,
    expires_at: Option<DateTime<Utc>>,
}

impl Principal {
    /// A caller with token subject `subject` holding exactly `permissions`.
    pub fn new(subject: impl Into<String>, permissions: impl IntoIterator<Item = Permission>) -> Self {
        Self { actor: Actor::new(subject), permissions: permissions.into_iter().collect(), expires_at: None }
    }

    /// The same caller, whose credential (the token's `exp`) stops being valid at `at`.
    #[must_use]
    pub fn expiring_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// When the credential this caller presented expires, if it said.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Permissions come from the RBAC `permissions` claim when present, else from `scope`
    /// (space separated). Names this API does not know are ignored.
    pub fn from_claims(subject: impl Into<String>, permissions: Option<&[String]>, scope: Option<&str>) -> Self {
        let names: Vec<&str> = match (permissions, scope) {
            (Some(list), _) => list.iter().map(String::as_str).collect(),
            (None, Some(scope)) => scope.split_whitespace().collect(),
            (None, None) => Vec::new(),
        };
        Self::new(subject, names.into_iter().filter_map(Permission::parse))
    }

    /// The token subject (`sub` claim).
    pub fn subject(&self) -> &str {
        self.actor.as_str()
    }
    /// The caller as the actor to stamp on the records it changes.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    /// The permissions this API recognised in the token.
    pub fn permissions(&self) -> &BTreeSet<Permission> {
        &self.permissions
    }
    /// Whether the caller holds `permission`.
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// Why a token was refused. The description is safe to show the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not a well-formed JWT.
    #[error("The token is malformed")]
    Malformed,
    /// Longer than the verifier accepts.
    #[error("The token is too large")]
    TooLarge,
    /// Signed with an algorithm that is not allowed.
    #[error("The token's signing algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// Its key id matches none of the issuer's signing keys.
    #[error("The token is signed with an unknown key")]
    UnknownKey,
    /// The signature does not match the contents.
    #[error("The token signature is invalid")]
    BadSignature,
    /// Past its expiry time.
    #[error("The token has expired")]
    Expired,
    /// Before its not-before time.
    #[error("The token is not valid yet")]
    NotYetValid,
    /// Issued by an issuer this API does not trust.
    #[error("The token was issued by an untrusted issuer")]
    WrongIssuer,
    /// Its audience does not include this API.
    #[error("The token is not meant for this API")]
    WrongAudience,
    /// It carries no `sub` claim.
    #[error("The token has no subject")]
    MissingSubject,
    /// The issuer's signing keys could not be fetched; a retry may succeed.
    #[error("The token's signing keys cannot be fetched right now")]
    KeysUnavailable,
}

/// Checks bearer access tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TokenVerifier: Send + Sync {
    /// Verifies signature, algorithm, issuer, audience and validity period, and returns the caller.
    ///
    /// # Errors
    /// A [`TokenRejection`] saying what is wrong with the token.
    async fn verify(&self, token: &str) -> Result<Principal, TokenRejection>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_claim_wins_over_scope() {
        let perms = vec!["read:orders".to_owned(), "delete:everything".to_owned()];
        let principal = Principal::from_claims("auth0|1", Some(&perms), Some("write:orders"));
        assert!(principal.has(Permission::ReadOrders));
        assert!(!principal.has(Permission::WriteOrders));
        assert_eq!(principal.permissions().len(), 1);
    }

    #[test]
    fn scope_is_used_when_permissions_are_absent() {
        let principal = Principal::from_claims("client@clients", None, Some("openid read:customers  write:customers"));
        assert!(principal.has(Permission::ReadCustomers) && principal.has(Permission::WriteCustomers));
        assert!(!principal.has(Permission::ReadOrders));
    }
}

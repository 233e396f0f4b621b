//! The sign-in ports: the OpenID Connect client and session store, and the dev
//! issuer's sign-in port. The HTTP side lives in the API crate.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use orderdesk_domain::Permission;
use orderdesk_domain::RepoError;

/// Where to send the browser to sign in, and what to remember until it comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// The issuer's authorize URL to redirect the browser to.
    pub authorize_url: String,
    /// The anti-forgery value the callback must echo back.
    pub state: String,
    /// The value the ID token must carry, against replay.
    pub nonce: String,
    /// The PKCE verifier to send with the code exchange.
    pub code_verifier: String,
}

/// Who signed in, from a validated ID token, and the access token issued with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    /// The ID token's subject (`sub`).
    pub subject: String,
    /// The `name` claim, if present.
    pub name: Option<String>,
    /// The `email` claim, if present.
    pub email: Option<String>,
    /// The `picture` claim (an image URL), if present.
    pub picture: Option<String>,
    /// The access token for this API, if the issuer returned one; it carries the permissions.
    pub access_token: Option<String>,
}

/// Why a sign-in could not finish. The text is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// The issuer refused the code (expired, already used, wrong verifier).
    #[error("the sign-in code was refused ({0}); it may have expired or been used already")]
    CodeRejected(String),
    /// The ID token failed validation (signature, issuer, audience, expiry or nonce).
    #[error("the identity token is not valid: {0}")]
    InvalidIdToken(String),
    /// The issuer could not be reached.
    #[error("the sign-in service is unavailable: {0}")]
    Unavailable(String),
}

/// An OpenID Connect relying party (authorization code + PKCE).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OidcClient: Send + Sync {
    /// A fresh `state`, `nonce` and PKCE verifier, and the authorize URL carrying them.
    ///
    /// # Errors
    /// [`LoginError::Unavailable`] when the issuer's discovery document cannot be read.
    async fn begin_login(&self, redirect_uri: &str) -> Result<LoginRequest, LoginError>;

    /// Exchanges `code` and validates the ID token against `nonce`.
    ///
    /// # Errors
    /// A [`LoginError`] saying what failed.
    async fn finish_login(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
        redirect_uri: &str,
    ) -> Result<SignedInUser, LoginError>;

    /// The issuer's logout URL that returns the browser to `return_to`.
    fn logout_url(&self, return_to: &str) -> String;
}

/// A signed-in dashboard user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's token subject.
    pub subject: String,
    /// The name to display (name, else email, else subject).
    pub name: String,
    /// The user's email address, if known.
    pub email: Option<String>,
    /// The user's picture URL, if known.
    pub picture: Option<String>,
    /// From the access token obtained at sign-in: the same permissions as the API.
    pub permissions: BTreeSet<Permission>,
    /// Sent back by every form of this session.
    pub csrf_token: String,
    /// When the user signed in.
    pub created_at: DateTime<Utc>,
    /// When the session expires (a fixed time after sign-in).
    pub expires_at: DateTime<Utc>,
}

/// Server-side sessions, keyed by the random token in the session cookie.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// # Errors
    /// A storage failure.
    async fn create(&self, token: &str, session: &Session) -> Result<(), RepoError>;
    /// The session, if it exists and has not expired at `now`.
    ///
    /// # Errors
    /// A storage failure.
    async fn find(&self, token: &str, now: DateTime<Utc>) -> Result<Option<Session>, RepoError>;
    /// Ends a session (sign-out).
    ///
    /// # Errors
    /// A storage failure.
    async fn delete(&self, token: &str) -> Result<(), RepoError>;
}

/// Tokens the built-in dev issuer signs for its sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevTokens {
    /// A signed access token for the API.
    pub access_token: String,
    /// A signed ID token for the dashboard client.
    pub id_token: String,
}

/// The dev issuer could not sign a token (its key is unusable); the detail is for the log.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the dev tokens: {0}")]
pub struct SigningError(pub String);

/// The dev issuer's signer, for its authorize and token endpoints (dev profile only).
pub trait DevSignIn: Send + Sync {
    /// Signs an access token for the API and an ID token for `client_id` carrying `nonce`.
    ///
    /// # Errors
    /// Signing failed.
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        subject: &str,
        name: &str,
        email: &str,
        permissions: &[Permission],
        client_id: &str,
        nonce: &str,
    ) -> Result<DevTokens, SigningError>;

    /// The issuer URL the tokens carry.
    fn issuer(&self) -> &str;
}

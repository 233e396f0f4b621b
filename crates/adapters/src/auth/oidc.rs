//! [`OidcClient`]: authorization code + PKCE (S256) + state + nonce against Auth0 or the dev
//! issuer, with the ID token checked by the same JWKS verifier as API tokens.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orderdesk_signin::token::random_token;
use orderdesk_signin::{LoginError, LoginRequest, OidcClient, SignedInUser};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{AuthSettings, JwksTokenVerifier};
use crate::secret::Secret;
use crate::setup::SetupError;

/// The dashboard's OpenID Connect client.
pub struct HttpOidcClient {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: Secret,
    /// Requested so the access token is a JWT for our API (without it Auth0 issues an opaque one).
    api_audience: String,
    id_tokens: JwksTokenVerifier,
    endpoints: OnceCell<Endpoints>,
}

/// The provider's sign-in endpoints, from its discovery document.
#[derive(Debug, Clone)]
struct Endpoints {
    authorization_endpoint: String,
    token_endpoint: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    azp: Option<String>,
    aud: serde_json::Value,
    name: Option<String>,
    email: Option<String>,
    picture: Option<String>,
}

impl HttpOidcClient {
    /// `auth` gives the issuer and verifier settings, `client_id`/`client_secret` the dashboard
    /// application.
    ///
    /// # Errors
    /// Invalid algorithms, or no HTTP client.
    pub fn new(auth: &AuthSettings, client_id: &str, client_secret: Secret) -> Result<Self, SetupError> {
        let id_settings = AuthSettings { audience: client_id.to_owned(), ..auth.clone() };
        Ok(Self {
            http: crate::http::client(Duration::from_millis(auth.http_timeout_ms))?,
            issuer: auth.issuer.clone(),
            client_id: client_id.to_owned(),
            client_secret,
            api_audience: auth.audience.clone(),
            id_tokens: JwksTokenVerifier::new(&id_settings)?,
            endpoints: OnceCell::new(),
        })
    }

    async fn endpoints(&self) -> Result<&Endpoints, LoginError> {
        self.endpoints
            .get_or_try_init(|| async {
                let metadata = super::discovery::fetch(&self.http, &self.issuer)
                    .await
                    .map_err(|e| LoginError::Unavailable(e.to_string()))?;
                let missing = |field: &str| LoginError::Unavailable(format!("discovery document has no {field}"));
                Ok(Endpoints {
                    authorization_endpoint: metadata
                        .authorization_endpoint
                        .ok_or_else(|| missing("authorization_endpoint"))?,
                    token_endpoint: metadata.token_endpoint.ok_or_else(|| missing("token_endpoint"))?,
                })
            })
            .await
    }
}

#[async_trait]
impl OidcClient for HttpOidcClient {
    async fn begin_login(&self, redirect_uri: &str) -> Result<LoginRequest, LoginError> {
        let endpoints = self.endpoints().await?;
        let state = random_token();
        let nonce = random_token();
        let code_verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()));
        let mut url =
            url::Url::parse(&endpoints.authorization_endpoint).map_err(|e| LoginError::Unavailable(e.to_string()))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", "openid profile email")
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if !self.api_audience.is_empty() {
                query.append_pair("audience", &self.api_audience);
            }
        }
        Ok(LoginRequest { authorize_url: url.into(), state, nonce, code_verifier })
    }

    async fn finish_login(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
        redirect_uri: &str,
    ) -> Result<SignedInUser, LoginError> {
        let endpoints = self.endpoints().await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("code", code),
            ("code_verifier", code_verifier),
            ("redirect_uri", redirect_uri),
        ];
        let response = self
            .http
            .post(&endpoints.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| LoginError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_client_error() {
            let reason = response.json::<OAuthError>().await.map(|e| e.error).unwrap_or_else(|_| status.to_string());
            return Err(LoginError::CodeRejected(reason));
        }
        if !status.is_success() {
            return Err(LoginError::Unavailable(format!("token endpoint answered {status}")));
        }
        let tokens: TokenResponse = response.json().await.map_err(|e| LoginError::Unavailable(e.to_string()))?;
        let id_token =
            tokens.id_token.ok_or_else(|| LoginError::InvalidIdToken("no ID token in the response".into()))?;
        let claims: IdClaims =
            self.id_tokens.verify_claims(&id_token).await.map_err(|e| LoginError::InvalidIdToken(e.to_string()))?;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(LoginError::InvalidIdToken("the nonce does not match this sign-in".into()));
        }
        // OIDC Core 3.1.3.7: with several audiences, azp must name us.
        if claims.aud.as_array().is_some_and(|a| a.len() > 1) && claims.azp.as_deref() != Some(self.client_id.as_str())
        {
            return Err(LoginError::InvalidIdToken("the token was issued to another client".into()));
        }
        Ok(SignedInUser {
            subject: claims.sub,
            name: claims.name,
            email: claims.email,
            picture: claims.picture,
            access_token: tokens.access_token,
        })
    }

    fn logout_url(&self, return_to: &str) -> String {
        let separator = if self.issuer.ends_with('/') { "" } else { "/" };
        let base = format!("{}{separator}v2/logout", self.issuer);
        match url::Url::parse_with_params(&base, [("client_id", self.client_id.as_str()), ("returnTo", return_to)]) {
            Ok(url) => url.into(),
            Err(_) => base,
        }
    }
}

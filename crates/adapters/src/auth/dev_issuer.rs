//! The built-in dev issuer: an RSA key in the data directory (created on first run, mode
//! 0600), its JWKS and discovery documents, and a minter of access tokens. Tokens it signs
//! are verified by the same [`super::JwksTokenVerifier`] as Auth0's.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use orderdesk_domain::Permission;
use orderdesk_signin::{DevSignIn, DevTokens, SigningError};
use serde::Serialize;

/// Failures loading or creating the dev key, or signing.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    #[error("cannot read or write the dev signing key {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the dev signing key {path} is not a usable RSA key: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("cannot sign a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Signs development access tokens.
#[derive(Clone)]
pub struct DevIssuer {
    issuer: String,
    audience: String,
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    scope: String,
    permissions: Vec<&'static str>,
}

impl DevIssuer {
    /// The file the dev key lives in, under the data directory.
    pub fn key_path(data_dir: &Path) -> PathBuf {
        data_dir.join("dev-issuer-key.pem")
    }

    /// Loads the key from `data_dir`, creating it (mode 0600) on first use.
    ///
    /// # Errors
    /// The directory or file cannot be written or read, or holds something other than an RSA key.
    pub fn load_or_create(data_dir: &Path, issuer: &str, audience: &str) -> Result<Self, DevIssuerError> {
        let path = Self::key_path(data_dir);
        let io = |source| DevIssuerError::Io { path: path.clone(), source };
        let pem = match std::fs::read(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let pem = generate_pem().map_err(|reason| DevIssuerError::BadKey { path: path.clone(), reason })?;
                crate::secret::write_private_file(&path, pem.as_bytes()).map_err(io)?;
                tracing::info!(path = %path.display(), "created the dev issuer's signing key");
                pem.into_bytes()
            }
            Err(e) => return Err(io(e)),
        };
        let bad = |reason: String| DevIssuerError::BadKey { path: path.clone(), reason };
        let encoding = EncodingKey::from_rsa_pem(&pem).map_err(|e| bad(e.to_string()))?;
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(|e| bad(e.to_string()))?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| bad(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self { issuer: issuer.to_owned(), audience: audience.to_owned(), kid, encoding, jwk })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The public key set, as served at `/.well-known/jwks.json`.
    pub fn jwks_json(&self) -> String {
        serde_json::to_string(&JwkSet { keys: vec![self.jwk.clone()] }).unwrap_or_else(|_| "{\"keys\":[]}".into())
    }

    /// The OpenID discovery document, as served at `/.well-known/openid-configuration`.
    pub fn discovery_json(&self) -> String {
        serde_json::json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}.well-known/jwks.json", self.issuer),
            "authorization_endpoint": format!("{}authorize", self.issuer),
            "token_endpoint": format!("{}oauth/token", self.issuer),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        })
        .to_string()
    }

    /// Signs an access token for `subject` with `permissions`, valid for `expires_in`.
    ///
    /// # Errors
    /// Signing failed.
    pub fn mint(
        &self,
        subject: &str,
        permissions: &[Permission],
        expires_in: Duration,
    ) -> Result<String, DevIssuerError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let names: Vec<&'static str> = permissions.iter().map(|p| p.as_str()).collect();
        let claims = AccessClaims {
            iss: &self.issuer,
            sub: subject,
            aud: &self.audience,
            iat: now,
            exp: now + expires_in.as_secs(),
            scope: names.join(" "),
            permissions: names,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    nonce: &'a str,
    name: &'a str,
    email: &'a str,
}

impl DevSignIn for DevIssuer {
    fn issue(
        &self,
        subject: &str,
        name: &str,
        email: &str,
        permissions: &[Permission],
        client_id: &str,
        nonce: &str,
    ) -> Result<DevTokens, SigningError> {
        let failed = |e: DevIssuerError| SigningError(e.to_string());
        let access_token = self.mint(subject, permissions, Duration::from_secs(3600)).map_err(failed)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims =
            IdClaims { iss: &self.issuer, sub: subject, aud: client_id, iat: now, exp: now + 600, nonce, name, email };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let id_token = jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| failed(e.into()))?;
        Ok(DevTokens { access_token, id_token })
    }

    fn issuer(&self) -> &str {
        &self.issuer
    }
}

/// A new 2048-bit RSA key as PKCS #8 PEM, or why it could not be made.
fn generate_pem() -> Result<String, String> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
    key.to_pkcs8_pem(LineEnding::LF).map(|pem| pem.to_string()).map_err(|e| e.to_string())
}

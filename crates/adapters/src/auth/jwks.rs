//! [`TokenVerifier`] on a JWKS: keys cached in memory, refetched single-flight and rate
//! limited on an unknown `kid`, kept when the issuer is unreachable. Successful verifications
//! are remembered (see [`VerifiedTokens`]) so a client's repeated calls skip the RSA check.

use std::collections::HashMap;
use std::hash::Hasher;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use orderdesk_domain::auth::{Principal, TokenRejection, TokenVerifier};
use rsa::rand_core::{OsRng, RngCore};
use serde::Deserialize;
use siphasher::sip128::{Hasher128, SipHasher};
use tokio::sync::Mutex;

use super::AuthSettings;
use crate::setup::SetupError;

/// Signing algorithms that may be allowed: RSA only, so an HMAC or `none` token never verifies.
pub const SUPPORTED_ALGORITHMS: [&str; 6] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

impl AuthSettings {
    /// Checks `auth.algorithms` against [`SUPPORTED_ALGORITHMS`]; the one place that does.
    ///
    /// # Errors
    /// An algorithm outside the allow-list, or an empty list; the message names `auth.algorithms`.
    pub fn check_algorithms(&self) -> Result<(), SetupError> {
        allowed_algorithms(&self.algorithms).map(|_| ())
    }
}

fn allowed_algorithms(names: &[String]) -> Result<Vec<Algorithm>, SetupError> {
    let invalid = |reason: String| SetupError::invalid("auth.algorithms", reason);
    let algorithms = names
        .iter()
        .map(|name| match SUPPORTED_ALGORITHMS.contains(&name.as_str()) {
            true => Algorithm::from_str(name).map_err(|e| invalid(format!("{name:?}: {e}"))),
            false => Err(invalid(format!("{name:?} is not allowed (use {SUPPORTED_ALGORITHMS:?})"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if algorithms.is_empty() {
        return Err(invalid("at least one algorithm is required".into()));
    }
    Ok(algorithms)
}

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verifies RS*/PS* access tokens against the issuer's published keys.
#[derive(Clone)]
pub struct JwksTokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    leeway: u64,
    min_refresh: Duration,
    cache_ttl: Duration,
    configured_jwks_uri: Option<String>,
    http: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// Held while fetching: concurrent refreshes wait and then reuse the result.
    refresh: Mutex<RefreshState>,
    verified: Option<VerifiedTokens>,
}

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, CachedKey>,
    fetched_at: Option<Instant>,
}

struct CachedKey {
    key: DecodingKey,
    /// The JWK's `alg`, when it names one: the key verifies only that algorithm.
    algorithm: Option<Algorithm>,
    /// RFC 7638 thumbprint: tells a re-published key from new material under the same `kid`.
    thumbprint: String,
}

/// The key that verified a token: its `kid` and thumbprint.
#[derive(Clone, PartialEq, Eq)]
struct KeyRef {
    kid: String,
    thumbprint: String,
}

impl KeySet {
    fn holds(&self, key: &KeyRef) -> bool {
        self.keys.get(&key.kid).is_some_and(|k| k.thumbprint == key.thumbprint)
    }
}

/// Successful verifications by a keyed 128-bit SipHash-2-4 of the token: a bounded
/// `quick_cache` (S3-FIFO eviction, sharded locks; a hit costs a hash and a lookup instead of
/// ~130 µs of RSA). An entry is served only while the token's `exp` passes the same leeway rule
/// as a fresh verification, and only while the key that verified it is still in the JWKS.
/// Rejections are never cached, so every refusal is decided afresh.
///
/// The cache key must be one no caller can match with another token: SipHash is a PRF under
/// its 128-bit key (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), drawn
/// from the OS for each process and never shown, so without it no token can be made to collide
/// with a cached one, as with a cryptographic hash; the tokens themselves are not kept. It
/// replaced SHA-256, whose portable code (CPUs without the SHA extensions) cost some 50,000
/// instructions for a 1 KB token on every request (docs/benchmarks.md, "Fifth pass").
struct VerifiedTokens {
    cache: quick_cache::sync::Cache<u128, Arc<Verified>>,
    key: (u64, u64),
}

struct Verified {
    principal: Principal,
    exp: u64,
    key: KeyRef,
}

impl VerifiedTokens {
    fn new(capacity: usize) -> Self {
        Self { cache: quick_cache::sync::Cache::new(capacity), key: (OsRng.next_u64(), OsRng.next_u64()) }
    }

    fn digest(&self, token: &str) -> u128 {
        let mut hasher = SipHasher::new_with_keys(self.key.0, self.key.1);
        hasher.write(token.as_bytes());
        hasher.finish128().as_u128()
    }

    /// The remembered principal, if the token is unexpired and its key is still published.
    fn get(&self, digest: &u128, keys: &KeySet, leeway: u64) -> Option<Principal> {
        let hit = self.cache.get(digest)?;
        if !unexpired(hit.exp, leeway) || !keys.holds(&hit.key) {
            self.cache.remove(digest);
            return None;
        }
        Some(hit.principal.clone())
    }

    fn insert(&self, digest: u128, verified: Verified) {
        self.cache.insert(digest, Arc::new(verified));
    }

    /// Forgets tokens whose key left (or changed in) a freshly fetched key set.
    fn retain_keys(&self, keys: &KeySet) {
        self.cache.retain(|_, v| keys.holds(&v.key));
    }
}

/// jsonwebtoken's own `exp` rule (`exp < now - leeway` is expired), for cache hits.
fn unexpired(exp: u64, leeway: u64) -> bool {
    exp.saturating_add(leeway) >= now_seconds()
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    discovered_jwks_uri: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<i64>,
    scope: Option<String>,
    permissions: Option<Vec<String>>,
}

/// Why a JWKS could not be fetched; logged, never shown to callers.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request to {url} failed: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error(transparent)]
    Discovery(#[from] super::DiscoveryError),
    #[error("{url} holds no usable RSA signing key")]
    NoKeys { url: String },
}

impl JwksTokenVerifier {
    /// Builds a verifier; no network call happens until the first token or [`Self::prefetch`].
    ///
    /// # Errors
    /// An algorithm outside [`SUPPORTED_ALGORITHMS`], or no HTTP client could be built.
    pub fn new(settings: &AuthSettings) -> Result<Self, SetupError> {
        let algorithms = allowed_algorithms(&settings.algorithms)?;
        let http = crate::http::client(Duration::from_millis(settings.http_timeout_ms))?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuer: settings.issuer.clone(),
                audience: settings.audience.clone(),
                algorithms,
                leeway: settings.leeway_seconds,
                min_refresh: Duration::from_secs(settings.jwks_min_refresh_seconds),
                cache_ttl: Duration::from_secs(settings.jwks_cache_seconds),
                configured_jwks_uri: Some(settings.jwks_uri.clone()).filter(|u| !u.is_empty()),
                http,
                keys: RwLock::new(Arc::new(KeySet::default())),
                refresh: Mutex::new(RefreshState::default()),
                verified: (settings.token_cache_capacity > 0)
                    .then(|| VerifiedTokens::new(settings.token_cache_capacity)),
            }),
        })
    }

    /// Fetches the keys now (at start-up), so the first request does not wait for them.
    ///
    /// # Errors
    /// The issuer could not be reached; the verifier still works and retries on demand.
    pub async fn prefetch(&self) -> Result<(), FetchError> {
        let mut state = self.inner.refresh.lock().await;
        state.last_attempt = Some(Instant::now());
        self.inner.fetch_and_store(&mut state).await
    }

    /// How many verified tokens are remembered now (bounded by `auth.token_cache_capacity`).
    pub fn cached_tokens(&self) -> usize {
        self.inner.verified.as_ref().map_or(0, |v| v.cache.len())
    }
}

impl Inner {
    fn key_set(&self) -> Arc<KeySet> {
        // A poisoned lock still holds a complete key set: writers swap one Arc.
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    async fn jwks_uri(&self, state: &mut RefreshState) -> Result<String, FetchError> {
        if let Some(uri) = self.configured_jwks_uri.clone().or_else(|| state.discovered_jwks_uri.clone()) {
            return Ok(uri);
        }
        let discovery = super::discovery::fetch(&self.http, &self.issuer).await?;
        state.discovered_jwks_uri = Some(discovery.jwks_uri.clone());
        Ok(discovery.jwks_uri)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        let http_error = |source| FetchError::Http { url: url.to_owned(), source };
        let response =
            self.http.get(url).headers(crate::trace_context::outgoing_headers()).send().await.map_err(http_error)?;
        response.error_for_status().map_err(http_error)?.json().await.map_err(http_error)
    }

    async fn fetch_and_store(&self, state: &mut RefreshState) -> Result<(), FetchError> {
        let url = self.jwks_uri(state).await?;
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Value>,
        }
        let raw: RawSet = self.get_json(&url).await?;
        let keys: HashMap<String, CachedKey> = raw.keys.into_iter().filter_map(usable_key).collect();
        if keys.is_empty() {
            return Err(FetchError::NoKeys { url });
        }
        tracing::info!(jwks_uri = %url, keys = keys.len(), "fetched signing keys");
        metrics::counter!("orderdesk_jwks_refreshes_total", "result" => "ok").increment(1);
        let set = Arc::new(KeySet { keys, fetched_at: Some(Instant::now()) });
        if let Some(verified) = &self.verified {
            verified.retain_keys(&set);
        }
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = set;
        Ok(())
    }

    /// Refetches for an unknown key id: single flight, at most once per `min_refresh`.
    async fn refresh_for(&self, kid: &str) -> Result<Arc<KeySet>, TokenRejection> {
        let mut state = self.refresh.lock().await;
        let keys = self.key_set();
        if keys.keys.contains_key(kid) {
            return Ok(keys);
        }
        if state.last_attempt.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return Err(if keys.keys.is_empty() {
                TokenRejection::KeysUnavailable
            } else {
                TokenRejection::UnknownKey
            });
        }
        state.last_attempt = Some(Instant::now());
        if let Err(error) = self.fetch_and_store(&mut state).await {
            tracing::warn!(%error, "cannot refresh signing keys; keeping the cached ones");
            metrics::counter!("orderdesk_jwks_refreshes_total", "result" => "error").increment(1);
            if keys.keys.is_empty() {
                return Err(TokenRejection::KeysUnavailable);
            }
        }
        Ok(self.key_set())
    }

    /// Refreshes stale keys off the request path, if no refresh ran recently.
    fn refresh_in_background(self: &Arc<Self>) {
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            let Ok(mut state) = inner.refresh.try_lock() else { return };
            if state.last_attempt.is_some_and(|at| at.elapsed() < inner.min_refresh) {
                return;
            }
            state.last_attempt = Some(Instant::now());
            if let Err(error) = inner.fetch_and_store(&mut state).await {
                tracing::warn!(%error, "background key refresh failed; keeping the cached keys");
                metrics::counter!("orderdesk_jwks_refreshes_total", "result" => "error").increment(1);
            }
        });
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation
    }
}

/// Keeps RSA signing keys with a `kid`; everything else in the set is ignored.
fn usable_key(value: serde_json::Value) -> Option<(String, CachedKey)> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let kid = jwk.common.key_id.clone()?;
    if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
        return None;
    }
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match jwk.common.key_algorithm {
        Some(alg) => Some(Algorithm::from_str(&alg.to_string()).ok()?),
        None => None,
    };
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    let thumbprint = jwk.thumbprint(ThumbprintHash::SHA256).ok()?;
    Some((kid, CachedKey { key, algorithm, thumbprint }))
}

fn rejection(kind: &ErrorKind) -> TokenRejection {
    match kind {
        ErrorKind::InvalidSignature => TokenRejection::BadSignature,
        ErrorKind::ExpiredSignature => TokenRejection::Expired,
        ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
        ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
        ErrorKind::InvalidAudience => TokenRejection::WrongAudience,
        ErrorKind::InvalidAlgorithm => TokenRejection::UnsupportedAlgorithm,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "sub" => TokenRejection::MissingSubject,
            "iss" => TokenRejection::WrongIssuer,
            "aud" => TokenRejection::WrongAudience,
            _ => TokenRejection::Malformed,
        },
        _ => TokenRejection::Malformed,
    }
}

fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl JwksTokenVerifier {
    /// Verifies a token's header, key, signature, issuer, audience and validity period, and
    /// returns its claims. `sub` is required.
    ///
    /// # Errors
    /// A [`TokenRejection`] saying what is wrong with the token.
    pub async fn verify_claims<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, TokenRejection> {
        self.verify_with_key(token).await.map(|(claims, _)| claims)
    }

    /// [`Self::verify_claims`], also naming the key that verified the token.
    async fn verify_with_key<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(T, KeyRef), TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
        // The allow-list is checked before any key is touched: `none` and HS* never get further.
        if !self.inner.algorithms.contains(&header.alg) {
            return Err(TokenRejection::UnsupportedAlgorithm);
        }
        let kid = header.kid.ok_or(TokenRejection::UnknownKey)?;
        let mut keys = self.inner.key_set();
        if !keys.keys.contains_key(&kid) {
            keys = self.inner.refresh_for(&kid).await?;
        } else if keys.fetched_at.is_some_and(|at| at.elapsed() > self.inner.cache_ttl) {
            self.inner.refresh_in_background();
        }
        let cached = keys.keys.get(&kid).ok_or(TokenRejection::UnknownKey)?;
        if cached.algorithm.is_some_and(|alg| alg != header.alg) {
            return Err(TokenRejection::UnsupportedAlgorithm);
        }
        let data = jsonwebtoken::decode::<WithIssuedAt<T>>(token, &cached.key, &self.inner.validation(header.alg))
            .map_err(|e| rejection(e.kind()))?;
        if data.claims.iat.is_some_and(|iat| iat > now_seconds() + self.inner.leeway) {
            return Err(TokenRejection::NotYetValid);
        }
        Ok((data.claims.rest, KeyRef { kid, thumbprint: cached.thumbprint.clone() }))
    }
}

/// The caller's claims plus `iat`, which jsonwebtoken does not check.
#[derive(Deserialize)]
struct WithIssuedAt<T> {
    iat: Option<u64>,
    #[serde(flatten)]
    rest: T,
}

#[async_trait]
impl TokenVerifier for JwksTokenVerifier {
    async fn verify(&self, token: &str) -> Result<Principal, TokenRejection> {
        let verified = self.verify_principal(token).await;
        verified.inspect_err(|r| {
            metrics::counter!("orderdesk_token_rejections_total", "reason" => format!("{r:?}")).increment(1)
        })
    }
}

impl JwksTokenVerifier {
    async fn verify_principal(&self, token: &str) -> Result<Principal, TokenRejection> {
        let cache = self.inner.verified.as_ref().filter(|_| token.len() <= MAX_TOKEN_BYTES);
        let digest = cache.map(|cache| cache.digest(token));
        if let (Some(cache), Some(digest)) = (cache, &digest) {
            let keys = self.inner.key_set();
            if let Some(principal) = cache.get(digest, &keys, self.inner.leeway) {
                // Hits still age the keys, so a key that leaves the JWKS is noticed.
                if keys.fetched_at.is_some_and(|at| at.elapsed() > self.inner.cache_ttl) {
                    self.inner.refresh_in_background();
                }
                return Ok(principal);
            }
        }
        let (claims, key): (Claims, KeyRef) = self.verify_with_key(token).await?;
        let subject = claims.sub.filter(|s| !s.is_empty()).ok_or(TokenRejection::MissingSubject)?;
        let principal = Principal::from_claims(subject, claims.permissions.as_deref(), claims.scope.as_deref());
        let principal = match claims.exp.and_then(|exp| chrono::DateTime::from_timestamp(exp, 0)) {
            Some(exp) => principal.expiring_at(exp),
            None => principal,
        };
        // `exp` is a required claim, so every verified token has one to bound its entry.
        if let (Some(cache), Some(digest), Some(exp)) = (cache, digest, claims.exp.and_then(|e| u64::try_from(e).ok()))
        {
            cache.insert(digest, Verified { principal: principal.clone(), exp, key });
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys differ between tokens, agree for one token within a process, and come from a
    /// secret drawn per cache: another process (cache) keys the same token differently.
    #[test]
    fn cache_keys_are_keyed_by_a_secret_of_each_cache() {
        let (cache, other) = (VerifiedTokens::new(8), VerifiedTokens::new(8));
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHxhIn0.c2lnbmF0dXJl";
        assert_eq!(cache.digest(token), cache.digest(token));
        assert_ne!(cache.digest(token), cache.digest(&format!("{token}x")));
        assert_ne!(cache.digest(token), cache.digest(&token[..token.len() - 1]));
        assert_ne!(cache.key, other.key);
        assert_ne!(cache.digest(token), other.digest(token));
        // SipHash-2-4 with 128-bit output, as its reference vectors give it (key 00..0f, empty input).
        let reference =
            VerifiedTokens { cache: quick_cache::sync::Cache::new(1), key: (0x0706050403020100, 0x0f0e0d0c0b0a0908) };
        assert_eq!(
            reference.digest("").to_le_bytes(),
            [0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93]
        );
    }
}

//! A fake Auth0 tenant on loopback: discovery and JWKS as the contract describes, RSA test
//! keys generated once per test binary, and a minter for good and hostile tokens.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::auth::AuthSettings;

pub const AUDIENCE: &str = "https://api.orderdesk.test";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// An RSA signing key with its public forms.
pub struct TestKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
    pub public_pem: String,
}

/// Three keys: 0 is published at start, 1 is published by rotation, 2 is never published.
pub static KEYS: LazyLock<Vec<TestKey>> = LazyLock::new(|| (0..3).map(|_| generate_key()).collect());

fn generate_key() -> TestKey {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("generate RSA key");
    let pem = private.to_pkcs8_pem(LineEnding::LF).expect("encode key");
    let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF).expect("encode public key");
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("load key");
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).expect("jwk");
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).expect("thumbprint");
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    TestKey { kid, encoding, jwk, public_pem }
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A running fake tenant.
pub struct FakeAuth0 {
    pub server: MockServer,
    pub issuer: String,
}

impl FakeAuth0 {
    /// Starts the tenant publishing key 0.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let issuer = format!("{}/", server.uri());
        let fake = Self { server, issuer };
        fake.publish(&[0]).await;
        fake
    }

    /// Serves discovery and a JWKS holding exactly the given keys.
    pub async fn publish(&self, keys: &[usize]) {
        self.server.reset().await;
        let discovery = json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}{JWKS_PATH}", self.server.uri()),
            "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
        });
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(discovery))
            .mount(&self.server)
            .await;
        let set = JwkSet { keys: keys.iter().map(|&i| KEYS[i].jwk.clone()).collect() };
        Mock::given(method("GET"))
            .and(path(JWKS_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(&set))
            .mount(&self.server)
            .await;
    }

    /// Every request now fails with 503, as during an outage.
    pub async fn go_down(&self) {
        self.server.reset().await;
        Mock::given(wiremock::matchers::any()).respond_with(ResponseTemplate::new(503)).mount(&self.server).await;
    }

    /// How many JWKS requests arrived so far.
    pub async fn jwks_fetches(&self) -> usize {
        self.server.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == JWKS_PATH).count()
    }

    /// The `traceparent` header of every request received so far (empty when absent).
    pub async fn traceparents(&self) -> Vec<String> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        let header =
            |r: &wiremock::Request| r.headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
        requests.iter().map(|r| header(r).unwrap_or_default()).collect()
    }

    /// Verifier settings for this tenant; keys may be refetched at once.
    pub fn settings(&self) -> AuthSettings {
        AuthSettings {
            issuer: self.issuer.clone(),
            audience: AUDIENCE.into(),
            jwks_min_refresh_seconds: 0,
            http_timeout_ms: 2_000,
            ..AuthSettings::default()
        }
    }

    /// Claims of a good M2M access token in Auth0's default profile.
    pub fn claims(&self) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "sub": "m2m-client@clients",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "azp": "m2m-client",
            "gty": "client-credentials",
            "scope": "read:customers write:customers read:orders write:orders",
        })
    }

    /// Signs `claims` with key `key` (RS256, its kid in the header).
    pub fn sign(&self, key: usize, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KEYS[key].kid.clone());
        jsonwebtoken::encode(&header, claims, &KEYS[key].encoding).expect("sign")
    }

    /// A good token with `changes` merged into the claims (a `null` removes a claim).
    pub fn token_with(&self, changes: Value) -> String {
        let mut claims = self.claims();
        if let (Some(claims), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
            for (name, value) in changes {
                if value.is_null() {
                    claims.remove(name);
                } else {
                    claims.insert(name.clone(), value.clone());
                }
            }
        }
        self.sign(0, &claims)
    }

    /// The hostile tokens every API must refuse, by name.
    pub fn attacks(&self) -> Vec<(&'static str, String)> {
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let good = self.sign(0, &self.claims());
        let mut tampered: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut boosted = self.claims();
        boosted["sub"] = json!("admin@clients");
        tampered[1] = b64(&boosted);
        let mut hs_header = Header::new(Algorithm::HS256);
        hs_header.kid = Some(KEYS[0].kid.clone());
        let hs256_with_public_key =
            jsonwebtoken::encode(&hs_header, &self.claims(), &EncodingKey::from_secret(KEYS[0].public_pem.as_bytes()))
                .expect("sign HS256");
        let mut unknown_kid_header = Header::new(Algorithm::RS256);
        unknown_kid_header.kid = Some(KEYS[2].kid.clone());
        let unknown_kid = jsonwebtoken::encode(&unknown_kid_header, &self.claims(), &KEYS[2].encoding).expect("sign");
        // Signed by an unpublished key but claiming the published key's id.
        let mut substituted_header = Header::new(Algorithm::RS256);
        substituted_header.kid = Some(KEYS[0].kid.clone());
        let substituted = jsonwebtoken::encode(&substituted_header, &self.claims(), &KEYS[2].encoding).expect("sign");
        let now = now();
        let issuer_without_slash = self.issuer.trim_end_matches('/').to_owned();
        vec![
            ("malformed", "not.a.jwt".to_owned()),
            ("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&self.claims()))),
            ("HS256 signed with the RSA public key", hs256_with_public_key),
            ("unknown kid", unknown_kid),
            ("key substituted under a known kid", substituted),
            ("tampered payload", tampered.join(".")),
            ("expired", self.token_with(json!({"exp": now - 3600, "iat": now - 7200}))),
            ("not yet valid", self.token_with(json!({"nbf": now + 3600}))),
            ("issued in the future", self.token_with(json!({"iat": now + 3600}))),
            ("wrong issuer", self.token_with(json!({"iss": "https://evil.example.com/"}))),
            ("issuer without trailing slash", self.token_with(json!({"iss": issuer_without_slash}))),
            ("wrong audience", self.token_with(json!({"aud": "https://another-api.example.com"}))),
            ("ID token as access token", self.token_with(json!({"aud": "dashboard-client-id", "nonce": "n"}))),
            ("missing sub", self.token_with(json!({"sub": null}))),
            ("oversized", self.token_with(json!({"padding": "x".repeat(9 * 1024)}))),
        ]
    }
}

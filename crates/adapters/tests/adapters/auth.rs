use std::sync::Arc;

use orderdesk_adapters::auth::{AuthSettings, DevIssuer, JwksTokenVerifier};
use orderdesk_adapters::testing::auth0::{AUDIENCE, FakeAuth0};
use orderdesk_domain::auth::{TokenRejection, TokenVerifier};
use orderdesk_domain::{Permission, Principal};
use serde_json::json;

fn verifier(settings: &AuthSettings) -> JwksTokenVerifier {
    JwksTokenVerifier::new(settings).unwrap()
}

#[tokio::test]
async fn good_tokens_verify_with_permissions_from_scope_or_rbac_claim() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&auth0.settings());

    let m2m = verifier.verify(&auth0.sign(0, &auth0.claims())).await.unwrap();
    assert_eq!(m2m.subject(), "m2m-client@clients");
    assert_eq!(m2m.permissions().len(), 4);

    // A user token asked with `openid`: aud is an array; RBAC permissions win over scope.
    let user = auth0.token_with(json!({
        "sub": "auth0|user-1",
        "aud": [AUDIENCE, format!("{}userinfo", auth0.issuer)],
        "scope": "openid profile write:orders",
        "permissions": ["read:orders"],
    }));
    let verified = verifier.verify(&user).await.unwrap();
    assert_eq!((verified.subject(), verified.permissions().len()), ("auth0|user-1", 1));
    assert!(verified.has(Permission::ReadOrders));
    let exp = verified.expires_at().expect("the token's exp is kept");
    assert!(exp > chrono::Utc::now(), "{exp}");
}

#[tokio::test]
async fn every_attack_is_rejected_for_the_right_reason() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&auth0.settings());
    let expected = [
        ("malformed", TokenRejection::Malformed),
        ("alg none", TokenRejection::Malformed),
        ("HS256 signed with the RSA public key", TokenRejection::UnsupportedAlgorithm),
        ("unknown kid", TokenRejection::UnknownKey),
        ("key substituted under a known kid", TokenRejection::BadSignature),
        ("tampered payload", TokenRejection::BadSignature),
        ("expired", TokenRejection::Expired),
        ("not yet valid", TokenRejection::NotYetValid),
        ("issued in the future", TokenRejection::NotYetValid),
        ("wrong issuer", TokenRejection::WrongIssuer),
        ("issuer without trailing slash", TokenRejection::WrongIssuer),
        ("wrong audience", TokenRejection::WrongAudience),
        ("ID token as access token", TokenRejection::WrongAudience),
        ("missing sub", TokenRejection::MissingSubject),
        ("oversized", TokenRejection::TooLarge),
    ];
    let attacks = auth0.attacks();
    assert_eq!(attacks.len(), expected.len());
    for ((name, token), (expected_name, rejection)) in attacks.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        assert_eq!(verifier.verify(token).await, Err(rejection), "{name}");
    }
}

#[tokio::test]
async fn algorithms_outside_the_rsa_family_cannot_be_configured() {
    for bad in ["HS256", "none", "ES256"] {
        let settings = AuthSettings { algorithms: vec![bad.into()], ..AuthSettings::default() };
        assert!(JwksTokenVerifier::new(&settings).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn rotated_key_is_accepted_after_the_jwks_changes() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&auth0.settings());
    let new_key_token = auth0.sign(1, &auth0.claims());
    assert_eq!(verifier.verify(&new_key_token).await, Err(TokenRejection::UnknownKey));

    auth0.publish(&[0, 1]).await;
    assert!(verifier.verify(&new_key_token).await.is_ok());
    assert!(verifier.verify(&auth0.sign(0, &auth0.claims())).await.is_ok());
}

#[tokio::test]
async fn key_fetches_made_for_a_request_carry_its_trace() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&auth0.settings());
    let (span, request) = crate::request_span();
    let token = auth0.sign(0, &auth0.claims());
    orderdesk_adapters::trace_context::in_scope(span, verifier.verify(&token)).await.unwrap();
    let seen = auth0.traceparents().await;
    assert_eq!(seen.len(), 2, "discovery and JWKS: {seen:?}");
    assert!(seen.iter().all(|t| *t == request), "{seen:?}");
}

#[tokio::test]
async fn cached_keys_survive_an_issuer_outage_and_need_no_network() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&auth0.settings());
    let token = auth0.sign(0, &auth0.claims());
    verifier.verify(&token).await.unwrap();
    let fetches = auth0.jwks_fetches().await;
    for _ in 0..20 {
        verifier.verify(&token).await.unwrap();
    }
    assert_eq!(auth0.jwks_fetches().await, fetches, "a cached key needs no request");

    auth0.go_down().await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.verify(&auth0.sign(1, &auth0.claims())).await, Err(TokenRejection::UnknownKey));
}

#[tokio::test]
async fn unreachable_issuer_without_cached_keys_is_a_rejection_not_a_crash() {
    let auth0 = FakeAuth0::start().await;
    auth0.go_down().await;
    let verifier = verifier(&auth0.settings());
    assert_eq!(verifier.verify(&auth0.sign(0, &auth0.claims())).await, Err(TokenRejection::KeysUnavailable));
    assert!(verifier.prefetch().await.is_err());
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_at_most_once_per_interval() {
    let auth0 = FakeAuth0::start().await;
    let settings = AuthSettings { jwks_min_refresh_seconds: 60, ..auth0.settings() };
    let verifier = Arc::new(verifier(&settings));
    let tokens: Vec<String> = (0..50)
        .map(|i| {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some(format!("bogus-{i}"));
            jsonwebtoken::encode(&header, &auth0.claims(), &orderdesk_adapters::testing::auth0::KEYS[0].encoding)
                .unwrap()
        })
        .collect();
    let results = futures_util::future::join_all(tokens.iter().map(|t| verifier.verify(t))).await;
    assert!(results.iter().all(|r| *r == Err(TokenRejection::UnknownKey)));
    // Single flight: one caller fetched, the others waited for it and then fell inside the interval.
    assert_eq!(auth0.jwks_fetches().await, 1);
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_not_trusted() {
    let auth0 = FakeAuth0::start().await;
    let settings = AuthSettings { issuer: format!("{}tenant-b/", auth0.issuer), ..auth0.settings() };
    let verifier = verifier(&settings);
    let token = auth0.token_with(json!({"iss": settings.issuer}));
    assert_eq!(verifier.verify(&token).await, Err(TokenRejection::KeysUnavailable));
}

#[tokio::test]
async fn dev_issuer_key_is_private_and_reused_and_its_tokens_verify_through_jwks() {
    let dir = std::env::temp_dir().join(format!("orderdesk-dev-issuer-{}", uuid::Uuid::now_v7()));
    let issuer = DevIssuer::load_or_create(&dir, "http://127.0.0.1:1/", "orderdesk-dev").unwrap();
    let again = DevIssuer::load_or_create(&dir, "http://127.0.0.1:1/", "orderdesk-dev").unwrap();
    assert_eq!(issuer.jwks_json(), again.jwks_json(), "the key is created once and reused");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(DevIssuer::key_path(&dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Serve its JWKS from a fake and verify one of its tokens with the production verifier.
    let server = wiremock::MockServer::start().await;
    let jwks: serde_json::Value = serde_json::from_str(&issuer.jwks_json()).unwrap();
    wiremock::Mock::given(wiremock::matchers::path("/jwks.json"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&server)
        .await;
    let settings = AuthSettings {
        issuer: "http://127.0.0.1:1/".into(),
        audience: "orderdesk-dev".into(),
        jwks_uri: format!("{}/jwks.json", server.uri()),
        ..AuthSettings::default()
    };
    let token = issuer.mint("dev-user", &[Permission::ReadOrders], std::time::Duration::from_secs(60)).unwrap();
    let principal = verifier(&settings).verify(&token).await.unwrap();
    let exp = principal.expires_at().expect("exp");
    assert!(exp <= chrono::Utc::now() + chrono::Duration::seconds(61), "{exp}");
    assert_eq!(principal, Principal::new("dev-user", [Permission::ReadOrders]).expiring_at(exp));
    let _ = std::fs::remove_dir_all(dir);
}

// The verified-token cache: a hit is never an easier path than a fresh verification.

#[tokio::test]
async fn a_cached_token_is_refused_once_it_expires() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&AuthSettings { leeway_seconds: 0, ..auth0.settings() });
    let exp = orderdesk_adapters::testing::auth0::now() + 1;
    let token = auth0.token_with(json!({"exp": exp}));
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.cached_tokens(), 1);

    // jsonwebtoken refuses `exp < now - leeway`; the cache must agree the moment that holds.
    while orderdesk_adapters::testing::auth0::now() <= exp {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(verifier.verify(&token).await, Err(TokenRejection::Expired));
    assert_eq!(verifier.cached_tokens(), 0, "the expired entry is dropped");
}

#[tokio::test]
async fn a_key_leaving_the_jwks_evicts_the_tokens_it_verified() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&auth0.settings());
    let old = auth0.sign(0, &auth0.claims());
    verifier.verify(&old).await.unwrap();
    assert_eq!(verifier.cached_tokens(), 1);

    // Key 0 is withdrawn; a token under key 1 makes the verifier refetch the set.
    auth0.publish(&[1]).await;
    let new = auth0.sign(1, &auth0.claims());
    verifier.verify(&new).await.unwrap();
    assert_eq!(verifier.cached_tokens(), 1, "only the token of the published key is left");
    assert_eq!(verifier.verify(&old).await, Err(TokenRejection::UnknownKey));
    assert!(verifier.verify(&new).await.is_ok());
}

#[tokio::test]
async fn the_token_cache_stays_within_its_capacity() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&AuthSettings { token_cache_capacity: 4, ..auth0.settings() });
    let tokens: Vec<String> = (0..20).map(|i| auth0.token_with(json!({"sub": format!("client-{i}")}))).collect();
    for _ in 0..2 {
        for (i, token) in tokens.iter().enumerate() {
            assert_eq!(verifier.verify(token).await.unwrap().subject(), format!("client-{i}"));
            assert!(verifier.cached_tokens() <= 4, "{} entries", verifier.cached_tokens());
        }
    }

    let off = self::verifier(&AuthSettings { token_cache_capacity: 0, ..auth0.settings() });
    assert!(off.verify(&tokens[0]).await.is_ok());
    assert!(off.verify(&tokens[0]).await.is_ok());
    assert_eq!(off.cached_tokens(), 0);
}

#[tokio::test]
async fn a_different_token_with_the_same_claims_is_verified_afresh() {
    let auth0 = FakeAuth0::start().await;
    let verifier = verifier(&auth0.settings());
    let claims = auth0.claims();
    let good = auth0.sign(0, &claims);
    verifier.verify(&good).await.unwrap();

    // Same header and claims, the signature of a key that is not published: only the bytes differ.
    let other = auth0.sign(2, &claims);
    let (signed_part, _) = good.rsplit_once('.').unwrap();
    let (_, foreign_signature) = other.rsplit_once('.').unwrap();
    let forged = format!("{signed_part}.{foreign_signature}");
    assert_eq!(verifier.verify(&forged).await, Err(TokenRejection::BadSignature));
    assert_eq!(verifier.verify(&other).await, Err(TokenRejection::UnknownKey));

    // Every attack is still refused for its own reason while a good token is cached.
    assert!(verifier.verify(&good).await.is_ok());
    for (name, token) in auth0.attacks() {
        assert!(verifier.verify(&token).await.is_err(), "{name}");
    }
    assert_eq!(verifier.cached_tokens(), 1);
}

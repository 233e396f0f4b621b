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
    let request = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned();
    let token = auth0.sign(0, &auth0.claims());
    orderdesk_adapters::http::TRACEPARENT.scope(request.clone(), verifier.verify(&token)).await.unwrap();
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

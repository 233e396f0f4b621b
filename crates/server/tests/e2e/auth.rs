use orderdesk_adapters::testing::auth0::{AUDIENCE, FakeAuth0};
use orderdesk_adapters::testing::{Backend, with_database};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn dev_issuer_tokens_work_and_its_documents_are_served() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let response = app.http.get(app.url("/api/v1/customers")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);

        let response = app.anonymous.get(app.url("/api/v1/customers")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"orderdesk\"");

        let discovery: Value =
            app.anonymous.get(app.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
        assert_eq!(discovery["issuer"], app.url("/"));
        let jwks: Value =
            app.anonymous.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert!(jwks["keys"][0].get("d").is_none(), "the private exponent is never published");
    })
    .await;
}

#[tokio::test]
async fn with_auth0_configured_the_dev_issuer_is_not_served() {
    let auth0 = FakeAuth0::start().await;
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |s| s.auth = auth0.settings()).await;
        let response = app.anonymous.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        let token = auth0.sign(0, &auth0.claims());
        let response = app.anonymous.get(app.url("/api/v1/orders")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn every_attack_gets_401_with_invalid_token_never_500() {
    let auth0 = FakeAuth0::start().await;
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app_with(&db, |s| s.auth = auth0.settings()).await;
        for (name, token) in auth0.attacks() {
            let response = app.anonymous.get(app.url("/api/v1/customers")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
            let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
            assert!(
                challenge.starts_with("Bearer realm=\"orderdesk\", error=\"invalid_token\", error_description="),
                "{name}: {challenge}"
            );
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["type"], "/problems/unauthenticated", "{name}");
        }
        // The audience the fake's good tokens carry is the configured one.
        assert_eq!(app.settings.auth.audience, AUDIENCE);
    })
    .await;
}

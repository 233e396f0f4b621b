//! The dev issuer's OAuth endpoints, shaped like Auth0's (`/authorize`, `/oauth/token`,
//! `/v2/logout`), so the dashboard's real OpenID client runs with nothing configured.
//! Served in the dev profile only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orderdesk_domain::Permission;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::form::Form;
use super::{WebState, constant_time_eq, field, html, message, random_token, redirect};

const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// An issued authorization code, single use.
pub(crate) struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: String,
    subject: String,
    name: String,
    email: String,
    permissions: Vec<Permission>,
    issued: Instant,
}

#[derive(Template)]
#[template(path = "dev_authorize.html")]
struct AuthorizePage {
    hidden: Vec<(&'static str, String)>,
    permissions: Vec<&'static str>,
}

#[derive(Deserialize)]
pub(super) struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

const CARRIED: [&str; 5] = ["client_id", "redirect_uri", "state", "nonce", "code_challenge"];

impl WebState {
    /// The client may only be sent back to this server.
    fn valid_client(&self, client_id: &str, redirect_uri: &str) -> bool {
        let Some(dev) = &self.options.dev_issuer else { return false };
        client_id == dev.client_id && redirect_uri.starts_with(&format!("{}/", self.options.public_url))
    }
}

#[handler]
pub(super) async fn authorize_page(state: Data<&Arc<WebState>>, Query(q): Query<AuthorizeQuery>) -> Response {
    let (Some(client_id), Some(redirect_uri), Some(challenge)) = (&q.client_id, &q.redirect_uri, &q.code_challenge)
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Bad sign-in request",
            "client_id, redirect_uri and code_challenge are required.",
        );
    };
    if !state.valid_client(client_id, redirect_uri) {
        return message(StatusCode::BAD_REQUEST, "Bad sign-in request", "Unknown client or redirect URI.");
    }
    if q.response_type.as_deref() != Some("code") || q.code_challenge_method.as_deref() != Some("S256") {
        return message(
            StatusCode::BAD_REQUEST,
            "Bad sign-in request",
            "Only response_type=code with PKCE S256 is supported.",
        );
    }
    let values = [
        client_id.clone(),
        redirect_uri.clone(),
        q.state.clone().unwrap_or_default(),
        q.nonce.clone().unwrap_or_default(),
        challenge.clone(),
    ];
    let hidden = CARRIED.into_iter().zip(values).collect();
    html(StatusCode::OK, &AuthorizePage { hidden, permissions: Permission::ALL.iter().map(|p| p.as_str()).collect() })
}

fn back_to(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    match url::Url::parse_with_params(redirect_uri, params) {
        Ok(url) => redirect(url.as_str()),
        Err(_) => message(StatusCode::BAD_REQUEST, "Bad sign-in request", "The redirect URI is not a URL."),
    }
}

#[handler]
pub(super) async fn authorize(state: Data<&Arc<WebState>>, form: Form) -> Response {
    let fields = form.into_fields();
    let (client_id, redirect_uri, client_state) =
        (field(&fields, "client_id"), field(&fields, "redirect_uri"), field(&fields, "state"));
    if !state.valid_client(client_id, redirect_uri) {
        return message(StatusCode::BAD_REQUEST, "Bad sign-in request", "Unknown client or redirect URI.");
    }
    if field(&fields, "decision") != "allow" {
        return back_to(
            redirect_uri,
            &[("error", "access_denied"), ("error_description", "The user declined"), ("state", client_state)],
        );
    }
    let name = field(&fields, "name").trim().chars().take(100).collect::<String>();
    let email = field(&fields, "email").trim().chars().take(200).collect::<String>();
    if name.is_empty() || email.is_empty() {
        return message(StatusCode::BAD_REQUEST, "Name and email are required", "Go back and fill in both.");
    }
    let permissions =
        fields.iter().filter(|(k, _)| k == "permission").filter_map(|(_, v)| Permission::parse(v)).collect();
    let code = random_token();
    let grant = Grant {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: field(&fields, "code_challenge").to_owned(),
        nonce: field(&fields, "nonce").to_owned(),
        subject: format!("dev|{}", email.to_ascii_lowercase()),
        name,
        email,
        permissions,
        issued: Instant::now(),
    };
    if let Ok(mut codes) = state.codes.lock() {
        codes.retain(|_, g| g.issued.elapsed() < CODE_LIFETIME);
        codes.insert(code.clone(), grant);
    }
    back_to(redirect_uri, &[("code", &code), ("state", client_state)])
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .header("cache-control", "no-store")
        .body(serde_json::json!({ "error": error }).to_string())
}

#[handler]
pub(super) async fn token(state: Data<&Arc<WebState>>, form: Form) -> Response {
    let Some(dev) = &state.options.dev_issuer else { return oauth_error(StatusCode::NOT_FOUND, "not_found") };
    let fields = form.into_fields();
    if field(&fields, "grant_type") != "authorization_code" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if field(&fields, "client_id") != dev.client_id
        || !constant_time_eq(field(&fields, "client_secret"), &dev.client_secret)
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // Single use: the code is gone whether or not the rest checks out.
    let grant = state.codes.lock().ok().and_then(|mut codes| codes.remove(field(&fields, "code")));
    let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_LIFETIME) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(field(&fields, "code_verifier").as_bytes()));
    if grant.client_id != dev.client_id
        || grant.redirect_uri != field(&fields, "redirect_uri")
        || !constant_time_eq(&challenge, &grant.code_challenge)
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    match dev.signer.issue(&grant.subject, &grant.name, &grant.email, &grant.permissions, &dev.client_id, &grant.nonce)
    {
        Ok(tokens) => Response::builder().content_type("application/json").header("cache-control", "no-store").body(
            serde_json::json!({
                "access_token": tokens.access_token,
                "id_token": tokens.id_token,
                "token_type": "Bearer",
                "expires_in": 3600,
            })
            .to_string(),
        ),
        Err(error) => {
            tracing::error!(%error, "dev issuer cannot sign");
            oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LogoutQuery {
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
}

/// Like Auth0's `/v2/logout`: only returns to this server.
#[handler]
pub(super) async fn logout(state: Data<&Arc<WebState>>, Query(q): Query<LogoutQuery>) -> Response {
    match q.return_to {
        Some(url) if url.starts_with(&format!("{}/", state.options.public_url)) => redirect(&url),
        _ => message(StatusCode::BAD_REQUEST, "Signed out", "You are signed out. The return address was not allowed."),
    }
}

//! Home, sign-in (authorization code + PKCE), callback and sign-out.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use chrono::Utc;
use orderdesk_signin::{LoginError, Session};
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::{Deserialize, Serialize};

use super::form::Form;
use super::{
    LOGIN_COOKIE, MessagePage, SESSION_COOKIE, WebState, constant_time_eq, field, html, message, random_token, redirect,
};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    sign_in_available: bool,
}

/// What the browser must bring back to `/callback`, kept in an encrypted cookie.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    nonce: String,
    verifier: String,
}

const LOGIN_COOKIE_LIFETIME: Duration = Duration::from_secs(600);

#[handler]
pub(super) async fn home(state: Data<&Arc<WebState>>, jar: &CookieJar) -> Response {
    if state.session(jar).await.is_some() {
        return redirect("/dashboard");
    }
    html(StatusCode::OK, &HomePage { sign_in_available: state.options.oidc.is_some() })
}

#[handler]
pub(super) async fn login(state: Data<&Arc<WebState>>, jar: &CookieJar) -> Response {
    let Some(oidc) = &state.options.oidc else {
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is not configured",
            "Set auth.client_id to enable the dashboard.",
        );
    };
    match oidc.begin_login(&state.callback_url()).await {
        Ok(request) => {
            let pending = PendingLogin { state: request.state, nonce: request.nonce, verifier: request.code_verifier };
            let value = serde_json::to_string(&pending).unwrap_or_default();
            jar.private().add(state.cookie(LOGIN_COOKIE, value, LOGIN_COOKIE_LIFETIME, "/callback"));
            redirect(&request.authorize_url)
        }
        Err(error) => message(StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable", error.to_string()),
    }
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[handler]
pub(super) async fn callback(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    // Single use: whatever happens next, this sign-in attempt is over.
    let pending =
        jar.private().get(LOGIN_COOKIE).and_then(|c| serde_json::from_str::<PendingLogin>(c.value_str()).ok());
    jar.add(state.cookie(LOGIN_COOKIE, String::new(), Duration::ZERO, "/callback"));
    let Some(pending) = pending else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in was started too long ago or in another browser, or was already used. Please sign in again.",
        );
    };
    if let Some(error) = query.error {
        let text = if error == "access_denied" {
            "You declined to sign in, so you are not signed in.".to_owned()
        } else {
            format!("The sign-in service reported an error: {}", query.error_description.unwrap_or(error))
        };
        return message(StatusCode::BAD_REQUEST, "Not signed in", text);
    }
    if !query.state.as_deref().is_some_and(|s| constant_time_eq(s, &pending.state)) {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "The sign-in answer does not belong to this browser (state mismatch). Please sign in again.",
        );
    }
    let (Some(oidc), Some(code)) = (&state.options.oidc, query.code) else {
        return message(StatusCode::BAD_REQUEST, "Sign-in refused", "The sign-in answer carries no code.");
    };
    let user = match oidc.finish_login(&code, &pending.verifier, &pending.nonce, &state.callback_url()).await {
        Ok(user) => user,
        Err(error @ LoginError::Unavailable(_)) => {
            return message(StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable", error.to_string());
        }
        Err(error) => return message(StatusCode::BAD_REQUEST, "Sign-in refused", error.to_string()),
    };
    // The same permissions as the API: read from the access token through the same verifier.
    let (permissions, token_expiry) = match &user.access_token {
        Some(token) => match state.tokens.verify(token).await {
            Ok(principal) => (principal.permissions().clone(), principal.expires_at()),
            Err(rejection) => {
                tracing::warn!(%rejection, "the access token from sign-in is not valid for this API; no permissions");
                (Default::default(), None)
            }
        },
        None => (Default::default(), None),
    };
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(state.options.session_ttl).unwrap_or(chrono::Duration::hours(8));
    // Permissions must not outlive the token they came from: the session ends with it.
    let expires_at = token_expiry.map_or(now + ttl, |exp| exp.min(now + ttl));
    let session = Session {
        subject: user.subject.clone(),
        name: user.name.or_else(|| user.email.clone()).unwrap_or_else(|| user.subject.clone()),
        email: user.email,
        picture: user.picture,
        permissions,
        csrf_token: random_token(),
        created_at: now,
        expires_at,
    };
    let token = random_token();
    if let Err(error) = state.options.sessions.create(&token, &session).await {
        tracing::error!(error.cause_chain = ?error, "cannot store the session");
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is unavailable",
            "The session could not be stored; please try again.",
        );
    }
    tracing::info!(subject = %session.subject, "signed in to the dashboard");
    let cookie_age = (expires_at - now).to_std().unwrap_or_default();
    jar.add(state.cookie(SESSION_COOKIE, token, cookie_age, "/"));
    redirect("/dashboard")
}

/// `GET /logout`: signing out changes state, so it takes a POST; offer the form.
#[handler]
pub(super) async fn logout_page(state: Data<&Arc<WebState>>, jar: &CookieJar) -> Response {
    let csrf = state.session(jar).await.map(|(_, s)| s.csrf_token);
    let page = MessagePage {
        title: "Sign out with the button".into(),
        message: "Signing out needs the form below (a link cannot sign you out).".into(),
        logout_csrf: csrf,
    };
    let mut response = html(StatusCode::METHOD_NOT_ALLOWED, &page);
    response.headers_mut().insert("allow", poem::http::HeaderValue::from_static("POST"));
    response
}

#[handler]
pub(super) async fn logout(state: Data<&Arc<WebState>>, jar: &CookieJar, form: Form) -> Response {
    let Some((token, session)) = state.session(jar).await else {
        jar.add(state.cookie(SESSION_COOKIE, String::new(), Duration::ZERO, "/"));
        return redirect("/");
    };
    let fields = form.into_fields();
    if !constant_time_eq(field(&fields, "csrf"), &session.csrf_token) {
        return message(
            StatusCode::FORBIDDEN,
            "Not signed out",
            "The form has expired. Reload the page and sign out again.",
        );
    }
    if let Err(error) = state.options.sessions.delete(&token).await {
        tracing::error!(error.cause_chain = ?error, "cannot end the session");
        return message(StatusCode::SERVICE_UNAVAILABLE, "Not signed out", "Please try again.");
    }
    jar.add(state.cookie(SESSION_COOKIE, String::new(), Duration::ZERO, "/"));
    tracing::info!(subject = %session.subject, "signed out");
    let return_to = format!("{}/", state.options.public_url);
    match &state.options.oidc {
        Some(oidc) => redirect(&oidc.logout_url(&return_to)),
        None => redirect("/"),
    }
}

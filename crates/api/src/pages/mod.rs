//! Server-rendered pages: home, sign-in/out through OpenID Connect, the dashboard, and the
//! dev issuer's sign-in page. No JavaScript; every form carries a CSRF token.

mod chart;
mod customers;
pub(crate) mod dashboard;
mod dev_issuer;
mod form;
mod orders;
mod outcome;
mod shell;
mod signin;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use orderdesk_domain::auth::TokenVerifier;
pub(crate) use orderdesk_signin::token::{constant_time_eq, random_token};
use orderdesk_signin::{DevSignIn, OidcClient, Session, SessionRepository};
use poem::http::StatusCode;
use poem::middleware::{CookieJarManager, SetHeader};
use poem::web::cookie::{Cookie, CookieJar, CookieKey, SameSite};
use poem::{Endpoint, EndpointExt, Response, Route, get, post};

use crate::Services;

/// Every path the pages answer (the dev issuer's only when it runs), besides `/`.
pub const PATHS: [&str; 6] =
    ["/login", "/callback", "/logout", "/dashboard", "/dashboard/customers", "/dashboard/orders"];
/// The pages with pages below them (`/dashboard/orders/{id}`, `/dashboard/customers/{id}`).
pub const PAGE_TREES: [&str; 2] = ["/dashboard/customers", "/dashboard/orders"];
/// The pages below a `PAGE_TREES` entry, as metrics name them.
pub const SUBPATHS: [&str; 8] = [
    "/dashboard/orders/export.csv",
    "/dashboard/customers/{id}",
    "/dashboard/customers/{id}/orders",
    "/dashboard/customers/{id}/edit",
    "/dashboard/customers/{id}/delete",
    "/dashboard/orders/{id}",
    "/dashboard/orders/{id}/status",
    "/dashboard/orders/{id}/edit",
];
/// Whether `path` is a dashboard page (answered in HTML, errors included).
pub fn is_page(path: &str) -> bool {
    path == "/" || PATHS.iter().any(|page| path == *page || path.strip_prefix(page).is_some_and(|r| r.starts_with('/')))
}

/// The dev issuer's Auth0-shaped endpoints.
pub const DEV_ISSUER_PATHS: [&str; 3] = ["/authorize", "/oauth/token", "/v2/logout"];

pub const SESSION_COOKIE: &str = "orderdesk_session";
pub const LOGIN_COOKIE: &str = "orderdesk_login";

/// What the pages need besides the domain services.
#[derive(Clone)]
pub struct WebOptions {
    /// The server's public base URL, without a trailing slash (callback and return URLs).
    pub public_url: String,
    /// Mark cookies `Secure` (production, behind https).
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    /// At least 32 bytes; signs and encrypts the short-lived sign-in cookie.
    pub cookie_key: Vec<u8>,
    /// `None` when no dashboard client is configured: the home page says so.
    pub oidc: Option<Arc<dyn OidcClient>>,
    pub sessions: Arc<dyn SessionRepository>,
    /// The dev issuer's authorize, token and logout endpoints (dev profile only).
    pub dev_issuer: Option<DevIssuerOptions>,
    /// Every time on the pages is shown in it (setting `shop.time_zone`).
    pub time_zone: chrono_tz::Tz,
}

/// The dev issuer's client registration.
#[derive(Clone)]
pub struct DevIssuerOptions {
    pub signer: Arc<dyn DevSignIn>,
    pub client_id: String,
    pub client_secret: String,
}

pub(crate) struct WebState {
    options: WebOptions,
    services: Services,
    tokens: Arc<dyn TokenVerifier>,
    codes: Mutex<HashMap<String, dev_issuer::Grant>>,
}

/// The page routes, with their cookie handling.
pub fn routes(options: WebOptions, services: Services) -> impl Endpoint<Output = Response> {
    let key = CookieKey::derive_from(&options.cookie_key);
    let tokens = services.tokens.clone();
    let dev = options.dev_issuer.is_some();
    let state = Arc::new(WebState { options, services, tokens, codes: Mutex::new(HashMap::new()) });
    let route = Route::new()
        .at("/", get(signin::home))
        .at(PATHS[0], get(signin::login))
        .at(PATHS[1], get(signin::callback))
        .at(PATHS[2], get(signin::logout_page).post(signin::logout))
        .at(PATHS[3], get(dashboard::show));
    let mut route = orders::routes(customers::routes(route));
    if dev {
        route = route
            .at(DEV_ISSUER_PATHS[0], get(dev_issuer::authorize_page).post(dev_issuer::authorize))
            .at(DEV_ISSUER_PATHS[1], post(dev_issuer::token))
            .at(DEV_ISSUER_PATHS[2], get(dev_issuer::logout));
    }
    let policy = content_security_policy(state.options.oidc.as_deref(), &state.options.public_url);
    route
        .data(state)
        .with(CookieJarManager::with_key(key))
        .map_to_response()
        .with(SetHeader::new().overriding(poem::http::header::CONTENT_SECURITY_POLICY, policy))
}

/// The pages' policy: nothing from elsewhere but https images (avatars), inline styles only,
/// no framing, and forms that submit (or, like sign-out, redirect) only to this server and
/// the sign-in issuer.
fn content_security_policy(oidc: Option<&dyn OidcClient>, public_url: &str) -> String {
    let issuer = oidc
        .and_then(|oidc| url::Url::parse(&oidc.logout_url(public_url)).ok())
        .map(|url| url.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' https: data:; style-src 'unsafe-inline'; \
         form-action 'self'{issuer}; frame-ancestors 'none'; base-uri 'none'"
    )
}

pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header("cache-control", "no-store")
            .header("x-frame-options", "DENY")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body("internal error")
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub title: String,
    pub message: String,
    pub logout_csrf: Option<String>,
}

/// A page with a title and a sentence, e.g. for a failed sign-in.
pub(crate) fn message(status: StatusCode, title: &str, text: impl Into<String>) -> Response {
    html(status, &MessagePage { title: title.to_owned(), message: text.into(), logout_csrf: None })
}

pub(crate) fn redirect(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header("cache-control", "no-store")
        .finish()
}

impl WebState {
    pub(crate) fn cookie(&self, name: &str, value: String, max_age: Duration, path: &str) -> Cookie {
        let mut cookie = Cookie::new_with_str(name, value);
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(self.options.secure_cookies);
        cookie.set_path(path);
        cookie.set_max_age(max_age);
        cookie
    }

    /// The signed-in session, if the cookie names a live one.
    pub(crate) async fn session(&self, jar: &CookieJar) -> Option<(String, Session)> {
        let token = jar.get(SESSION_COOKIE)?.value_str().to_owned();
        match self.options.sessions.find(&token, chrono::Utc::now()).await {
            Ok(Some(session)) => Some((token, session)),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(error.cause_chain = ?error, "cannot read sessions");
                None
            }
        }
    }

    pub(crate) fn callback_url(&self) -> String {
        format!("{}/callback", self.options.public_url)
    }
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use orderdesk_signin::ports::MockOidcClient;

    use super::content_security_policy;

    /// Regression: `form-action` allowed any http(s) URL, so an injected form could post anywhere.
    #[test]
    fn forms_may_go_only_to_this_server_and_the_issuer() {
        let mut oidc = MockOidcClient::new();
        oidc.expect_logout_url()
            .returning(|to| format!("https://tenant.eu.auth0.com/v2/logout?client_id=x&returnTo={to}"));
        let policy = content_security_policy(Some(&oidc), "https://shop.example");
        assert!(policy.contains("form-action 'self' https://tenant.eu.auth0.com;"), "{policy}");
        assert!(!policy.contains("http:") && !policy.contains(" https:;"), "{policy}");
        assert!(content_security_policy(None, "").contains("form-action 'self';"));
    }
}

//! The sign-in flow and dashboard over HTTP, with the built-in dev issuer as the OpenID
//! provider (the same client code path as with Auth0).

use std::collections::HashMap;

use orderdesk_adapters::testing::{Backend, with_database};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::{TestApp, spawn_app};

/// A minimal browser: keeps cookies (honouring Max-Age=0), follows no redirects by itself.
pub struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, cookies: HashMap::new() }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let response = request.header(COOKIE, cookie).send().await.unwrap();
        let set_cookies: Vec<String> =
            response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for header in &set_cookies {
            let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let location = response.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
        Page { status, location, set_cookies, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let request = self.http.get(url);
        self.send(request).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(url).form(form);
        self.send(request).await
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }
}

/// The hidden fields of the first form on `html`.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let value = rest.split_once("value=\"")?.1.split_once('"')?.0;
            Some((name.to_owned(), value.replace("&#x2b;", "+").replace("&#43;", "+").replace("&amp;", "&")))
        })
        .collect()
}

/// Signs in through the dev issuer's page with the given permissions; returns the callback URL.
async fn authorize(app: &TestApp, browser: &mut Browser, decision: &str, permissions: &[&str]) -> String {
    let login = browser.get(&app.url("/login")).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let page = browser.get(&login.location.unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    let hidden = hidden_fields(&page.body);
    let mut form: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.extend([("name", "Wanjiru Test"), ("email", "wanjiru@example.test"), ("decision", decision)]);
    form.extend(permissions.iter().map(|p| ("permission", *p)));
    let answer = browser.post(&app.url("/authorize"), &form).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    answer.location.unwrap()
}

pub(crate) const ALL: [&str; 4] = ["read:customers", "write:customers", "read:orders", "write:orders"];

pub async fn sign_in(app: &TestApp, browser: &mut Browser, permissions: &[&str]) -> Page {
    let callback = authorize(app, browser, "allow", permissions).await;
    browser.get(&callback).await
}

#[tokio::test]
async fn login_redirects_with_pkce_state_and_nonce_in_a_short_lived_cookie() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let mut browser = Browser::new();
        let home = browser.get(&app.url("/")).await;
        assert!(home.body.contains("href=\"/login\""), "home offers sign-in");
        let login = browser.get(&app.url("/login")).await;
        let url = url::Url::parse(login.location.as_deref().unwrap()).unwrap();
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/authorize");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["scope"], "openid profile email");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["redirect_uri"], app.url("/callback"));
        for key in ["state", "nonce", "code_challenge", "client_id"] {
            assert!(!query[key].is_empty(), "{key}");
        }
        let cookie = login.set_cookies.iter().find(|c| c.starts_with("orderdesk_login=")).unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Max-Age=600"),
            "{cookie}"
        );
        assert!(!cookie.contains(&query["nonce"]), "the login cookie is encrypted");
    })
    .await;
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    with_database(Backend::Sqlite, |db| async move {
        let app =
            crate::helpers::spawn_app_with(&db, |s| s.web.public_url = "https://orders.example.test".into()).await;
        let mut browser = Browser::new();
        let login = browser.get(&app.url("/login")).await;
        let cookie = login.set_cookies.iter().find(|c| c.starts_with("orderdesk_login=")).unwrap();
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(login.location.unwrap().contains("redirect_uri=https%3A%2F%2Forders.example.test%2Fcallback"));
    })
    .await;
}

#[tokio::test]
async fn a_full_sign_in_shows_the_user_and_sign_out_really_ends_the_session() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let mut browser = Browser::new();
        let callback = sign_in(&app, &mut browser, &ALL).await;
        assert_eq!(callback.status, StatusCode::SEE_OTHER);
        assert_eq!(callback.location.as_deref(), Some("/dashboard"));
        let session = callback.set_cookies.iter().find(|c| c.starts_with("orderdesk_session=")).unwrap();
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Lax") && !session.contains("Secure"),
            "{session}"
        );
        // Regression: the session (8 hours by default) outlived the one-hour access token whose
        // permissions it carries. It now ends when that token expires.
        let max_age: u64 = session.split("Max-Age=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
        assert!((3500..=3600).contains(&max_age), "session ends with the access token: {session}");
        assert!(!browser.has_cookie("orderdesk_login"), "the login cookie is used up");

        let dashboard = browser.get(&app.url("/dashboard")).await;
        assert_eq!(dashboard.status, StatusCode::OK);
        assert!(dashboard.body.contains("Wanjiru Test") && dashboard.body.contains("wanjiru@example.test"));

        let get_logout = browser.get(&app.url("/logout")).await;
        assert_eq!(get_logout.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(get_logout.body.contains("method=\"post\" action=\"/logout\""), "offers the form");

        let forged = browser.post(&app.url("/logout"), &[("csrf", "forged")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(browser.get(&app.url("/dashboard")).await.status, StatusCode::OK, "still signed in");

        let csrf = hidden_fields(&dashboard.body).into_iter().find(|(k, _)| k == "csrf").unwrap().1;
        let stolen_cookie = browser.cookies.clone();
        let logout = browser.post(&app.url("/logout"), &[("csrf", csrf.as_str())]).await;
        assert_eq!(logout.status, StatusCode::SEE_OTHER);
        let to_issuer = url::Url::parse(logout.location.as_deref().unwrap()).unwrap();
        assert_eq!(to_issuer.path(), "/v2/logout");
        let query: HashMap<String, String> = to_issuer.query_pairs().into_owned().collect();
        assert_eq!(query["client_id"], "orderdesk-dev-dashboard");
        assert_eq!(query["returnTo"], app.url("/"));
        let back = browser.get(logout.location.as_deref().unwrap()).await;
        assert_eq!(back.location.as_deref(), Some(app.url("/").as_str()));

        assert_eq!(browser.get(&app.url("/dashboard")).await.status, StatusCode::SEE_OTHER);
        // The old cookie is dead on the server too, not just forgotten by the browser.
        browser.cookies = stolen_cookie;
        assert_eq!(browser.get(&app.url("/dashboard")).await.location.as_deref(), Some("/"));
    })
    .await;
}

#[tokio::test]
async fn failed_sign_ins_are_clear_400s_and_leave_nobody_signed_in() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;

        let mut denied = Browser::new();
        let callback = authorize(&app, &mut denied, "deny", &ALL).await;
        let page = denied.get(&callback).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("declined"));
        assert!(!denied.has_cookie("orderdesk_session"));

        let mut tampered = Browser::new();
        let callback = authorize(&app, &mut tampered, "allow", &ALL).await;
        let wrong_state = callback.split("&state=").next().unwrap().to_owned() + "&state=forged";
        let page = tampered.get(&wrong_state).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("state mismatch"));
        assert!(!tampered.has_cookie("orderdesk_session"));

        let mut replayer = Browser::new();
        let callback = authorize(&app, &mut replayer, "allow", &ALL).await;
        assert_eq!(replayer.get(&callback).await.status, StatusCode::SEE_OTHER);
        let mut attacker = Browser::new();
        let page = attacker.get(&callback).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "no login cookie: started elsewhere or expired");
        assert!(page.body.contains("Sign-in expired"));
        // A fresh sign-in in the attacker's browser, but with the victim's (used) code.
        let fresh = authorize(&app, &mut attacker, "allow", &ALL).await;
        let state = fresh.split("&state=").nth(1).unwrap();
        let code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap();
        let page = attacker.get(&app.url(&format!("/callback?code={code}&state={state}"))).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("expired or been used"), "{}", page.body);
        assert!(!attacker.has_cookie("orderdesk_session"));
    })
    .await;
}

#[tokio::test]
async fn customer_forms_validate_in_place_and_respect_permissions() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let mut clerk = Browser::new();
        sign_in(&app, &mut clerk, &ALL).await;
        // The caller-ID step: nobody has the number yet, so the new customer starts with it.
        let find = clerk.get(&app.url("/dashboard/customers?q=0712345678")).await;
        assert_eq!(find.status, StatusCode::OK);
        assert!(find.body.contains("id=\"no-results\""), "nobody has the number");
        assert!(find.body.contains("id=\"customer-phone\" name=\"phone\" value=\"0712345678\""), "phone prefilled");
        let csrf = hidden_fields(&find.body).into_iter().find(|(k, _)| k == "csrf").unwrap().1;

        let bad = clerk
            .post(
                &app.url("/dashboard/customers"),
                &[("csrf", &csrf), ("name", "Amina"), ("code", "AM-1"), ("phone", "12"), ("language", "sw")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("id=\"error-summary\"") && bad.body.contains("href=\"#customer-phone\""), "summary");
        assert!(bad.body.contains("id=\"customer-phone-error\""), "error next to the field");
        assert!(bad.body.contains("value=\"Amina\"") && bad.body.contains("value=\"12\""), "input kept");
        assert!(bad.body.contains("<option value=\"sw\" selected>"), "language kept");

        let no_csrf = clerk
            .post(&app.url("/dashboard/customers"), &[("name", "Amina"), ("code", "AM-1"), ("phone", "0712345678")])
            .await;
        assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);

        let good = clerk
            .post(
                &app.url("/dashboard/customers"),
                &[("csrf", &csrf), ("name", "Amina"), ("code", "AM-1"), ("phone", "0712345678"), ("language", "en")],
            )
            .await;
        assert_eq!(good.status, StatusCode::SEE_OTHER);
        let location = good.location.unwrap();
        let customer_id =
            location.strip_prefix("/dashboard/customers/").unwrap().strip_suffix("?done=created").unwrap();
        let page = clerk.get(&app.url(&location)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("id=\"notice\">Customer added.") && page.body.contains(">Amina</h1>"));
        let duplicate = clerk
            .post(
                &app.url("/dashboard/customers"),
                &[("csrf", &csrf), ("name", "Other"), ("code", "am-1"), ("phone", "0712345678"), ("language", "en")],
            )
            .await;
        assert_eq!(duplicate.status, StatusCode::CONFLICT);
        assert!(duplicate.body.contains("id=\"customer-code-error\"") && duplicate.body.contains("value=\"Other\""));

        let find = clerk.get(&app.url("/dashboard/customers?q=am-")).await;
        assert!(find.body.contains(&format!("href=\"/dashboard/customers/{customer_id}\">Amina</a>")), "by code");

        let take = app.url(&format!("/dashboard/customers/{customer_id}/orders"));
        let order = clerk.post(&take, &[("csrf", &csrf), ("item", "Tea"), ("amount", "1.005")]).await;
        assert_eq!(order.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(order.body.contains("id=\"order-amount-error\"") && order.body.contains("href=\"#order-amount\""));
        assert!(order.body.contains("value=\"Tea\"") && order.body.contains("value=\"1.005\""), "input kept");
        let order = clerk.post(&take, &[("csrf", &csrf), ("item", "Tea"), ("amount", "150")]).await;
        assert_eq!(order.status, StatusCode::SEE_OTHER);
        let to_order = order.location.unwrap();
        assert!(to_order.starts_with("/dashboard/orders/") && to_order.ends_with("?done=created"), "{to_order}");
        let page = clerk.get(&app.url(&format!("/dashboard/customers/{customer_id}"))).await;
        assert!(page.body.contains("Tea") && page.body.contains("150.00 KES") && page.body.contains(">ORD-1001</a>"));
        assert!(page.body.contains("<span class=\"badge received\">received</span>"));

        // A user whose token has only read permissions sees data but no forms, and cannot write.
        let mut viewer = Browser::new();
        sign_in(&app, &mut viewer, &["read:customers", "read:orders"]).await;
        let page = viewer.get(&app.url(&format!("/dashboard/customers/{customer_id}"))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Tea") && !page.body.contains("method=\"post\" action=\"/dashboard/customers"));
        let find = viewer.get(&app.url("/dashboard/customers")).await;
        assert!(find.body.contains("id=\"q\"") && !find.body.contains("New customer"));
        let csrf = hidden_fields(&page.body).into_iter().find(|(k, _)| k == "csrf").unwrap().1;
        let refused = viewer
            .post(
                &app.url("/dashboard/customers"),
                &[("csrf", &csrf), ("name", "X"), ("code", "X"), ("phone", "0712345678")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("write:customers"));
        let take = app.url(&format!("/dashboard/customers/{customer_id}/orders"));
        let refused = viewer.post(&take, &[("csrf", &csrf), ("item", "Tea"), ("amount", "1")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("write:orders") && !refused.body.contains("id=\"order-item\""));
        for action in ["edit", "delete"] {
            let url = app.url(&format!("/dashboard/customers/{customer_id}/{action}"));
            let refused = viewer.post(&url, &[("csrf", &csrf), ("name", "X"), ("version", "0")]).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}");
        }

        // Each part needs its permission: without read:orders no orders; without
        // read:customers no customer at all.
        let mut customer_reader = Browser::new();
        sign_in(&app, &mut customer_reader, &["read:customers"]).await;
        let page = customer_reader.get(&app.url(&format!("/dashboard/customers/{customer_id}"))).await;
        assert!(page.body.contains(">Amina</h1>") && !page.body.contains("Tea") && page.body.contains("read:orders"));
        let mut order_reader = Browser::new();
        sign_in(&app, &mut order_reader, &["read:orders"]).await;
        let page = order_reader.get(&app.url(&format!("/dashboard/customers/{customer_id}"))).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(!page.body.contains("Amina") && page.body.contains("read:customers"));
        let find = order_reader.get(&app.url("/dashboard/customers?q=amina")).await;
        assert_eq!(find.status, StatusCode::FORBIDDEN);
        assert!(!find.body.contains("Amina"));
    })
    .await;
}

//! A shop's day through the dashboard in a real headless Chromium at 390 px, driven over
//! WebDriver, with every page checked at 390 and 1280 px: no sideways scrolling, one `h1`, and
//! no WCAG 2.x A/AA violation found by axe-core (npm, `xtask/axe`). Screenshots of each page at
//! both widths go to `target/browser-test/`. Skipped (with a note) where no chromedriver is
//! installed; CI installs it and axe-core and always runs this.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use orderdesk_adapters::testing::{Backend, with_database};

use orderdesk_adapters::sms::SmsProvider;
use orderdesk_adapters::testing::africastalking::{FakeAfricasTalking, Mode};

use crate::helpers::{TestApp, spawn_app_with};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join("chromedriver"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-test");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

async fn start_browser() -> Option<(Driver, Client)> {
    let Some(binary) = chromedriver() else {
        assert!(std::env::var_os("CI").is_none(), "CI must run the browser test: install chromium and chromium-driver");
        let _ = writeln!(
            std::io::stderr(),
            "note: browser test skipped: no chromedriver on PATH (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = free_port();
    let child =
        Command::new(binary).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut options = serde_json::json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"]
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = "/usr/bin/chromium".into();
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    Some((driver, client))
}

async fn text_of(client: &Client, css: &str) -> Result<String, fantoccini::error::CmdError> {
    client.find(Locator::Css(css)).await?.text().await
}

async fn fill(client: &Client, css: &str, value: &str) -> Result<(), fantoccini::error::CmdError> {
    let input = client.find(Locator::Css(css)).await?;
    input.clear().await?;
    input.send_keys(value).await
}

/// Polls until the element at `css` contains `needle`: clicks return before the next page loads.
async fn wait_for_text(client: &Client, css: &str, needle: &str) -> Result<String, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = text_of(client, css).await
            && text.contains(needle)
        {
            return Ok(text);
        }
        if Instant::now() > deadline {
            return Err(format!("{css} never contained {needle:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_url(client: &Client, expected: &str) -> Result<(), Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = client.current_url().await?;
        if url.as_str() == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("expected to be at {expected}, still at {url}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// axe-core's source (npm, locked in `xtask/axe`), if installed: CI installs it.
fn axe_source() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../xtask/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            assert!(std::env::var_os("CI").is_none(), "CI must run axe: npm ci --prefix xtask/axe");
            let _ = writeln!(std::io::stderr(), "note: accessibility checks skipped: npm ci --prefix xtask/axe");
            None
        }
    }
}

/// The widths every page is checked at: a phone and a laptop.
const WIDTHS: [(u32, u32); 2] = [(390, 844), (1280, 1000)];

/// Checks the page on screen at both widths: nothing scrolls sideways, exactly one `h1`, no
/// WCAG 2.x A/AA violation by axe-core; saves `target/browser-test/{name}-{width}.png`.
/// Leaves the window at phone width.
async fn check_page(client: &Client, axe: Option<&str>, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    for (width, height) in WIDTHS {
        client.set_window_size(width, height).await?;
        tokio::time::sleep(Duration::from_millis(250)).await;
        let overflow = client
            .execute("return document.documentElement.scrollWidth > document.documentElement.clientWidth", vec![])
            .await?;
        let shot = client.screenshot().await?;
        std::fs::write(artifacts().join(format!("{name}-{width}.png")), shot)?;
        if overflow.as_bool() != Some(false) {
            let wide = client
                .execute(
                    "const w = document.documentElement.clientWidth;
                     return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)
                       .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + e.textContent.slice(0, 60));",
                    vec![],
                )
                .await?;
            return Err(format!("{name} scrolls sideways at {width} px: {wide}").into());
        }
        let headings = client.execute("return document.querySelectorAll('h1').length", vec![]).await?;
        if headings.as_u64() != Some(1) {
            return Err(format!("{name} has {headings} h1 elements, not one").into());
        }
        if let Some(axe) = axe {
            client.execute(&format!("{axe}\nreturn true;"), vec![]).await?;
            let violations = client
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                       .then(r => done(r.passes.length === 0 ? ['axe evaluated no rule'] : r.violations.map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                       .catch(e => done(['axe did not run: ' + e]));",
                    vec![],
                )
                .await?;
            let violations = violations.as_array().cloned().unwrap_or_default();
            if !violations.is_empty() {
                return Err(format!("{name} at {width} px: {violations:?}").into());
            }
        }
    }
    client.set_window_size(WIDTHS[0].0, WIDTHS[0].1).await?;
    Ok(())
}

async fn click_button(client: &Client, text: &str) -> Result<(), Box<dyn std::error::Error>> {
    let xpath = format!("//button[normalize-space(.)={text:?}]");
    client.find(Locator::XPath(&xpath)).await?.click().await?;
    Ok(())
}

async fn choose(client: &Client, select: &str, value: &str) -> Result<(), Box<dyn std::error::Error>> {
    client.find(Locator::Css(&format!("{select} option[value='{value}']"))).await?.click().await?;
    Ok(())
}

/// Reloads until the element at `css` contains `needle` (the SMS go out in the background).
async fn reload_until(client: &Client, css: &str, needle: &str) -> Result<String, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = text_of(client, css).await
            && text.contains(needle)
        {
            return Ok(text);
        }
        if Instant::now() > deadline {
            let text = text_of(client, css).await.unwrap_or_default();
            return Err(format!("{css} never showed {needle:?}: {text}").into());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        client.refresh().await?;
    }
}

/// A shop's day at 390 px: sign in, find a customer by phone (none yet: add them, in
/// Swahili), take an order, move it to ready (its SMS in Swahili), take another whose SMS
/// fails and resend it, cancel it with a reason, edit the first after someone else changed
/// it, list what is ready, sign out. Every page is checked at both widths.
async fn journey(app: &TestApp, client: &Client, fake: &FakeAfricasTalking) -> Result<(), Box<dyn std::error::Error>> {
    let axe = axe_source();
    let axe = axe.as_deref();
    client.set_window_size(WIDTHS[0].0, WIDTHS[0].1).await?;
    client.goto(&app.url("/")).await?;
    check_page(client, axe, "signed-out").await?;
    client.find(Locator::LinkText("Sign in")).await?.click().await?;

    // The issuer's sign-in page (the dev issuer standing in for Auth0).
    client.wait().for_element(Locator::Css("#name")).await?;
    fill(client, "#name", "Wanjiru Browser").await?;
    fill(client, "#email", "wanjiru.browser@example.test").await?;
    client.find(Locator::Css("button[value='allow']")).await?.click().await?;
    wait_for_text(client, "#user-name", "Wanjiru Browser").await?;
    wait_for_url(client, &app.url("/dashboard")).await?;
    check_page(client, axe, "today-empty").await?;

    // The caller-ID step: find the caller by the number they call from.
    client.find(Locator::Css("#take-order")).await?.click().await?;
    client.wait().for_element(Locator::Css("#q")).await?;
    fill(client, "#q", "0712 345 678").await?;
    click_button(client, "Find").await?;
    client.wait().for_element(Locator::Css("#no-results")).await?;
    let phone = client.find(Locator::Css("#customer-phone")).await?.prop("value").await?.unwrap_or_default();
    if phone != "0712 345 678" {
        return Err(format!("the new-customer form should hold the searched number, holds {phone:?}").into());
    }
    check_page(client, axe, "customers").await?;
    fill(client, "#customer-name", "Amina Wanjiru").await?;
    fill(client, "#customer-code", "AMINA-01").await?;
    choose(client, "#customer-language", "sw").await?;
    click_button(client, "Add customer").await?;
    wait_for_text(client, "[role=status]", "Customer added").await?;
    let customer_url = client.current_url().await?.as_str().split('?').next().unwrap_or_default().to_owned();

    // The next call from that number finds her.
    client.find(Locator::LinkText("Customers")).await?.click().await?;
    client.wait().for_element(Locator::Css("#q")).await?;
    fill(client, "#q", "+254 712 345 678").await?;
    click_button(client, "Find").await?;
    wait_for_text(client, "#customers-table", "AMINA-01").await?;
    client.find(Locator::LinkText("Amina Wanjiru")).await?.click().await?;
    wait_for_url(client, &customer_url).await?;

    fill(client, "#order-item", "Unga 2kg").await?;
    fill(client, "#order-amount", "250.50").await?;
    click_button(client, "Take order").await?;
    wait_for_text(client, "[role=status]", "ORD-1001").await?;
    let first_order = client.current_url().await?.as_str().split('?').next().unwrap_or_default().to_owned();

    // Ready: the customer's text in Swahili.
    client.find(Locator::XPath("//button[normalize-space(.)='Move to ready']")).await?.click().await?;
    wait_for_text(client, "[role=status]", "Order moved to ready").await?;
    let texts = reload_until(client, "section[aria-labelledby=texts]", "iko tayari").await?;
    if !texts.contains("order.ready") {
        return Err(format!("the ready SMS is not listed: {texts}").into());
    }
    check_page(client, axe, "order").await?;

    // A second order whose SMS fails (the provider refuses the key), then is resent.
    fake.set_mode(Mode::Unauthorized);
    client.goto(&customer_url).await?;
    fill(client, "#order-item", "Sukari 1kg").await?;
    fill(client, "#order-amount", "180").await?;
    click_button(client, "Take order").await?;
    wait_for_text(client, "[role=status]", "ORD-1002").await?;
    // Until the resend button shows: the page reads the notification, then its attempts, so a
    // load between the two can show a failed attempt under a notification still sending.
    let texts = reload_until(client, "section[aria-labelledby=texts]", "Resend this SMS").await?;
    if !texts.contains("failed") {
        return Err(format!("the refused SMS is not shown as failed: {texts}").into());
    }
    fake.set_mode(Mode::Normal);
    click_button(client, "Resend this SMS").await?;
    wait_for_text(client, "[role=status]", "sent again").await?;
    reload_until(client, "section[aria-labelledby=texts]", "sent").await?;

    // Cancelled, with a reason.
    choose(client, "#cancel-reason", "out_of_stock").await?;
    click_button(client, "Cancel order").await?;
    wait_for_text(client, "[role=status]", "Order cancelled").await?;
    wait_for_text(client, "#order-status", "cancelled").await?;

    // Someone else changes the first order while it is open here.
    client.goto(&first_order).await?;
    client.wait().for_element(Locator::Css("#order-item")).await?;
    let id = first_order.rsplit('/').next().unwrap_or_default();
    let patch = app.http.patch(app.url(&format!("/api/v1/orders/{id}"))).json(&serde_json::json!({"item": "Unga 5kg"}));
    if !patch.send().await?.status().is_success() {
        return Err("the concurrent change through the API failed".into());
    }
    fill(client, "#order-item", "Unga 3kg").await?;
    click_button(client, "Save changes").await?;
    wait_for_text(client, "#stale", "someone else").await?;
    wait_for_text(client, "#stored-item", "Unga 5kg").await?;
    check_page(client, axe, "order-conflict").await?;

    client.goto(&app.url("/dashboard/orders?status=ready")).await?;
    wait_for_text(client, "main", "ORD-1001").await?;
    check_page(client, axe, "orders").await?;
    client.goto(&customer_url).await?;
    check_page(client, axe, "customer").await?;
    client.goto(&app.url("/dashboard")).await?;
    wait_for_text(client, "#orders-today", "2").await?;
    check_page(client, axe, "today").await?;

    click_button(client, "Sign out").await?;
    wait_for_url(client, &app.url("/")).await?;
    client.goto(&app.url("/dashboard")).await?;
    wait_for_url(client, &app.url("/")).await?;
    client.find(Locator::LinkText("Sign in")).await?;
    Ok(())
}

#[tokio::test]
async fn a_shops_day_on_a_phone_every_page_accessible_at_both_widths() {
    let Some((_driver, client)) = start_browser().await else { return };
    let fake = FakeAfricasTalking::start().await;
    with_database(Backend::Sqlite, |db| {
        let client = client.clone();
        let fake = &fake;
        async move {
            let app = spawn_app_with(&db, |s| {
                s.sms.provider = Some(SmsProvider::Africastalking);
                s.sms.africastalking = fake.settings();
                s.sms.poll_interval_ms = 100;
            })
            .await;
            let outcome = journey(&app, &client, fake).await;
            if let Err(error) = &outcome {
                let shot = artifacts().join("failure.png");
                if let Ok(png) = client.screenshot().await {
                    let _ = std::fs::write(&shot, png);
                }
                panic!("browser journey failed: {error}; screenshot at {}", shot.display());
            }
        }
    })
    .await;
    let _ = client.close().await;
}

//! A person's path through the dashboard in a real headless Chromium, driven over WebDriver:
//! sign in through the issuer's page, see their name, add a customer and an order, see the
//! order's SMS status, sign out, and find the dashboard closed. Skipped (with a note) where
//! no chromedriver is installed; CI installs it and always runs this.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use orderdesk_adapters::testing::{Backend, with_database};

use crate::helpers::{TestApp, spawn_app};

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

async fn journey(app: &TestApp, client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    client.goto(&app.url("/")).await?;
    client.find(Locator::LinkText("Sign in")).await?.click().await?;

    // The issuer's sign-in page (the dev issuer standing in for Auth0).
    client.wait().for_element(Locator::Css("#name")).await?;
    fill(client, "#name", "Wanjiru Browser").await?;
    fill(client, "#email", "wanjiru.browser@example.test").await?;
    client.find(Locator::Css("button[value='allow']")).await?.click().await?;

    wait_for_text(client, "#user-name", "Wanjiru Browser").await?;
    wait_for_url(client, &app.url("/dashboard")).await?;

    fill(client, "#customer-name", "Amina Wanjiru").await?;
    fill(client, "#customer-code", "AMINA-01").await?;
    fill(client, "#customer-phone", "0712 345 678").await?;
    client.find(Locator::XPath("//button[text()='Add customer']")).await?.click().await?;
    wait_for_text(client, "[role=status]", "Customer added").await?;

    fill(client, "#order-item", "Maize flour 2kg").await?;
    fill(client, "#order-amount", "250.50").await?;
    client.find(Locator::XPath("//button[text()='Take order']")).await?.click().await?;
    wait_for_text(client, "[role=status]", "Order taken").await?;
    wait_for_text(client, "#orders-table", "Maize flour 2kg").await?;
    wait_for_text(client, "#orders-table", "ORD-1001").await?;

    // The SMS goes out in the background (log provider): reload until its status shows.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let table = text_of(client, "#orders-table").await?;
        if table.contains("sent") {
            if !table.contains("250.50 KES") {
                return Err(format!("amount missing from {table}").into());
            }
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the SMS status never showed as sent: {table}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.refresh().await?;
    }
    wait_for_text(client, "#sms-sent", "1").await?;
    std::fs::write(artifacts().join("dashboard.png"), client.screenshot().await?)?;
    // Readable on a phone: nothing needs horizontal scrolling at 390 px.
    client.set_window_size(390, 844).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = client.execute("return document.documentElement.scrollWidth > window.innerWidth", vec![]).await?;
    std::fs::write(artifacts().join("dashboard-phone.png"), client.screenshot().await?)?;
    if overflow.as_bool() != Some(false) {
        return Err("the dashboard scrolls sideways on a 390 px screen".into());
    }

    client.find(Locator::XPath("//button[text()='Sign out']")).await?.click().await?;
    wait_for_url(client, &app.url("/")).await?;
    client.goto(&app.url("/dashboard")).await?;
    wait_for_url(client, &app.url("/")).await?;
    client.find(Locator::LinkText("Sign in")).await?;
    Ok(())
}

#[tokio::test]
async fn a_person_signs_in_takes_an_order_sees_its_sms_and_signs_out() {
    let Some((_driver, client)) = start_browser().await else { return };
    with_database(Backend::Sqlite, |db| {
        let client = client.clone();
        async move {
            let app = spawn_app(&db).await;
            let outcome = journey(&app, &client).await;
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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use orderdesk_adapters::testing::TestDatabase;
use orderdesk_domain::Permission;
use orderdesk_server::settings::Settings;
use orderdesk_server::startup::{Application, dev_issuer};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// A running server and clients for it. Dropping it stops the server and removes its data dir.
pub struct TestApp {
    pub address: SocketAddr,
    /// Sends a dev token with every permission (unless the test configured Auth0).
    pub http: reqwest::Client,
    /// Sends no token.
    pub anonymous: reqwest::Client,
    pub settings: Settings,
    _stop: oneshot::Sender<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.settings.server.data_dir);
    }
}

fn temp_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!("orderdesk-e2e-{}", uuid::Uuid::now_v7().simple()))
}

/// The server with its built-in dev issuer (nothing configured, as on a fresh clone).
pub async fn spawn_app(database: &TestDatabase) -> TestApp {
    spawn_app_with(database, |_| {}).await
}

/// With `TEST_LOG=1` (any value but `0`), the servers' log goes to the tests' output: libtest
/// shows it for a failing test (and for all with `--nocapture`). `RUST_LOG` filters it.
fn show_log_when_asked() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("TEST_LOG").is_some_and(|value| value != "0") {
        INSTALLED.call_once(|| {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        });
    }
}

pub async fn spawn_app_with(database: &TestDatabase, configure: impl FnOnce(&mut Settings)) -> TestApp {
    show_log_when_asked();
    let mut settings = Settings::default();
    // The shipped texts live in the built-in config/default.toml only (every other default is the code's).
    settings.sms.events = Settings::built_in().unwrap().sms.events;
    settings.server.bind = "127.0.0.1:0".parse().unwrap();
    settings.server.data_dir = temp_data_dir();
    settings.database.connection = database.settings.clone();
    configure(&mut settings);
    let app = Application::build(&settings).await.expect("server starts");
    let address = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let mut headers = HeaderMap::new();
    if settings.uses_dev_issuer() {
        let token = dev_issuer(&settings, address)
            .unwrap()
            .mint("dev-user", &Permission::ALL, Duration::from_secs(600))
            .unwrap();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    }
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    TestApp { address, http, anonymous: reqwest::Client::new(), settings, _stop: stop }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `GET path` with the app's token, its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        self.http.get(self.url(path)).send().await.unwrap().json().await.unwrap()
    }

    pub async fn post_customer(&self, code: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/customers"))
            .json(&json!({"name": "Amina Wanjiru", "code": code, "phone": "0712 345 678"}))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_order(&self, customer_id: &Value, amount: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/orders"))
            .json(&json!({"customer_id": customer_id, "item": "Maize flour 2kg", "amount": amount}))
            .send()
            .await
            .unwrap()
    }
}

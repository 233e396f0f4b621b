use std::net::SocketAddr;

use orderdesk_adapters::db::testing::TestDatabase;
use orderdesk_server::settings::Settings;
use orderdesk_server::startup::Application;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// A running server and a client for it. Dropping it stops the server.
pub struct TestApp {
    pub address: SocketAddr,
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

pub async fn spawn_app(database: &TestDatabase) -> TestApp {
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".parse().unwrap();
    settings.database.connection = database.settings.clone();
    let app = Application::build(&settings).await.expect("server starts");
    let address = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
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

//! A fake Africa's Talking on loopback, following the contract: `POST /version1/messaging`
//! with the `apiKey` header and a form body, 201 JSON per recipient, failures chosen by the
//! recipient number's last three digits (the status code, e.g. `...403` → InvalidPhoneNumber),
//! each accepted part priced KES 0.8000 (`cost` and `messageParts` as in contract §1.4),
//! and switchable faults: outages (500, 401, slow, a 200 with a plain-text notice), answers whose
//! outcome is unclear (accepted without a message id, an endless body) and a redirect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The only API key the fake accepts (`apiKey` header).
pub const API_KEY: &str = "atsk_test_key";
/// The only username the fake accepts (form field `username`).
pub const USERNAME: &str = "sandbox";
/// What one part costs, in ten-thousandths of a shilling: KES 0.8000.
pub const PRICE: usize = 8_000;

/// How the fake answers every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// HTTP 500 with an empty body.
    Down,
    /// HTTP 401 as for a wrong key.
    Unauthorized,
    /// Answers normally after this delay (past the client's timeout in tests).
    Slow(Duration),
    /// HTTP 200 with a plain-text notice, as the sandbox sometimes does.
    NotAvailable,
    /// HTTP 201 with the recipient accepted (101) but `messageId` "None": the SMS is sent.
    AcceptedWithoutId,
    /// HTTP 201 whose body is a valid start followed by a megabyte of padding: the SMS is sent.
    Oversized,
    /// HTTP 307 to this URL (another host), as a misconfigured proxy would.
    Redirect(String),
}

/// One SMS the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedSms {
    pub message_id: String,
    pub to: String,
    pub message: String,
    pub from: Option<String>,
}

#[derive(Default)]
struct State {
    mode: Option<Mode>,
    /// The `cost` written for accepted recipients instead of the price of their parts.
    cost: Option<serde_json::Value>,
    accepted: Vec<AcceptedSms>,
    requests: usize,
}

/// The running fake.
pub struct FakeAfricasTalking {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

struct Responder(Arc<Mutex<State>>);

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn status_name(code: u16) -> &'static str {
    match code {
        401 => "RiskHold",
        402 => "InvalidSenderId",
        403 => "InvalidPhoneNumber",
        404 => "UnsupportedNumberType",
        405 => "InsufficientBalance",
        406 => "UserInBlacklist",
        407 => "CouldNotRoute",
        409 => "DoNotDisturbRejection",
        500 => "InternalServerError",
        501 => "GatewayError",
        502 => "RejectedByGateway",
        _ => "Success",
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        state.requests += 1;
        let mode = state.mode.clone().unwrap_or(Mode::Normal);
        let delay = match mode {
            Mode::Down => return ResponseTemplate::new(500),
            Mode::NotAvailable => {
                return ResponseTemplate::new(200)
                    .insert_header("content-type", "text/plain")
                    .set_body_string("The service is currently not available. Please try again later.");
            }
            Mode::Redirect(to) => return ResponseTemplate::new(307).insert_header("location", to.as_str()),
            Mode::Slow(delay) => delay,
            _ => Duration::ZERO,
        };
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        let key = request.headers.get("apikey").and_then(|v| v.to_str().ok());
        if mode == Mode::Unauthorized
            || key != Some(API_KEY)
            || form.get("username").map(String::as_str) != Some(USERNAME)
        {
            return ResponseTemplate::new(401)
                .insert_header("content-type", "text/plain")
                .set_body_string("The supplied authentication is invalid");
        }
        let (Some(to), Some(message)) = (form.get("to"), form.get("message")) else {
            return ResponseTemplate::new(400).set_body_string("Request is missing required form field 'to'");
        };
        let mut recipients = Vec::new();
        let mut accepted = 0;
        // Billed per part (contract §1.4): KES 0.8000 a part, in ten-thousandths, never a float.
        let parts = orderdesk_domain::notification::SmsEncoding::measure(message).segments.max(1);
        let price = |parts: usize| format!("KES {}.{:04}", parts * PRICE / 10_000, parts * PRICE % 10_000);
        let cost = state.cost.clone().unwrap_or_else(|| json!(price(parts)));
        let mut total_parts = 0;
        for number in to.split(',') {
            let code: u16 = number.get(number.len().saturating_sub(3)..).and_then(|s| s.parse().ok()).unwrap_or(0);
            let failing = matches!(code, 401..=409 | 500..=502);
            if failing {
                recipients.push(json!({"statusCode": code, "number": number, "status": status_name(code), "cost": "0", "messageId": "None"}));
            } else if mode == Mode::AcceptedWithoutId {
                state.accepted.push(AcceptedSms {
                    message_id: String::new(),
                    to: number.to_owned(),
                    message: message.clone(),
                    from: form.get("from").cloned(),
                });
                recipients.push(json!({"statusCode": 101, "number": number, "status": "Success", "cost": cost, "messageId": "None", "messageParts": parts}));
            } else {
                let message_id = format!("ATXid_{}", uuid::Uuid::now_v7().simple());
                state.accepted.push(AcceptedSms {
                    message_id: message_id.clone(),
                    to: number.to_owned(),
                    message: message.clone(),
                    from: form.get("from").cloned(),
                });
                accepted += 1;
                total_parts += parts;
                recipients.push(json!({"statusCode": 101, "number": number, "status": "Success", "cost": cost, "messageId": message_id, "messageParts": parts}));
            }
        }
        let cost = if accepted > 0 { price(total_parts) } else { "0".into() };
        let body = json!({"SMSMessageData": {
            "Message": format!("Sent to {accepted}/{} Total Cost: {cost}", recipients.len()),
            "Recipients": recipients,
        }});
        if mode == Mode::Oversized {
            let padded = format!("{body}{}", " ".repeat(1 << 20));
            return ResponseTemplate::new(201)
                .insert_header("content-type", "application/json")
                .set_body_string(padded);
        }
        ResponseTemplate::new(201).set_body_json(body).set_delay(delay)
    }
}

impl FakeAfricasTalking {
    /// Starts the fake on 127.0.0.1 (a port of its own), answering normally.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(method("POST"))
            .and(path("/version1/messaging"))
            .respond_with(Responder(Arc::clone(&state)))
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The base URL to give the gateway (`sms.africastalking.base_url`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The messages of every SMS accepted so far, in order.
    pub fn messages(&self) -> Vec<String> {
        lock(&self.state).accepted.iter().map(|sms| sms.message.clone()).collect()
    }

    /// How every later request is answered.
    pub fn set_mode(&self, mode: Mode) {
        lock(&self.state).mode = Some(mode);
    }

    /// Writes this `cost` (any JSON: `"KES 0,80"`, a number) for accepted recipients from now
    /// on instead of the price of their parts (KES 0.8000 a part); `None` goes back to the price.
    pub fn set_cost(&self, cost: Option<serde_json::Value>) {
        lock(&self.state).cost = cost;
    }

    /// Every SMS accepted so far.
    pub fn accepted(&self) -> Vec<AcceptedSms> {
        lock(&self.state).accepted.clone()
    }

    /// The `traceparent` header of every request received so far (empty when absent).
    pub async fn traceparents(&self) -> Vec<String> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        let header =
            |r: &wiremock::Request| r.headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
        requests.iter().map(|r| header(r).unwrap_or_default()).collect()
    }

    /// Every request received so far, accepted or not.
    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }

    /// Waits up to `timeout` until at least `count` SMS were accepted.
    pub async fn wait_for_accepted(&self, count: usize, timeout: Duration) -> Vec<AcceptedSms> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let accepted = self.accepted();
            if accepted.len() >= count || tokio::time::Instant::now() >= deadline {
                return accepted;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send(fake: &FakeAfricasTalking, key: &str, to: &str) -> reqwest::Response {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let form = [("username", USERNAME), ("to", to), ("message", "Order ORD-1001: Tea")];
        reqwest::Client::new()
            .post(format!("{}/version1/messaging", fake.uri()))
            .header("apiKey", key)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_send_is_accepted_and_kept() {
        let fake = FakeAfricasTalking::start().await;
        let response = send(&fake, API_KEY, "+254711000001").await;
        assert_eq!(response.status().as_u16(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["SMSMessageData"]["Recipients"][0]["statusCode"], 101);
        assert_eq!(fake.messages(), ["Order ORD-1001: Tea"]);
        assert_eq!(fake.requests(), 1);
    }

    #[tokio::test]
    async fn a_wrong_key_or_a_failing_number_is_refused() {
        let fake = FakeAfricasTalking::start().await;
        assert_eq!(send(&fake, "wrong", "+254711000001").await.status().as_u16(), 401);
        let body: serde_json::Value = send(&fake, API_KEY, "+254711000403").await.json().await.unwrap();
        assert_eq!(body["SMSMessageData"]["Recipients"][0]["status"], "InvalidPhoneNumber");
        assert!(fake.messages().is_empty());
    }

    #[tokio::test]
    async fn a_slow_fake_answers_after_its_delay() {
        let fake = FakeAfricasTalking::start().await;
        fake.set_mode(Mode::Slow(Duration::from_millis(200)));
        let started = std::time::Instant::now();
        assert_eq!(send(&fake, API_KEY, "+254711000001").await.status().as_u16(), 201);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
